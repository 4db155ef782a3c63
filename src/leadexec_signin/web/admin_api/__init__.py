"""The admin REST API (``/admin/api/v1``) and SCIM 2.0 (``/scim/v2``): operators' tokens as
bearer credentials, over the same people-management use case as ``/admin``."""

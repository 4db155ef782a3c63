"""The sample partner site of ``leadexec-signin demo``: a page built from the seed's snippet and
markup, with the small backend a partner writes to trade the refresh token for API calls."""

from leadexec_signin.demo_partner.app import PartnerConfig, create_partner_app, csp_for, snippet

__all__ = ["PartnerConfig", "create_partner_app", "csp_for", "snippet"]

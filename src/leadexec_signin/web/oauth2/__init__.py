"""The standard OAuth 2.1 / OpenID Connect surface: a second protocol over the same grants,
consent, tokens and revocation as the seed's button (``core/actions``)."""

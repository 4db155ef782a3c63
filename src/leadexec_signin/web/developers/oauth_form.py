"""The OAuth 2.1 / OpenID Connect registration as a form: drawn from the application, read
back from a post (kept as typed, so a refused form comes back as it was sent)."""

from __future__ import annotations

import json

from starlette.datastructures import FormData

from leadexec_signin.core.apps import Application
from leadexec_signin.core.clients import ID_TOKEN_ALGS, MAX_JWKS, ClientRegistration
from leadexec_signin.i18n import N_
from leadexec_signin.web.developers.forms import MAX_URI_FIELD, text, uri_lines

# The OAuth choices that are English words (the client types, the "none" method, the opaque
# format); names such as client_secret_basic, jwt or EdDSA read the same in every language.
OPTION_WORDS = {
    "confidential": N_("confidential"),
    "public": N_("public"),
    "none": N_("none"),
    "opaque": N_("opaque"),
}


def client_fields(app: Application) -> dict[str, object]:
    """The OAuth form as the application is registered; the JWKS indented, to be read."""
    return {
        "redirect_uris": "\n".join(app.redirect_uris),
        "client_type": app.client_type,
        "auth_method": app.auth_method,
        "jwks_uri": app.jwks_uri,
        "jwks": json.dumps(json.loads(app.jwks), indent=2) if app.jwks else "",
        "post_logout_redirect_uris": "\n".join(app.post_logout_redirect_uris),
        "backchannel_logout_uri": app.backchannel_logout_uri,
        "access_token_format": app.access_token_format,
        "id_token_alg": app.id_token_alg,
        "rotate_refresh_tokens": app.rotate_refresh_tokens,
        "require_mfa": app.require_mfa,
        "dpop_bound_access_tokens": app.dpop_bound_access_tokens,
        "device_grant": app.device_grant,
        "pkce_optional": app.pkce_optional,
        "require_par": app.require_par,
    }


def posted_client_fields(form: FormData) -> dict[str, object]:
    """The OAuth form as posted, kept as typed so a refused form comes back as it was sent."""
    return {
        "redirect_uris": text(form, "redirect_uris", MAX_URI_FIELD),
        "client_type": text(form, "client_type", 40),
        "auth_method": text(form, "auth_method", 40),
        "jwks_uri": text(form, "jwks_uri"),
        # Twice the limit, so the core's own "larger than 16 KB" is what a partner reads.
        "jwks": text(form, "jwks", 2 * MAX_JWKS),
        "post_logout_redirect_uris": text(form, "post_logout_redirect_uris", MAX_URI_FIELD),
        "backchannel_logout_uri": text(form, "backchannel_logout_uri"),
        "access_token_format": text(form, "access_token_format", 40),
        "id_token_alg": text(form, "id_token_alg", 40),
        "rotate_refresh_tokens": form.get("rotate_refresh_tokens") == "on",
        "require_mfa": form.get("require_mfa") == "on",
        "dpop_bound_access_tokens": form.get("dpop_bound_access_tokens") == "on",
        "device_grant": form.get("device_grant") == "on",
        "pkce_optional": form.get("pkce_optional") == "on",
        "require_par": form.get("require_par") == "on",
    }


def registration(fields: dict[str, object]) -> ClientRegistration:
    return ClientRegistration(
        redirect_uris=uri_lines(str(fields["redirect_uris"])),
        client_type=str(fields["client_type"]),
        auth_method=str(fields["auth_method"]),
        jwks_uri=str(fields["jwks_uri"]),
        jwks=str(fields["jwks"]) or None,
        post_logout_redirect_uris=uri_lines(str(fields["post_logout_redirect_uris"])),
        backchannel_logout_uri=str(fields["backchannel_logout_uri"]),
        # An empty select would otherwise be refused; absent means the default.
        access_token_format=str(fields["access_token_format"]) or "opaque",
        id_token_alg=str(fields["id_token_alg"]) or ID_TOKEN_ALGS[0],
        rotate_refresh_tokens=bool(fields["rotate_refresh_tokens"]),
        require_mfa=bool(fields["require_mfa"]),
        dpop_bound_access_tokens=bool(fields["dpop_bound_access_tokens"]),
        device_grant=bool(fields["device_grant"]),
        pkce_optional=bool(fields["pkce_optional"]),
        require_par=bool(fields["require_par"]),
    )

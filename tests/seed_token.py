"""The sign-in API's token exchange called in process, as ``/api/token`` calls it: for tests
that drive the use case without HTTP (races, property tests, backups)."""

from __future__ import annotations

from leadexec_signin.compose import Services
from leadexec_signin.core.actions.client_auth import APP_SECRET, Presented
from leadexec_signin.core.actions.token_endpoint import SEED
from leadexec_signin.core.actions.token_step import Issued, TokenRequest


def seed_request(
    grant_type: str, app_id: str, credential: str, secret: str | None, ip: str
) -> TokenRequest:
    name = "refresh_token" if grant_type == "refresh_token" else "code"
    client = Presented(app_id, APP_SECRET, secret=secret or "")
    return TokenRequest(SEED, grant_type, {name: credential}, client, ip)


def exchange_refresh_token(
    services: Services, app_id: str, token: str, secret: str | None, ip: str
) -> Issued:
    return services.tokens.exchange(seed_request("refresh_token", app_id, token, secret, ip))


def exchange_code(
    services: Services, app_id: str, code: str, secret: str | None, ip: str
) -> Issued:
    return services.tokens.exchange(seed_request("code", app_id, code, secret, ip))


def supplied_refresh_token(r: object) -> str | None:
    """The ``refreshToken`` a call to ``/api/token`` sent (query, form or JSON), which its
    refusal echoes; None for other paths or when none was sent."""
    import json
    from urllib.parse import parse_qsl

    request = r.request  # type: ignore[attr-defined]
    if request.url.path != "/api/token":
        return None
    found = [v for k, v in request.url.params.multi_items() if k == "refreshToken"]
    body = request.content or b""
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        found += [v for k, v in parse_qsl(body.decode(errors="replace")) if k == "refreshToken"]
    elif kind.startswith("application/json"):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # nested past Python's limit: no token in it
            data = None
        if isinstance(data, dict) and isinstance(data.get("refreshToken"), str):
            found.append(data["refreshToken"])
    return found[0] if len(found) == 1 and found[0] else None


def echoes_refresh_token(r: object) -> bool:
    """A refusal of ``/api/token`` echoes the refresh token supplied (null when none was).
    A malformed request may be refused before its refresh token is read: null is allowed."""
    body = r.json()  # type: ignore[attr-defined]
    sent = supplied_refresh_token(r)
    got = body.get("refreshToken")
    if body.get("error") == "invalid_request":
        return got in (None, sent)
    return got == sent

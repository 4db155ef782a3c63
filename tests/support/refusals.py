"""Assertions that name the exact refusal of each surface: the HTML error page, the seed's
JSON, and the LeadExec API's bearer error."""

from __future__ import annotations

import re

from seed_token import echoes_refresh_token

_CODE = re.compile(r"Error code: <code>([a-z_]+)</code>")


def page_code(html: str) -> str:
    """The machine code an HTML error page shows (templates/error.html)."""
    found = _CODE.search(html)
    assert found, "page shows no error code"
    return found.group(1)


def refused_page(r: object, status: int, code: str) -> None:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    assert page_code(r.text) == code  # type: ignore[attr-defined]


def refused_seed(r: object, status: int, code: str) -> None:
    """The seed's JSON refusal: ``{valid: false, errorMessage, error}`` and no token."""
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["valid"] is False and body["error"] == code and body["errorMessage"]
    assert body.get("authToken") is None and echoes_refresh_token(r), body


def refused_bearer(r: object, status: int, code: str) -> None:
    """RFC 6750 refusal of the LeadExec API: JSON body and ``WWW-Authenticate``."""
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.json()["error"] == code  # type: ignore[attr-defined]
    assert f'error="{code}"' in r.headers["www-authenticate"]  # type: ignore[attr-defined]

"""The security headers every answer carries by default.

They are defaults that a response may tighten or relax for itself (the silent iframe sets its
own ``frame-ancestors``); only what is missing is filled in.
"""

from __future__ import annotations

# Pages: scripts and styles only from this origin, no inline code, nothing may frame them;
# scripts may call this origin only (the passkey ceremonies' fetches).
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# JSON and JSONP answers: nothing to render, nothing to frame.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))


def page_csp(frame_ancestors: str = "'none'") -> str:
    return PAGE_CSP.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")


def add_defaults(
    headers: list[tuple[bytes, bytes]], path: str, request_id: str, hsts: bool
) -> None:
    """Appends to an answer's raw headers each default it does not set itself."""
    # Starlette and our routes write header names in lowercase already.
    given = dict(headers)
    present = given.keys()
    csp = given.get(b"content-security-policy")
    is_html = given.get(b"content-type", b"").startswith(b"text/html")
    defaults = [*ALWAYS, (b"x-request-id", request_id.encode())]
    if csp is None:
        defaults.append((b"content-security-policy", (PAGE_CSP if is_html else API_CSP).encode()))
    # Framing is refused unless the response opened it on purpose with its own
    # frame-ancestors (only the silent iframe does).
    if csp is None or b"frame-ancestors 'none'" in csp:
        defaults.append((b"x-frame-options", b"DENY"))
    if path.startswith("/static/"):
        # Page styles and scripts: cached briefly, revalidated by ETag.
        defaults.append((b"cache-control", b"public, max-age=300"))
    elif not path.startswith(("/signin/button", "/signin/result.js")):
        defaults.append((b"cache-control", b"no-store"))
    if hsts:
        defaults.append((b"strict-transport-security", b"max-age=63072000"))
    for key, value in defaults:
        if key not in present:
            headers.append((key, value))

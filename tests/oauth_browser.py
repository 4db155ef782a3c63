"""A browser's path through ``/oauth2/authorize``: the sign-in form, then the consent dialog,
then the redirect to the client. Over any ``httpx.Client`` whose ``base_url`` is the issuer
(Starlette's TestClient, or a plain client of a live server), signed in or not."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import httpx


class _Forms(HTMLParser):
    """The hidden fields of each form of a page, with the form's action."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((found.get("action", ""), {}))
        elif tag == "input" and found.get("type") == "hidden" and self.forms:
            self.forms[-1][1][found["name"]] = html.unescape(found.get("value", ""))


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form that posts to ``action`` (a consent page has two)."""
    parser = _Forms()
    parser.feed(page)
    for form_action, fields in parser.forms:
        if form_action == action:
            return fields
    raise AssertionError(f"no form posting to {action}")


def sign_in_and_consent(
    browser: httpx.Client, url: str, email: str, password: str, *, decision: str = "allow"
) -> str:
    """Open an authorization URL, sign in if asked, answer the dialog if shown, and return
    where the provider finally sends the browser (the client's redirect URI, with its query)."""
    origin = {"Origin": str(browser.base_url).rstrip("/")}
    r = browser.get(url, follow_redirects=False)
    for _ in range(8):
        if r.status_code in (302, 303):
            location = r.headers["location"]
            if location.startswith("/account/login"):
                page = browser.get(location, follow_redirects=False)
                fields = form_fields(page.text, "/account/login")
                fields.update(email=email, password=password)
                r = browser.post(
                    "/account/login", data=fields, headers=origin, follow_redirects=False
                )
                assert r.status_code == 303, r.text
            elif location.startswith("/"):
                r = browser.get(location, follow_redirects=False)
            else:
                return location
            continue
        assert r.status_code == 200, r.text
        if r.url.path == "/account/continue":
            # The sign-in's own page that navigates on (its script): follow its link.
            link = re.search(r'id="continue"[^>]*href="([^"]+)"', r.text)
            assert link, r.text
            r = browser.get(html.unescape(link.group(1)), follow_redirects=False)
            continue
        fields = form_fields(r.text, "/oauth2/authorize")
        fields["decision"] = decision
        r = browser.post("/oauth2/authorize", data=fields, headers=origin, follow_redirects=False)
    raise AssertionError("the authorization never reached the client")

"""The development outbox, ``/dev/outbox``: the last 50 mails this process sent, links
clickable, so the demo's sign-up and password reset work without a mail server. Off (404)
unless ``LEADEXEC_DEV_OUTBOX`` is set: anyone who can reach the server could read them."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadexec_signin.core.errors import NotFound
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import services
from leadexec_signin.web.pages import page

_LINK = re.compile(r"(https?://[^\s<>\"']+)")


def segments(text: str, issuer: str) -> list[tuple[str, bool]]:
    """The text cut into (piece, is_link): only this provider's own addresses become links."""
    parts = _LINK.split(text)
    return [(p, i % 2 == 1 and p.startswith(issuer + "/")) for i, p in enumerate(parts) if p]


async def outbox_get(request: Request) -> Response:
    svc = services(request)
    if svc.outbox is None:  # off unless LEADEXEC_DEV_OUTBOX is set (the demo sets it)
        raise NotFound("There is nothing at this address.")
    messages = [
        {
            "at": sent.at,
            "to": sent.message.to,
            "subject": sent.message.subject,
            "body": segments(sent.message.text, svc.settings.issuer),
        }
        for sent in svc.outbox.messages()
    ]
    return page(request, "outbox.html", {"title": N_("Mail outbox"), "messages": messages})


routes = [Route("/dev/outbox", outbox_get, methods=["GET"])]

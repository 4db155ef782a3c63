"""The request body's size limit (``LEADEXEC_MAX_BODY_BYTES``), counted as the body is read."""

from __future__ import annotations

from starlette.types import Message, Receive

from leadexec_signin.core.errors import InvalidRequest


class BodyTooLarge(InvalidRequest):
    """Raised while a route reads its body; its surface renders it like any refusal."""

    status = 413
    description = "The request body is too large."


def limit_body(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge()
        return message

    return limited

"""Parameters of the seed's API: GET query, POST form or POST JSON, all read the same way.

Each parameter may appear once (RFC 6749 section 3.1), must be a string and is bounded in
length; names the endpoint does not use are ignored, as jQuery adds its own (``_``).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.requests import Request

from leadexec_signin.core.errors import InvalidRequest, SigninError

MAX_VALUE = 512
MAX_FIELDS = 32


def form_pairs(text: str, max_fields: int | None = None) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)``: the same pairs
    and the same ValueError. A text with nothing escaped (the usual call: ids and tokens are
    URL-safe) is split without unquoting each part, a third of the cost."""
    if "%" in text or "+" in text or (max_fields is not None and text.count("&") >= max_fields):
        return parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
    return [(name, value) for name, _, value in (f.partition("=") for f in text.split("&") if f)]


def put_param(found: dict[str, str], name: str, value: object, wanted: frozenset[str]) -> None:
    if name not in wanted:
        return
    if name in found:
        raise InvalidRequest(f"The parameter {name} was sent more than once.")
    if not isinstance(value, str):
        raise InvalidRequest(f"The parameter {name} must be a string.")
    if len(value) > MAX_VALUE:
        raise InvalidRequest(f"The parameter {name} is too long.")
    found[name] = value


async def read_params(request: Request, wanted: frozenset[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        put_param(found, name, value, wanted)
    if request.method != "POST":
        return found
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: 64 KB of "[" nests deeper than the parser's stack allows.
            raise InvalidRequest("The JSON body could not be parsed.") from None
        if not isinstance(body, dict):
            raise InvalidRequest("The JSON body must be an object.")
        for name, value in body.items():
            put_param(found, name, value, wanted)
    elif kind == "application/x-www-form-urlencoded":
        # Parsed here rather than by the multipart parser: a form of three fields is the
        # common case of every partner backend, and the general parser costs ~5x more.
        try:
            text = (await request.body()).decode("utf-8")
            pairs = form_pairs(text, MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise InvalidRequest("The form body could not be parsed.") from None
        for name, value in pairs:
            put_param(found, name, value, wanted)
    elif kind == "multipart/form-data":
        try:
            form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        except SigninError:
            raise  # the body limit (BodyTooLarge), rendered as itself
        except Exception:  # multipart's own errors: malformed or too many parts
            raise InvalidRequest("The form body could not be parsed.") from None
        for name, field in form.multi_items():
            put_param(found, name, field, wanted)
    elif kind or await request.body():
        raise InvalidRequest("Send parameters as a form, as JSON or in the query string.")
    return found


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise InvalidRequest(f"The parameter {name} is required.")
    return value

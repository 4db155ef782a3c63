"""The access log: one line a request, with no secret in it and no way to forge a line."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

from starlette.types import Scope

access_log = logging.getLogger("leadexec_signin.access")

# Query parameters whose values never reach a log line.
SECRET_PARAMS = frozenset(
    {"refreshtoken", "authtoken", "appsecret", "token", "code", "password", "csrf", "state"}
    # The OAuth spellings, which a client may send here by mistake.
    | {"access_token", "refresh_token", "client_secret", "code_verifier", "id_token"}
)
# A value shaped like one of our bearer secrets is redacted whatever it is called and wherever
# it appears (a token pasted into a path, ?access_token=...).
_TOKEN_SHAPED = re.compile(r"\b(?:ler|lea|lec|les|lesk|leo|lerat)_[A-Za-z0-9_-]{8,}")
# Escaped so a request cannot start a forged line of its own in the log (CWE-117).
_LOG_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def loggable(text: str) -> str:
    text = _TOKEN_SHAPED.sub("[redacted]", text)
    return _LOG_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def redacted_query(raw: bytes) -> str:
    if not raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    shown = [f"{k[:40]}={'[redacted]' if k.lower() in SECRET_PARAMS else v[:60]}" for k, v in pairs]
    return loggable("?" + "&".join(shown))


def log_request(scope: Scope, status: int, elapsed: float, request_id: str, route: str) -> None:
    """The caller checks ``access_log.isEnabledFor(logging.INFO)`` first: the redaction parses
    the query on every request, which is wasted when the access log is off."""
    shown = loggable(scope["path"][:200]) + redacted_query(scope.get("query_string", b""))
    duration_ms = round(elapsed * 1000, 1)
    access_log.info(
        "%s %s %s %.1fms id=%s",
        scope["method"],
        shown,
        status,
        duration_ms,
        request_id,
        # The same facts as fields, for LEADEXEC_LOG_FORMAT=json (logs.py).
        extra={
            "method": scope["method"][:16],
            "path": shown,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
        },
    )

"""Logging set-up, shared by the command line and every server worker process.

``LEADEXEC_LOG_FORMAT=json`` writes one JSON object per line, for log shippers (Loki, Elastic,
Cloud Logging): ``time``, ``level``, ``logger``, ``message``, the ``request_id`` of the request
being answered when there is one, and on access lines ``method``, ``path``, ``route``,
``status`` and ``duration_ms``. What a line says is redacted before it is logged
(``web/security/access_log.py``), so both formats hold the same words.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from leadexec_signin.settings import Settings

# The id of the request this task or thread is answering (set by the security middleware;
# ``run_in_threadpool`` copies it into the worker thread), so a use case's warning can be
# matched to its access line.
REQUEST_ID: ContextVar[str | None] = ContextVar("leadexec_request_id", default=None)

# Attributes an access line carries (``extra=``), copied into its JSON object when present.
ACCESS_FIELDS = ("method", "path", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One object per line; ``json.dumps`` escapes newlines and control characters, so a
    request cannot start a line of its own (CWE-117) in this format either."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if settings.log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
        # A library's warning would otherwise be a bare line on standard error.
        logging.captureWarnings(True)
    logging.getLogger("alembic").setLevel(logging.WARNING)

"""How one ``LEADEXEC_*`` value is read: numbers, bounds, choices, secrets and the addresses
checked at start-up. A bad value stops start-up with the variable's name, never a traceback;
``settings.py`` says which variables there are.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from leadexec_signin.core.scopes import PROTOCOL_SCOPES, SCOPES

T = TypeVar("T", int, float)


def read_number(env: dict[str, str], name: str, default: T, cast: Callable[[str], T]) -> T:
    """A bad value stops start-up with the variable's name, never a traceback."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        kind = "an integer" if cast is int else "a number"
        raise SystemExit(f"{name} must be {kind}, got {raw!r}") from exc


def read_int(env: dict[str, str], name: str, default: int) -> int:
    return read_number(env, name, default, int)


def read_float(env: dict[str, str], name: str, default: float) -> float:
    return read_number(env, name, default, float)


def read_choice(env: dict[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in allowed:
        raise SystemExit(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def read_secret(env: dict[str, str], name: str, least: int) -> str:
    """A short shared secret would be guessed: refused at start-up, never echoed."""
    raw = env.get(name, "").strip()
    if raw and len(raw) < least:
        raise SystemExit(f"{name} must be at least {least} characters")
    return raw


def bounded(value: int, name: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise SystemExit(f"{name} must be between {low} and {high}, got {value}")
    return value


def read_bounded(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer setting that must lie within ``low`` and ``high`` (refused at start)."""
    return bounded(read_int(env, name, default), name, low, high)


def default_data_dir(env: dict[str, str] | os._Environ[str]) -> Path:
    """The XDG data folder: the place per-user application data lives on Linux and macOS."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "leadexec-signin"


def audit_webhook_url(raw: str) -> str:
    """Refused at start-up rather than failing at every delivery: an event stream to a
    plain-http address on the network would show who signs in to anyone on the path."""
    if not raw:
        return ""
    parts = urlsplit(raw)
    loopback = parts.hostname in {"127.0.0.1", "::1", "localhost"}
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise SystemExit("LEADEXEC_AUDIT_WEBHOOK_URL must be an https URL (http on loopback only)")
    return raw


def audit_webhook_secret(env: dict[str, str]) -> str:
    secret = env.get("LEADEXEC_AUDIT_WEBHOOK_SECRET", "")
    if env.get("LEADEXEC_AUDIT_WEBHOOK_URL") and len(secret) < 16:
        raise SystemExit("LEADEXEC_AUDIT_WEBHOOK_SECRET must be set, at least 16 characters")
    return secret


SMTP_SCHEMES = ("smtp", "smtps", "smtp+starttls")


def smtp_url(raw: str) -> str:
    """Checked at start-up, so a typo stops the server with the variable's name instead of
    failing at the first sign-up."""
    if not raw:
        return ""
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise SystemExit("LEADEXEC_SMTP_URL has a port that is not a number") from None
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise SystemExit(
            "LEADEXEC_SMTP_URL must look like smtp+starttls://user:pass@host:587, "
            "smtps://user:pass@host:465 or smtp://host:25"
        )
    return raw


def self_registered_scopes(raw: str, default: frozenset[str]) -> frozenset[str]:
    """LEADEXEC_SELF_REGISTERED_SCOPES: known scopes only, space- or comma-separated; a typo
    stops start-up rather than silently narrowing (or widening) what agents get."""
    items = frozenset(raw.replace(",", " ").split())
    if not items:
        return default
    unknown = items - SCOPES.keys() - set(PROTOCOL_SCOPES)
    if unknown:
        raise SystemExit(
            "LEADEXEC_SELF_REGISTERED_SCOPES may name only "
            f"{', '.join([*PROTOCOL_SCOPES, *SCOPES])}; got {', '.join(sorted(unknown))}"
        )
    return items

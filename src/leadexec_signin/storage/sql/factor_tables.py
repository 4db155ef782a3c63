"""The second factors' tables (migration 0009), on the one schema of ``tables.py``: passkeys,
the authenticator app, recovery codes and the WebAuthn challenges handed out."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text, text

from leadexec_signin.storage.sql.tables import HASH, ID, UTCDateTime, metadata


def _user() -> Column[str]:
    return Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


passkeys = Table(
    "passkeys",
    metadata,
    Column("id", String(ID), primary_key=True),
    _user(),
    # base64url of the credential id (at most 1023 bytes, WebAuthn Level 3 section 5.1).
    Column("credential_id", String(1400), nullable=False, unique=True),
    Column("public_key", Text, nullable=False),  # base64url of the COSE key
    Column("name", String(64), nullable=False),
    Column("sign_count", BigInteger, nullable=False, server_default="0"),
    Column("backup_eligible", Boolean, nullable=False, server_default=text("false")),
    Column("backed_up", Boolean, nullable=False, server_default=text("false")),
    Column("transports", String(200), nullable=False, server_default=""),
    Column("aaguid", String(36), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Index("ix_passkeys_user_id", "user_id"),
)

totp_secrets = Table(
    "totp_secrets",
    metadata,
    Column(
        "user_id",
        String(ID),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("secret", String(64), nullable=False),  # base32, as the app holds it
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),  # NULL: enrolment not confirmed yet
    # The last 30-second step a code was accepted for: a code (and any older) works once.
    Column("last_step", BigInteger, nullable=False, server_default="0"),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("code_hash", String(HASH), primary_key=True),
    _user(),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index("ix_recovery_codes_user_id", "user_id"),
)

# The methods that signed a session in, under its public id (migration 0010): ID tokens issued
# from its codes and refresh tokens repeat them after the session itself is gone.
signins = Table(
    "signins",
    metadata,
    Column("sid", String(64), primary_key=True),
    Column("amr", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("challenge_hash", String(HASH), primary_key=True),
    # SHA-256 of the session (or pre-session CSRF cookie) that asked: another browser's
    # assertion over this challenge is refused.
    Column("binding", String(HASH), nullable=False),
    Column("purpose", String(16), nullable=False),  # register, signin, confirm
    Column("user_id", String(ID), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_webauthn_challenges_expires_at", "expires_at"),
)

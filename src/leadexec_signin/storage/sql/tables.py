"""The SQL schema (SQLAlchemy Core). Alembic migrations create it; nothing calls create_all
outside the tests of the migrations themselves."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the column: SQLite keeps no zone, PostgreSQL's
    ``timestamp`` then compares the same way."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


ID = 80  # length of every public id column ("app_" + 22 chars, with room to grow)
HASH = 64  # hex SHA-256

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("company", String(120), nullable=False, server_default=""),
    Column("plan", String(60), nullable=False, server_default=""),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("locale", String(35), nullable=False, server_default="en-US"),
    Column("preferences", JSON, nullable=False),
    Column("is_operator", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime, nullable=False),
    # Migration 0007: when the address was confirmed; NULL while a self-service sign-up waits
    # for its link (such an account cannot sign in).
    Column("email_verified_at", UTCDateTime, nullable=True),
    # Migration 0013: an operator disabled the account (it cannot sign in; its grants ended).
    Column("disabled_at", UTCDateTime, nullable=True),
    # Migration 0014: what a SCIM directory calls the user, and the attributes it sent that
    # LeadExec keeps only to return them (externalId, name parts, an email's type).
    Column("scim_user_name", String(320), nullable=True),
    Column("scim_attributes", JSON, nullable=True),
    Index("uq_users_scim_user_name", "scim_user_name", unique=True),
)

applications = Table(
    "applications",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(80), nullable=False),
    Column("owner_id", String(ID), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("secret_hash", String(HASH), nullable=True),
    Column("hardened", Boolean, nullable=False, server_default=text("false")),
    Column("logo_url", Text, nullable=False, server_default=""),
    Column("homepage_url", Text, nullable=False, server_default=""),
    Column("privacy_url", Text, nullable=False, server_default=""),
    Column("terms_url", Text, nullable=False, server_default=""),
    Column("notice_url", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    # The defaults fail closed (a confidential client that must authenticate) for a row
    # written without them; add_app always writes both.
    Column("client_type", String(16), nullable=False, server_default="confidential"),
    Column(
        "token_endpoint_auth_method",
        String(32),
        nullable=False,
        server_default="client_secret_basic",
    ),
    Column("jwks_uri", Text, nullable=False, server_default=""),
    Column("jwks", Text, nullable=True),
    Column("rotate_refresh_tokens", Boolean, nullable=False, server_default=text("false")),
    # OpenID Connect logout (migration 0005): newline-separated post-logout redirect URIs,
    # the back-channel logout URI, and whether access tokens are opaque or RFC 9068 JWTs.
    Column("post_logout_redirect_uris", Text, nullable=False, server_default=""),
    Column("backchannel_logout_uri", Text, nullable=False, server_default=""),
    Column("id_token_alg", String(16), nullable=False, server_default="RS256"),
    Column("access_token_format", String(16), nullable=False, server_default="opaque"),
    # Migration 0008: the secret a rotation replaced keeps working until this time.
    Column("previous_secret_hash", String(HASH), nullable=True),
    Column("previous_secret_expires_at", UTCDateTime, nullable=True),
    # Migration 0009: its users sign in with a second factor (core/factors.py).
    Column("require_mfa", Boolean, nullable=False, server_default=text("false")),
    # Migration 0011: DPoP required of every token request (RFC 9449), and the device
    # authorization grant allowed (RFC 8628).
    Column("dpop_bound_access_tokens", Boolean, nullable=False, server_default=text("false")),
    Column("device_grant", Boolean, nullable=False, server_default=text("false")),
    # Migration 0012: a confidential client may leave PKCE out; pushed authorization
    # requests (RFC 9126) required of the client.
    Column("pkce_optional", Boolean, nullable=False, server_default=text("false")),
    Column("require_par", Boolean, nullable=False, server_default=text("false")),
    # Migration 0016 (core/self_registered.py): how the client came ("operator", "dynamic",
    # "metadata_document"), the domain it is from, its last use at the authorization endpoint,
    # an RFC 7592 registration access token's SHA-256, a metadata document's URL.
    Column("kind", String(24), nullable=False, server_default="operator"),
    Column("domain", String(253), nullable=False, server_default=""),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("registration_token_hash", String(HASH), nullable=True),
    Column("client_id_url", Text, nullable=False, server_default=""),
    Index("ix_applications_kind", "kind"),
)

# Domains an operator blocked (migration 0016): no client from them (or their subdomains)
# registers itself, and those that had are suspended.
blocked_domains = Table(
    "blocked_domains",
    metadata,
    Column("domain", String(253), primary_key=True),
    Column("blocked_at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
)

app_origins = Table(
    "app_origins",
    metadata,
    Column(
        "app_id",
        String(ID),
        ForeignKey("applications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("origin", String(255), primary_key=True),
    Column("position", Integer, nullable=False, server_default="0"),
)

app_redirect_uris = Table(
    "app_redirect_uris",
    metadata,
    Column(
        "app_id",
        String(ID),
        ForeignKey("applications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("uri", String(2048), primary_key=True),
    Column("position", Integer, nullable=False, server_default="0"),
)

buttons = Table(
    "buttons",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "app_id",
        String(ID),
        ForeignKey("applications.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("scopes", String(200), nullable=False),
    Column("theme", String(16), nullable=False),
    Column("size", String(16), nullable=False),
    Column("text", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", String(ID), ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_grants_user_id_app_id", "user_id", "app_id"),
    # At most one live grant per user x application, even under concurrent consents.
    Index(
        "uq_grants_active",
        "user_id",
        "app_id",
        unique=True,
        sqlite_where=text("revoked_at IS NULL"),
        postgresql_where=text("revoked_at IS NULL"),
    ),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(HASH), primary_key=True),
    Column(
        "grant_id",
        String(ID),
        ForeignKey("grants.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("app_id", String(ID), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("scopes", String(200), nullable=True),  # NULL: all of the grant's scopes
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("replaced_by", String(HASH), nullable=True),
    Column("rotated_at", UTCDateTime, nullable=True),
    # The surface that issued it ("seed" or "oauth"): each accepts only its own.
    Column("kind", String(8), nullable=False, server_default="seed"),
    # The sign-in an OpenID Connect refresh goes back to: its ID tokens repeat auth_time/sid.
    Column("auth_time", UTCDateTime, nullable=True),
    Column("sid", String(64), nullable=False, server_default=""),
    # Migration 0011: the RFC 7638 thumbprint of the DPoP key a public client's refresh
    # token is bound to (RFC 9449 section 5); NULL: not bound.
    Column("dpop_jkt", String(64), nullable=True),
    # Migration 0015: the RFC 8707 resource its access tokens are for; NULL: none named.
    Column("resource", String(32), nullable=True),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(HASH), primary_key=True),
    Column(
        "grant_id",
        String(ID),
        ForeignKey("grants.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("app_id", String(ID), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
)

auth_codes = Table(
    "auth_codes",
    metadata,
    Column("code_hash", String(HASH), primary_key=True),
    Column("grant_id", String(ID), ForeignKey("grants.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", String(ID), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("redirect_uri", Text, nullable=False, server_default=""),
    Column("code_challenge", String(128), nullable=False, server_default=""),
    Column("code_challenge_method", String(16), nullable=False, server_default=""),
    Column("nonce", Text, nullable=False, server_default=""),
    Column("scopes", String(200), nullable=True),  # NULL: all of the grant's scopes
    Column("created_at", UTCDateTime, nullable=True),
    Column("consumed_at", UTCDateTime, nullable=True),
    Column("auth_time", UTCDateTime, nullable=True),  # when the user signed in (ID token)
    Column("sid", String(64), nullable=False, server_default=""),  # the session, public form
    # Migration 0015: the RFC 8707 resource the request named (its path); NULL: none.
    Column("resource", String(32), nullable=True),
    # Migration 0017: RFC 9449 section 10, the DPoP key the request bound the code to (its
    # thumbprint); NULL: none.
    Column("dpop_jkt", String(64), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(HASH), primary_key=True),
    Column(
        "user_id",
        String(ID),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # Migration 0009: how it was signed in (RFC 8176 amr, space-separated), when the user last
    # proved it (re-authentication), and where from (the signed-in browsers list).
    Column("amr", String(40), nullable=False, server_default="pwd"),
    Column("authenticated_at", UTCDateTime, nullable=True),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(256), nullable=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("event", String(40), nullable=False),
    Column("user_id", String(ID), nullable=True, index=True),
    Column("app_id", String(ID), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("detail", JSON, nullable=False),
    # Migration 0006: who did it, what to, and the request it came from (core/audit.py).
    Column("actor", String(80), nullable=True),
    Column("subject", String(120), nullable=True),
    Column("user_agent", String(256), nullable=True),
    Column("request_id", String(40), nullable=True),
    Index("ix_audit_events_app_id", "app_id"),
    Index("ix_audit_events_event", "event"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_pem", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("alg", String(16), nullable=False),
    Column("activates_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
)

# Transactional outbox of disconnect notices (core/notices.py).
notices = Table(
    "notices",
    metadata,
    Column("id", String(ID), primary_key=True),
    # NULL for an audit event forwarded to the operators' webhook (migration 0006).
    Column("app_id", String(ID), ForeignKey("applications.id", ondelete="CASCADE"), nullable=True),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("last_error", String(200), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    # "disconnect" (the signed JSON notice), "backchannel_logout" (OpenID Connect: the body
    # holds the logout token's claims, signed as a JWT at each delivery attempt) or "audit"
    # (an audit event for the operators' webhook, signed with its secret at each attempt).
    Column("kind", String(24), nullable=False, server_default="disconnect"),
    Index("ix_notices_next_attempt_at", "next_attempt_at"),
)

# Keys of the access tokens' MAC (core/access_tokens.py): a token names its key by ``kid``.
token_keys = Table(
    "token_keys",
    metadata,
    Column("kid", String(16), primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# The jti of every private_key_jwt client assertion until it expires: each is usable once.
client_assertions = Table(
    "client_assertions",
    metadata,
    Column("jti_hash", String(HASH), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# The used DPoP proofs (RFC 9449 section 11.1), one row per proof until it is too old to be
# accepted anyway (``core/actions/dpop.py``): written on every DPoP request, so as cheap as a
# row can be: a key of our own (the SHA-256 of the key's thumbprint and the proof's jti, hex),
# the expiry in seconds since the epoch, no other index, and on SQLite WITHOUT ROWID (one
# b-tree written instead of three: client_assertions' rowid table, key and expiry indexes).
# The housekeeping sweep scans it (a minute's proofs).
dpop_proofs = Table(
    "dpop_proofs",
    metadata,
    Column("proof_key", String(HASH), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Device authorizations (RFC 8628, migration 0011): found by the SHA-256 of the device code
# (the device's polling) or of the normalized user code (the person at /device); ``status``
# is pending, approved, denied or done (its tokens issued: single use).
device_codes = Table(
    "device_codes",
    metadata,
    Column("device_code_hash", String(HASH), primary_key=True),
    Column("user_code_hash", String(HASH), nullable=False, unique=True),
    Column("app_id", String(ID), ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("interval", Integer, nullable=False),
    Column("polled_at", UTCDateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("auth_time", UTCDateTime, nullable=True),
    Column("sid", String(64), nullable=False, server_default=""),
    # RFC 8707 with RFC 8628 (migration 0017): the resource the device asked tokens for, by
    # its path (core/resources.py); NULL: none named.
    Column("resource", String(32), nullable=True),
)

# Pushed authorization requests (RFC 9126, migration 0012): found by the SHA-256 of the
# request_uri's random part, bound to the client that pushed them; ``params`` is the checked
# request as JSON; ``used_at`` is set when the request was answered (single use).
pushed_requests = Table(
    "pushed_requests",
    metadata,
    Column("request_uri_hash", String(HASH), primary_key=True),
    Column("app_id", String(ID), ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("params", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("used_at", UTCDateTime, nullable=True),
)

# One-time links of the account pages (core/account_tokens.py, migration 0007): found by the
# SHA-256 of the link's token; ``data`` holds what the link confirms (a sign-up's password
# hash and name, an email change's new address).
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("token_hash", String(HASH), primary_key=True),
    Column(
        "user_id",
        String(ID),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("purpose", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("used_at", UTCDateTime, nullable=True),
    Column("data", JSON, nullable=False),
)

# Token exchanges per application and UTC day (migration 0008), for the console's usage chart:
# a refresh is not an audit event, so it is counted here, in batches (core/actions/usage.py).
app_usage_days = Table(
    "app_usage_days",
    metadata,
    Column(
        "app_id",
        String(ID),
        ForeignKey("applications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD, the same text on every backend
    Column("exchanges", Integer, nullable=False, server_default="0"),
)

# The operators' API tokens (migration 0013, core/admin_tokens.py): found by the SHA-256 of the
# token, shown once at creation; scopes space-separated.
admin_tokens = Table(
    "admin_tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("token_hash", String(HASH), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_by", String(ID), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

"""Every option of the service, read once from ``LEADEXEC_*`` environment variables.

Nothing else in the package reads the environment: the app factory, the command line and the
tests build a :class:`Settings` and pass it down, so a test can run two differently configured
servers in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from leadexec_signin.env_values import (
    audit_webhook_secret,
    audit_webhook_url,
    default_data_dir,
    read_bounded,
    read_choice,
    read_float,
    read_int,
    read_secret,
    self_registered_scopes,
    smtp_url,
)


@dataclass(frozen=True)
class Settings:
    # Where the embedded SQLite database and other local state live. One per-user folder by
    # default (``$XDG_DATA_HOME/leadexec-signin``, else ``~/.local/share/leadexec-signin``), so
    # a command run from another folder finds the same database instead of making a new one.
    data_dir: Path = field(default_factory=lambda: default_data_dir(os.environ))
    # SQLAlchemy URL. Empty means an SQLite file in ``data_dir`` (the embedded default).
    database_url: str = ""
    # Optional Redis URL: shares rate-limit counters and revocation events between processes.
    redis_url: str = ""
    # Connections each server process keeps to PostgreSQL for its threads, how many more they
    # may open under load, and the event loop's own (hot reads, rotations: about 85 us of CPU
    # a rotation less at 16 than at 4); keep workers x (all three) under max_connections.
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_async_pool: int = 16
    # Seconds a request waits for a free pooled connection, or for the database to accept a
    # new one, before it gets 503 temporarily_unavailable.
    db_pool_timeout: int = 5
    db_connect_timeout: int = 5
    # Longest a statement or a lock wait may take (milliseconds) before it is cancelled (503).
    db_statement_timeout_ms: int = 15000
    # How long (milliseconds, 0-1000, 0 = off) a process may reuse an access-token check for
    # the LeadExec API before asking the database again. Revocations and suspensions clear it
    # at once in this process and, over Redis, in every other; without Redis this is the
    # bound on how late another process sees them (the promise: within 1 second).
    token_cache_ms: int = 500
    # Public base URL of this provider (scheme://host[:port]); used in snippets, cookies'
    # Secure flag and the Origin check of forms.
    issuer: str = "http://127.0.0.1:8000"
    # Lifetime of an access token (authToken); the seed fixes it at one hour.
    access_token_ttl_seconds: int = 3600
    # Lifetime of a single-use code: hardened delivery's and the authorization code grant's.
    code_ttl_seconds: int = 60
    # Seconds after a rotating refresh token was used during which presenting it again gets
    # the same successor (a lost response, two tabs) instead of revoking the grant as reuse.
    refresh_grace_seconds: int = 10
    # Idle and absolute lifetime of a signed-in browser session.
    session_idle_seconds: int = 14 * 24 * 3600
    session_absolute_seconds: int = 30 * 24 * 3600
    # argon2id cost. The defaults follow RFC 9106's second recommended option scaled to this
    # machine (~180 ms); tests lower them through the same variables.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Brute-force limits for the sign-in form (moving windows, see core/accounts.py).
    login_limit_per_account: str = "10/15 minutes"
    login_limit_per_ip: str = "100/15 minutes"
    # Rate limits of the token endpoint, per application and per client IP.
    token_limit_per_app: str = "600/minute"
    # Per IP it is higher than per application: one partner backend refreshes for all of its
    # users from one address.
    token_limit_per_ip: str = "6000/minute"
    # Rate limit of /api/revoke per client IP (a revocation is a write, and each one may queue
    # a signed notice to the partner).
    revoke_limit_per_ip: str = "300/minute"
    # The device authorization grant (RFC 8628): device authorizations started per client
    # and per address, and user codes a person or an address may enter at /device (every
    # entry counts, right or wrong: it is what makes guessing a live code hopeless).
    device_limit_per_app: str = "60/minute"
    device_limit_per_ip: str = "30/minute"
    user_code_limit: str = "10/10 minutes"
    # Calls of the admin REST API and SCIM per operator API token.
    admin_api_limit_per_token: str = "600/minute"
    # Refresh tokens neither created nor used for this many days are retired by the sweep.
    refresh_token_idle_days: int = 180
    # Live refresh tokens kept per grant (every sign-in adds one); beyond it the least
    # recently used is deleted. Partners keep the newest token they receive.
    refresh_tokens_per_grant: int = 20
    # Seconds between writes of batched "last used" times (grants, refresh tokens); 0 writes
    # them only at shutdown and before each sweep.
    usage_flush_seconds: float = 30.0
    # Largest request body accepted anywhere (bytes); larger ones get 413.
    max_body_bytes: int = 64 * 1024
    # Trust X-Forwarded-For from a reverse proxy when computing the client IP.
    trust_proxy: bool = False
    # Seconds between two passes of the disconnect-notice sender; 0 turns it off in this process.
    notice_interval_seconds: float = 2.0
    # Log level of the ``leadexec_signin`` loggers.
    log_level: str = "INFO"
    # Outgoing mail of the account pages (sign-up links, password resets, changes of email),
    # as an SMTP server URL: ``smtp+starttls://user:pass@host:587`` (upgraded with STARTTLS,
    # port 587 by default), ``smtps://user:pass@host:465`` (TLS from the first byte, port 465
    # by default) or ``smtp://host:25`` (no encryption: only for a relay on the same machine or
    # network). User and password are percent-encoded. Empty: each message is written to the
    # log instead, links included, for development.
    smtp_url: str = ""
    # The From address of that mail; empty means ``LeadExec <no-reply@HOST>`` with the
    # issuer's host.
    mail_from: str = ""
    # Seconds one SMTP conversation may take; a message that fails is logged and dropped (the
    # person asks again), never retried into a duplicate.
    smtp_timeout_seconds: float = 10.0
    # Development only: keep the last 50 messages in data_dir/dev-outbox.jsonl (shared by every
    # process of that folder) and show them, links clickable, at /dev/outbox. Anyone who can
    # reach the server could read them there, so it is off unless turned on; the demo turns it
    # on.
    dev_outbox: bool = False
    # Lifetime of an email-verification or email-change link, and of a password-reset link.
    verify_link_ttl_seconds: int = 24 * 3600
    reset_link_ttl_seconds: int = 3600
    # Requests of the account pages that send mail (sign-up, "forgot password", change of
    # email): per recipient address, so nobody can flood an inbox, and per client IP.
    mail_limit_per_address: str = "5/hour"
    mail_limit_per_ip: str = "50/hour"
    # Days the audit trail keeps an event; the sweep (every 10 minutes) deletes older ones and
    # records how many went. 0 keeps every event forever.
    audit_retention_days: int = 365
    # Optional webhook that receives every audit event as a signed JSON POST, through the
    # disconnect notices' outbox (queued in the event's transaction, retried with backoff).
    # https, or http on a loopback address; needs the secret below.
    audit_webhook_url: str = ""
    # The shared secret of the webhook's HMAC-SHA256 signature (LeadExec-Audit-Signature);
    # at least 16 characters. Never logged, never stored in the database.
    audit_webhook_secret: str = field(default="", repr=False)
    # Seconds between a key rotation and the new key signing (``keys rotate``): the new key is
    # published at once, so relying parties that cache the JWKS (ours: 5 minutes) have it
    # before anything is signed with it.
    key_rotation_delay_seconds: int = 3600
    # ``text`` (a line for people) or ``json`` (one JSON object per line: time, level, logger,
    # message, request id, and on access lines route, status and duration_ms), for a log
    # shipper. Secrets are redacted the same way in both.
    log_format: str = "text"
    # The bearer token Prometheus sends to read ``/metrics`` (``Authorization: Bearer ...``,
    # at least 16 characters). Empty, the default: ``/metrics`` answers 404 and nothing is
    # exposed, as Keycloak and authentik keep metrics off the public listener by default.
    metrics_token: str = field(default="", repr=False)
    # Seconds a SIGTERM waits for requests in flight and the notice being delivered before the
    # process stops anyway (under Kubernetes' default 30 s grace period).
    shutdown_grace_seconds: int = 20
    # The WebAuthn relying party id passkeys are made for: the issuer's host by default. A
    # provider on id.example.com may use example.com (passkeys then also work on its other
    # subdomains); start-up refuses one that is not the host or a parent domain of it.
    webauthn_rp_id: str = ""
    # ``required`` (the default): operators need a second factor to use /admin (the command
    # line is not affected). ``off``: for the demo only.
    operator_mfa: str = "required"
    # Clients that register themselves (AI agents, MCP clients): ``off`` (the default: only
    # clients an operator or partner registered), ``metadata-documents`` (a client may name
    # itself by an HTTPS URL whose JSON describes it, a Client ID Metadata Document) or
    # ``open`` (that, and RFC 7591 dynamic registration at /oauth2/register). Such clients
    # are marked unreviewed wherever a person meets them.
    client_registration: str = "off"
    # The scopes a self-registered client may register and ask for (space-separated, from
    # openid, offline_access and the data scopes). The default lets an agent know who the
    # person is and keep working (a refresh token), and leaves the company, plan and settings
    # to applications an operator reviewed.
    self_registered_scopes: frozenset[str] = frozenset(
        {"openid", "offline_access", "profile", "email"}
    )
    # Days without use after which a self-registered client is deleted by the sweep, with its
    # grants (the client registers again when it comes back).
    self_registered_idle_days: int = 30
    # RFC 7591 registrations accepted per client IP (every request counts, refused or not);
    # the same number, counted apart, of Client ID Metadata Documents fetched for one IP (a
    # document kept from an earlier fetch costs nothing).
    registration_limit_per_ip: str = "20/hour"

    @property
    def dynamic_registration(self) -> bool:
        """RFC 7591 registration at /oauth2/register (``open`` only)."""
        return self.client_registration == "open"

    @property
    def metadata_documents(self) -> bool:
        """Client ID Metadata Documents accepted (``metadata-documents`` and ``open``)."""
        return self.client_registration in ("open", "metadata-documents")

    @property
    def rp_id(self) -> str:
        host = (urlsplit(self.issuer).hostname or "localhost").lower()
        rp_id = (self.webauthn_rp_id or host).lower().rstrip(".")
        if rp_id != host and not host.endswith("." + rp_id):
            raise SystemExit(
                f"LEADEXEC_WEBAUTHN_RP_ID must be the issuer's host ({host}) or a parent "
                f"domain of it, got {rp_id!r}"
            )
        return rp_id

    @property
    def embedded_database(self) -> Path:
        """The SQLite file used when no ``database_url`` is set."""
        return (self.data_dir / "leadexec-signin.sqlite3").resolve()

    @property
    def database_label(self) -> str:
        """The database a command works on, for people: never the password."""
        if not self.database_url:
            return str(self.embedded_database)
        parts = urlsplit(self.database_url)
        if parts.password is None:
            return self.database_url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.embedded_database}"

    @property
    def mail_sender(self) -> str:
        host = urlsplit(self.issuer).hostname or "localhost"
        return self.mail_from or f"LeadExec <no-reply@{host}>"

    @property
    def issuer_origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        d = cls()
        return cls(
            data_dir=Path(env.get("LEADEXEC_DATA_DIR") or default_data_dir(env)),
            database_url=env.get("LEADEXEC_DATABASE_URL", ""),
            redis_url=env.get("LEADEXEC_REDIS_URL", ""),
            db_pool_size=read_int(env, "LEADEXEC_DB_POOL_SIZE", d.db_pool_size),
            db_max_overflow=read_int(env, "LEADEXEC_DB_MAX_OVERFLOW", d.db_max_overflow),
            db_pool_timeout=read_int(env, "LEADEXEC_DB_POOL_TIMEOUT", d.db_pool_timeout),
            db_connect_timeout=read_int(env, "LEADEXEC_DB_CONNECT_TIMEOUT", d.db_connect_timeout),
            db_async_pool=read_bounded(env, "LEADEXEC_DB_ASYNC_POOL_SIZE", d.db_async_pool, 1, 64),
            db_statement_timeout_ms=read_int(
                env, "LEADEXEC_DB_STATEMENT_TIMEOUT_MS", d.db_statement_timeout_ms
            ),
            token_cache_ms=read_bounded(env, "LEADEXEC_TOKEN_CACHE_MS", d.token_cache_ms, 0, 1000),
            issuer=(env.get("LEADEXEC_ISSUER") or d.issuer).rstrip("/"),
            access_token_ttl_seconds=read_int(
                env, "LEADEXEC_ACCESS_TOKEN_TTL", d.access_token_ttl_seconds
            ),
            code_ttl_seconds=read_int(env, "LEADEXEC_CODE_TTL", d.code_ttl_seconds),
            refresh_grace_seconds=read_bounded(
                env, "LEADEXEC_REFRESH_GRACE", d.refresh_grace_seconds, 0, 300
            ),
            session_idle_seconds=read_int(env, "LEADEXEC_SESSION_IDLE", d.session_idle_seconds),
            session_absolute_seconds=read_int(
                env, "LEADEXEC_SESSION_ABSOLUTE", d.session_absolute_seconds
            ),
            argon2_time_cost=read_int(env, "LEADEXEC_ARGON2_TIME_COST", d.argon2_time_cost),
            argon2_memory_kib=read_int(env, "LEADEXEC_ARGON2_MEMORY_KIB", d.argon2_memory_kib),
            argon2_parallelism=read_int(env, "LEADEXEC_ARGON2_PARALLELISM", d.argon2_parallelism),
            login_limit_per_account=env.get(
                "LEADEXEC_LOGIN_LIMIT_PER_ACCOUNT", d.login_limit_per_account
            ),
            login_limit_per_ip=env.get("LEADEXEC_LOGIN_LIMIT_PER_IP", d.login_limit_per_ip),
            token_limit_per_app=env.get("LEADEXEC_TOKEN_LIMIT_PER_APP", d.token_limit_per_app),
            token_limit_per_ip=env.get("LEADEXEC_TOKEN_LIMIT_PER_IP", d.token_limit_per_ip),
            revoke_limit_per_ip=env.get("LEADEXEC_REVOKE_LIMIT_PER_IP", d.revoke_limit_per_ip),
            device_limit_per_app=env.get("LEADEXEC_DEVICE_LIMIT_PER_APP", d.device_limit_per_app),
            device_limit_per_ip=env.get("LEADEXEC_DEVICE_LIMIT_PER_IP", d.device_limit_per_ip),
            user_code_limit=env.get("LEADEXEC_USER_CODE_LIMIT", d.user_code_limit),
            admin_api_limit_per_token=env.get(
                "LEADEXEC_ADMIN_API_LIMIT_PER_TOKEN", d.admin_api_limit_per_token
            ),
            refresh_token_idle_days=read_bounded(
                env, "LEADEXEC_REFRESH_TOKEN_IDLE_DAYS", d.refresh_token_idle_days, 1, 3650
            ),
            usage_flush_seconds=read_float(env, "LEADEXEC_USAGE_FLUSH", d.usage_flush_seconds),
            refresh_tokens_per_grant=read_bounded(
                env, "LEADEXEC_REFRESH_TOKENS_PER_GRANT", d.refresh_tokens_per_grant, 1, 1000
            ),
            max_body_bytes=read_int(env, "LEADEXEC_MAX_BODY_BYTES", d.max_body_bytes),
            trust_proxy=env.get("LEADEXEC_TRUST_PROXY", "") in {"1", "true", "yes"},
            notice_interval_seconds=read_float(
                env, "LEADEXEC_NOTICE_INTERVAL", d.notice_interval_seconds
            ),
            log_level=env.get("LEADEXEC_LOG_LEVEL", d.log_level),
            smtp_url=smtp_url(env.get("LEADEXEC_SMTP_URL", "")),
            mail_from=env.get("LEADEXEC_MAIL_FROM", d.mail_from),
            smtp_timeout_seconds=read_float(env, "LEADEXEC_SMTP_TIMEOUT", d.smtp_timeout_seconds),
            dev_outbox=env.get("LEADEXEC_DEV_OUTBOX", "") in {"1", "true", "yes"},
            verify_link_ttl_seconds=read_bounded(
                env, "LEADEXEC_VERIFY_LINK_TTL", d.verify_link_ttl_seconds, 300, 30 * 24 * 3600
            ),
            reset_link_ttl_seconds=read_bounded(
                env, "LEADEXEC_RESET_LINK_TTL", d.reset_link_ttl_seconds, 300, 7 * 24 * 3600
            ),
            mail_limit_per_address=env.get(
                "LEADEXEC_MAIL_LIMIT_PER_ADDRESS", d.mail_limit_per_address
            ),
            mail_limit_per_ip=env.get("LEADEXEC_MAIL_LIMIT_PER_IP", d.mail_limit_per_ip),
            audit_retention_days=read_bounded(
                env, "LEADEXEC_AUDIT_RETENTION_DAYS", d.audit_retention_days, 0, 36500
            ),
            audit_webhook_url=audit_webhook_url(env.get("LEADEXEC_AUDIT_WEBHOOK_URL", "")),
            audit_webhook_secret=audit_webhook_secret(env),
            key_rotation_delay_seconds=read_bounded(
                env, "LEADEXEC_KEY_ROTATION_DELAY", d.key_rotation_delay_seconds, 0, 30 * 24 * 3600
            ),
            log_format=read_choice(env, "LEADEXEC_LOG_FORMAT", d.log_format, ("text", "json")),
            metrics_token=read_secret(env, "LEADEXEC_METRICS_TOKEN", 16),
            shutdown_grace_seconds=read_bounded(
                env, "LEADEXEC_SHUTDOWN_GRACE", d.shutdown_grace_seconds, 1, 3600
            ),
            webauthn_rp_id=env.get("LEADEXEC_WEBAUTHN_RP_ID", "").strip(),
            operator_mfa=read_choice(
                env, "LEADEXEC_OPERATOR_MFA", d.operator_mfa, ("required", "off")
            ),
            client_registration=read_choice(
                env,
                "LEADEXEC_CLIENT_REGISTRATION",
                d.client_registration,
                ("off", "metadata-documents", "open"),
            ),
            self_registered_scopes=self_registered_scopes(
                env.get("LEADEXEC_SELF_REGISTERED_SCOPES", ""), d.self_registered_scopes
            ),
            self_registered_idle_days=read_bounded(
                env, "LEADEXEC_SELF_REGISTERED_IDLE_DAYS", d.self_registered_idle_days, 1, 3650
            ),
            registration_limit_per_ip=env.get(
                "LEADEXEC_REGISTRATION_LIMIT_PER_IP", d.registration_limit_per_ip
            ),
        )

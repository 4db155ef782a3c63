"""SQL on the paths every partner call takes: the refresh exchange's one read, the LeadExec
API's grant read, the access tokens' MAC keys and batched "last used" times (mixed into
``SqlTransaction``).

The statements are built once, at import: SQLAlchemy then only looks up their compiled form
instead of building an expression tree (about a hundred calls) per request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection, Row

from leadexec_signin.core.access_tokens import MacKey
from leadexec_signin.core.apps import AppCredentials
from leadexec_signin.core.tokens import GrantContext, RefreshGrant, RefreshToken
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.factor_tables import signins
from leadexec_signin.storage.sql.rows import grant_from_row, scopes_or_none, user_from_row

_r, _g, _a, _u = t.refresh_tokens, t.grants, t.applications, t.users
_GRANT = [c.label("g_" + c.name) for c in _g.c]
_CREDENTIALS = [
    _a.c.status.label("a_status"),
    _a.c.secret_hash.label("a_secret_hash"),
    # Development mode (the owner) and a rotated secret's grace period.
    _a.c.owner_id.label("a_owner_id"),
    _a.c.previous_secret_hash.label("a_previous_secret_hash"),
    _a.c.previous_secret_expires_at.label("a_previous_secret_expires_at"),
]

# Every column of the token: both token endpoints read this one shape (each accepts only
# its own ``kind``); the seed's through the token cache, the standard one inside its write.
_TOKEN = [c.label("r_" + c.name) for c in _r.c]

REFRESH_GRANT = (
    select(*_TOKEN, *_GRANT, *_CREDENTIALS)
    .join(_g, _g.c.id == _r.c.grant_id)
    .join(_a, _a.c.id == _g.c.app_id)
    .where(_r.c.token_hash == bindparam("token_hash"))
)

# An exchange that issues under the grant locks it against a concurrent revocation.
REFRESH_GRANT_LOCKED = REFRESH_GRANT.with_for_update(of=_g)

# A rotation's whole read, for the one that runs on the event loop (``hot_async.py``): the
# token, its grant and application as above, the grant's user and the sign-in's methods
# (what the answer carries), in one statement and without a lock: its write is conditional.
_AMR = select(signins.c.amr).where(signins.c.sid == _r.c.sid).scalar_subquery().label("s_amr")
ROTATION_READ = (
    select(*_TOKEN, *_GRANT, *_CREDENTIALS, *_u.c, _AMR)
    .join(_g, _g.c.id == _r.c.grant_id)
    .join(_a, _a.c.id == _g.c.app_id)
    .join(_u, _u.c.id == _g.c.user_id)
    .where(_r.c.token_hash == bindparam("token_hash"))
)

GRANT_CONTEXT = (
    select(*_GRANT, *_CREDENTIALS, *_u.c)
    .join(_a, _a.c.id == _g.c.app_id)
    .join(_u, _u.c.id == _g.c.user_id)
    .where(_g.c.id == bindparam("grant_id"))
)

TOUCH_GRANT = update(_g).where(_g.c.id == bindparam("b_id")).values(last_used_at=bindparam("b_at"))
TOUCH_REFRESH = (
    update(_r).where(_r.c.token_hash == bindparam("b_hash")).values(last_used_at=bindparam("b_at"))
)
# The same for a whole batch in one statement (PostgreSQL; the columns hold naive UTC).
TOUCH_GRANTS_PG = text(
    "UPDATE grants AS t SET last_used_at = u.at"
    " FROM unnest(CAST(:keys AS varchar[]), CAST(:ats AS timestamp[])) AS u(k, at)"
    " WHERE t.id = u.k"
)
TOUCH_REFRESH_PG = text(
    "UPDATE refresh_tokens AS t SET last_used_at = u.at"
    " FROM unnest(CAST(:keys AS varchar[]), CAST(:ats AS timestamp[])) AS u(k, at)"
    " WHERE t.token_hash = u.k"
)


def credentials_of(m: Any) -> AppCredentials:
    """The application columns of a joined row (a SQLAlchemy or a driver row's mapping)."""
    return AppCredentials(
        m["g_app_id"],
        m["a_status"],
        m["a_secret_hash"],
        m["a_owner_id"],
        m["a_previous_secret_hash"],
        m["a_previous_secret_expires_at"],
    )


def refresh_token_of(m: Any) -> RefreshToken:
    """The ``r_`` columns of a joined row."""
    return RefreshToken(
        token_hash=m["r_token_hash"],
        grant_id=m["r_grant_id"],
        app_id=m["r_app_id"],
        created_at=m["r_created_at"],
        scopes=scopes_or_none(m["r_scopes"]),
        last_used_at=m["r_last_used_at"],
        replaced_by=m["r_replaced_by"],
        rotated_at=m["r_rotated_at"],
        kind=m["r_kind"],
        auth_time=m["r_auth_time"],
        sid=m["r_sid"],
        dpop_jkt=m["r_dpop_jkt"],
        resource=m["r_resource"],
    )


def refresh_grant_of(row: Any) -> RefreshGrant:
    """A row of ``REFRESH_GRANT`` (SQLAlchemy's, or ``hot.py``'s driver row)."""
    m = row._mapping
    return RefreshGrant(refresh_token_of(m), grant_from_row(row, "g_"), credentials_of(m))


def _credentials(row: Row[Any]) -> AppCredentials:
    return credentials_of(row._mapping)


class CheckRepository:
    c: Connection

    def refresh_grant(self, token_hash: str, *, lock: bool = False) -> RefreshGrant | None:
        """The same read as ``HotReads.refresh_grant``, inside this transaction."""
        statement = REFRESH_GRANT_LOCKED if lock else REFRESH_GRANT
        row = self.c.execute(statement, {"token_hash": token_hash}).first()
        return refresh_grant_of(row) if row is not None else None

    def grant_context(self, grant_id: str) -> GrantContext | None:
        row = self.c.execute(GRANT_CONTEXT, {"grant_id": grant_id}).first()
        if row is None:
            return None
        return GrantContext(grant_from_row(row, "g_"), _credentials(row), user_from_row(row))

    def token_keys(self) -> list[MacKey]:
        k = t.token_keys
        rows = self.c.execute(select(k).order_by(k.c.created_at, k.c.kid))
        return [MacKey(r.kid, bytes.fromhex(r.secret), r.created_at) for r in rows]

    def add_token_key(self, key: MacKey) -> None:
        self.c.execute(
            insert(t.token_keys).values(
                kid=key.kid, secret=key.secret.hex(), created_at=key.created_at
            )
        )

    def touch_grants(self, last_used: dict[str, datetime]) -> None:
        self._touch(TOUCH_GRANT, "b_id", TOUCH_GRANTS_PG, last_used)

    def touch_refresh_tokens(self, last_used: dict[str, datetime]) -> None:
        self._touch(TOUCH_REFRESH, "b_hash", TOUCH_REFRESH_PG, last_used)

    def _touch(
        self, each: Any, key: str, batch: TextClause, last_used: dict[str, datetime]
    ) -> None:
        """A batch of "last used" times, in key order (two processes' batches then lock
        shared rows in the same order). On PostgreSQL one statement for the batch: psycopg's
        executemany sends an UPDATE a row, which cost the server a tenth of its CPU under a
        stream of exchanges; SQLite's executemany is in process and cheap."""
        if not last_used:
            return
        keys = sorted(last_used)
        if self.c.dialect.name == "postgresql":
            ats = [last_used[k].astimezone(UTC).replace(tzinfo=None) for k in keys]
            self.c.execute(batch, {"keys": keys, "ats": ats})
        else:
            self.c.execute(each, [{key: k, "b_at": last_used[k]} for k in keys])

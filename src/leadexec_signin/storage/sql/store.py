"""SQL repositories implementing ``core/ports.py`` over SQLAlchemy Core, on SQLite or PostgreSQL.

One class for every port: each method is one or two statements, and the joined lookups that
sit on hot paths (token checks) are a single query.

Concurrency: SQLite serialises writers (``BEGIN IMMEDIATE``). PostgreSQL runs READ COMMITTED,
so the grant row is the lock that keeps tokens and their grant consistent: whatever is about to
issue under a grant reads it ``FOR UPDATE`` (``refresh_token_context``, ``active_grant``) or
holds the code row it deleted (``take_code``), and ``revoke_grant`` marks the grant first and
then deletes codes, refresh tokens and access tokens in that order, each statement seeing what
a concurrent issuer committed meanwhile. Either the issuer wins and its tokens are deleted, or
the revocation wins and the issuer sees a revoked grant; never a live token under a revoked one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import Application, Button
from leadexec_signin.core.audit import AuditEvent
from leadexec_signin.core.errors import Conflict, InvalidRequest, TemporarilyUnavailable
from leadexec_signin.core.grants import Grant, GrantListing
from leadexec_signin.core.sessions import Session
from leadexec_signin.core.tokens import AccessToken, AuthorizationCode, RefreshToken, TokenContext
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.outbox import OutboxRepository
from leadexec_signin.storage.sql.partner import PartnerRepository


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5,
    connect_timeout: int = 5,
    statement_timeout_ms: int = 15000,
) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        # SQLite's only wait is for the write lock: it gets the same bound as a statement.
        busy_ms = statement_timeout_ms or 60000
        pooling: dict[str, Any] = (
            {"poolclass": StaticPool}
            if memory
            else {
                "pool_size": pool_size,
                "max_overflow": max_overflow,
                "pool_timeout": pool_timeout,
            }
        )
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
            **pooling,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, issue BEGIN (pysqlite's implicit transactions
            # would defeat BEGIN IMMEDIATE below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Take the write lock up front: a deferred transaction that later upgrades can
            # fail with SQLITE_BUSY at once instead of waiting on busy_timeout.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args = {
            "connect_timeout": connect_timeout,
            "application_name": "leadexec-signin",
            # A runaway statement or a lock held by a stuck session ends in a 503, not in a
            # request (and a pooled connection) hanging forever.
            # 0 turns the three off (migrations, which may rebuild big indexes).
            "options": f"-c statement_timeout={statement_timeout_ms}"
            f" -c lock_timeout={statement_timeout_ms}"
            f" -c idle_in_transaction_session_timeout={4 * statement_timeout_ms}",
            # A database host that vanishes without closing the socket (power cut, network
            # partition) is noticed within seconds instead of the kernel's two hours.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": 20000,
        }
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # A connection is tested before each checkout: after the database comes back, the
        # dead ones are replaced on first use, so recovery needs no restart.
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=pool_timeout,
        connect_args=connect_args,
    )


def _scopes(raw: str) -> frozenset[str]:
    return frozenset(raw.split())


def _join(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes))


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        password_hash=row.password_hash,
        company=row.company,
        plan=row.plan,
        timezone=row.timezone,
        locale=row.locale,
        preferences=dict(row.preferences or {}),
        is_operator=bool(row.is_operator),
        created_at=row.created_at,
    )


def _button(row: Row[Any]) -> Button:
    return Button(
        id=row.id,
        app_id=row.app_id,
        scopes=_scopes(row.scopes),
        theme=row.theme,
        size=row.size,
        text=row.text,
        created_at=row.created_at,
    )


def _grant(row: Row[Any], prefix: str = "") -> Grant:
    m = row._mapping
    return Grant(
        id=m[prefix + "id"],
        user_id=m[prefix + "user_id"],
        app_id=m[prefix + "app_id"],
        scopes=_scopes(m[prefix + "scopes"]),
        created_at=m[prefix + "created_at"],
        last_used_at=m[prefix + "last_used_at"],
        revoked_at=m[prefix + "revoked_at"],
    )


class SqlTransaction(OutboxRepository, PartnerRepository):
    def __init__(self, conn: Connection) -> None:
        self.c = conn

    # -- users ----------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        self.c.execute(
            insert(t.users).values(
                id=user.id,
                email=user.email,
                name=user.name,
                password_hash=user.password_hash,
                company=user.company,
                plan=user.plan,
                timezone=user.timezone,
                locale=user.locale,
                preferences=user.preferences,
                is_operator=user.is_operator,
                created_at=user.created_at,
            )
        )

    def user_by_id(self, user_id: str) -> User | None:
        row = self.c.execute(select(t.users).where(t.users.c.id == user_id)).first()
        return _user(row) if row else None

    def user_by_email(self, email: str) -> User | None:
        row = self.c.execute(select(t.users).where(t.users.c.email == email)).first()
        return _user(row) if row else None

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.c.execute(
            update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    # -- applications ---------------------------------------------------------------------

    def add_app(self, app: Application) -> None:
        self.c.execute(
            insert(t.applications).values(
                id=app.id,
                name=app.name,
                owner_id=app.owner_id,
                status=app.status,
                scopes=_join(app.scopes),
                secret_hash=app.secret_hash,
                hardened=app.hardened,
                logo_url=app.logo_url,
                homepage_url=app.homepage_url,
                privacy_url=app.privacy_url,
                terms_url=app.terms_url,
                notice_url=app.notice_url,
                created_at=app.created_at,
            )
        )
        if app.origins:
            self.c.execute(
                insert(t.app_origins),
                [
                    {"app_id": app.id, "origin": origin, "position": i}
                    for i, origin in enumerate(app.origins)
                ],
            )

    def _origins(self, app_ids: list[str]) -> dict[str, tuple[str, ...]]:
        rows = self.c.execute(
            select(t.app_origins.c.app_id, t.app_origins.c.origin)
            .where(t.app_origins.c.app_id.in_(app_ids))
            .order_by(t.app_origins.c.app_id, t.app_origins.c.position)
        )
        found: dict[str, list[str]] = {}
        for app_id, origin in rows:
            found.setdefault(app_id, []).append(origin)
        return {k: tuple(v) for k, v in found.items()}

    @staticmethod
    def _app(row: Row[Any], origins: tuple[str, ...], prefix: str = "") -> Application:
        m = row._mapping
        return Application(
            id=m[prefix + "id"],
            name=m[prefix + "name"],
            owner_id=m[prefix + "owner_id"],
            status=m[prefix + "status"],
            scopes=_scopes(m[prefix + "scopes"]),
            origins=origins,
            secret_hash=m[prefix + "secret_hash"],
            hardened=bool(m[prefix + "hardened"]),
            logo_url=m[prefix + "logo_url"],
            homepage_url=m[prefix + "homepage_url"],
            privacy_url=m[prefix + "privacy_url"],
            terms_url=m[prefix + "terms_url"],
            notice_url=m[prefix + "notice_url"],
            created_at=m[prefix + "created_at"],
        )

    def app_by_id(self, app_id: str) -> Application | None:
        row = self.c.execute(select(t.applications).where(t.applications.c.id == app_id)).first()
        if row is None:
            return None
        return self._app(row, self._origins([app_id]).get(app_id, ()))

    def _apps(self, *where: Any) -> list[Application]:
        """Applications in creation order, with every origin fetched in one more query."""
        a = t.applications
        rows = self.c.execute(select(a).where(*where).order_by(a.c.created_at)).all()
        origins = self._origins([r.id for r in rows])
        return [self._app(r, origins.get(r.id, ())) for r in rows]

    def list_apps(self) -> list[Application]:
        return self._apps()

    def apps_for_owner(self, owner_id: str) -> list[Application]:
        return self._apps(t.applications.c.owner_id == owner_id)

    def set_app_status(self, app_id: str, status: str) -> None:
        self.c.execute(
            update(t.applications).where(t.applications.c.id == app_id).values(status=status)
        )

    def add_button(self, button: Button) -> None:
        self.c.execute(
            insert(t.buttons).values(
                id=button.id,
                app_id=button.app_id,
                scopes=_join(button.scopes),
                theme=button.theme,
                size=button.size,
                text=button.text,
                created_at=button.created_at,
            )
        )

    def button_by_id(self, btn_id: str) -> Button | None:
        row = self.c.execute(select(t.buttons).where(t.buttons.c.id == btn_id)).first()
        return _button(row) if row else None

    def buttons_for_app(self, app_id: str) -> list[Button]:
        b = t.buttons
        rows = self.c.execute(select(b).where(b.c.app_id == app_id).order_by(b.c.created_at))
        return [_button(r) for r in rows]

    # -- grants ---------------------------------------------------------------------------

    def active_grant(self, user_id: str, app_id: str) -> Grant | None:
        g = t.grants
        # FOR UPDATE (PostgreSQL; SQLite already serialises writers): the sign-in that goes
        # on to issue tokens under this grant waits for, then sees, a concurrent revocation.
        row = self.c.execute(
            select(g)
            .where(g.c.user_id == user_id, g.c.app_id == app_id, g.c.revoked_at.is_(None))
            .with_for_update()
        ).first()
        return _grant(row) if row else None

    def grant_by_id(self, grant_id: str) -> Grant | None:
        row = self.c.execute(select(t.grants).where(t.grants.c.id == grant_id)).first()
        return _grant(row) if row else None

    def add_grant(self, grant: Grant) -> None:
        self.c.execute(
            insert(t.grants).values(
                id=grant.id,
                user_id=grant.user_id,
                app_id=grant.app_id,
                scopes=_join(grant.scopes),
                created_at=grant.created_at,
                last_used_at=grant.last_used_at,
                revoked_at=None,
            )
        )

    def set_grant_scopes(self, grant_id: str, scopes: frozenset[str]) -> None:
        self.c.execute(
            update(t.grants).where(t.grants.c.id == grant_id).values(scopes=_join(scopes))
        )

    def touch_grant(self, grant_id: str, at: datetime) -> None:
        self.c.execute(update(t.grants).where(t.grants.c.id == grant_id).values(last_used_at=at))

    def grants_for_user(self, user_id: str) -> list[GrantListing]:
        g, a = t.grants, t.applications
        rows = self.c.execute(
            select(g, a.c.name.label("app_name"), a.c.logo_url, a.c.homepage_url)
            .join(a, a.c.id == g.c.app_id)
            .where(g.c.user_id == user_id, g.c.revoked_at.is_(None))
            .order_by(g.c.last_used_at.desc())
        ).all()
        return [
            GrantListing(
                grant=_grant(r),
                app_name=r.app_name,
                app_logo_url=r.logo_url,
                app_homepage_url=r.homepage_url,
            )
            for r in rows
        ]

    def revoke_grant(self, grant_id: str, at: datetime) -> bool:
        g = t.grants
        changed = self.c.execute(
            update(g).where(g.c.id == grant_id, g.c.revoked_at.is_(None)).values(revoked_at=at)
        ).rowcount
        # Codes first: a code exchange holds its code row until it commits, so the later
        # deletes see the tokens it issued (see the module docstring).
        for table in (t.auth_codes, t.refresh_tokens, t.access_tokens):
            self.c.execute(delete(table).where(table.c.grant_id == grant_id))
        return bool(changed)

    # -- tokens ---------------------------------------------------------------------------

    def add_refresh_token(self, token: RefreshToken) -> None:
        self.c.execute(
            insert(t.refresh_tokens).values(
                token_hash=token.token_hash,
                grant_id=token.grant_id,
                app_id=token.app_id,
                created_at=token.created_at,
            )
        )

    def _context_columns(self) -> list[Any]:
        g, a, u = t.grants, t.applications, t.users
        return [
            *(c.label("g_" + c.name) for c in g.c),
            *(c.label("a_" + c.name) for c in a.c),
            *u.c,
        ]

    def _context(self, row: Row[Any]) -> TokenContext:
        app_id = row._mapping["a_id"]
        return TokenContext(
            grant=_grant(row, "g_"),
            app=self._app(row, self._origins([app_id]).get(app_id, ()), "a_"),
            user=_user(row),
        )

    def refresh_token_context(self, token_hash: str) -> tuple[RefreshToken, TokenContext] | None:
        r, g, a, u = t.refresh_tokens, t.grants, t.applications, t.users
        row = self.c.execute(
            select(r.c.token_hash, r.c.created_at.label("r_created_at"), *self._context_columns())
            .join(g, g.c.id == r.c.grant_id)
            .join(a, a.c.id == g.c.app_id)
            .join(u, u.c.id == g.c.user_id)
            .where(r.c.token_hash == token_hash)
            # The exchange that follows issues under this grant: lock it against revocation.
            .with_for_update(of=g)
        ).first()
        if row is None:
            return None
        ctx = self._context(row)
        token = RefreshToken(
            token_hash=row.token_hash,
            grant_id=ctx.grant.id,
            app_id=ctx.app.id,
            created_at=row.r_created_at,
        )
        return token, ctx

    def add_access_token(self, token: AccessToken) -> None:
        self.c.execute(
            insert(t.access_tokens).values(
                token_hash=token.token_hash,
                grant_id=token.grant_id,
                app_id=token.app_id,
                scopes=_join(token.scopes),
                expires_at=token.expires_at,
                created_at=token.created_at,
            )
        )

    def access_token_context(self, token_hash: str) -> tuple[AccessToken, TokenContext] | None:
        x, g, a, u = t.access_tokens, t.grants, t.applications, t.users
        row = self.c.execute(
            select(
                x.c.token_hash,
                x.c.scopes.label("x_scopes"),
                x.c.expires_at.label("x_expires_at"),
                x.c.created_at.label("x_created_at"),
                *self._context_columns(),
            )
            .join(g, g.c.id == x.c.grant_id)
            .join(a, a.c.id == g.c.app_id)
            .join(u, u.c.id == g.c.user_id)
            .where(x.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        ctx = self._context(row)
        token = AccessToken(
            token_hash=row.token_hash,
            grant_id=ctx.grant.id,
            app_id=ctx.app.id,
            scopes=_scopes(row.x_scopes),
            expires_at=row.x_expires_at,
            created_at=row.x_created_at,
        )
        return token, ctx

    def add_code(self, code: AuthorizationCode) -> None:
        self.c.execute(
            insert(t.auth_codes).values(
                code_hash=code.code_hash,
                grant_id=code.grant_id,
                app_id=code.app_id,
                expires_at=code.expires_at,
            )
        )

    def take_code(self, code_hash: str) -> AuthorizationCode | None:
        c = t.auth_codes
        # DELETE ... RETURNING: of two concurrent redemptions exactly one gets the row.
        row = self.c.execute(delete(c).where(c.c.code_hash == code_hash).returning(*c.c)).first()
        if row is None:
            return None
        return AuthorizationCode(
            code_hash=row.code_hash,
            grant_id=row.grant_id,
            app_id=row.app_id,
            expires_at=row.expires_at,
        )

    def delete_expired(self, now: datetime) -> int:
        n = self.c.execute(delete(t.access_tokens).where(t.access_tokens.c.expires_at <= now))
        m = self.c.execute(delete(t.auth_codes).where(t.auth_codes.c.expires_at <= now))
        s = self.c.execute(delete(t.sessions).where(t.sessions.c.expires_at <= now))
        return n.rowcount + m.rowcount + s.rowcount

    # -- sessions -------------------------------------------------------------------------

    def add_session(self, session: Session) -> None:
        self.c.execute(
            insert(t.sessions).values(
                id_hash=session.id_hash,
                user_id=session.user_id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at,
            )
        )

    def session_by_hash(self, id_hash: str) -> Session | None:
        row = self.c.execute(select(t.sessions).where(t.sessions.c.id_hash == id_hash)).first()
        if row is None:
            return None
        return Session(
            id_hash=row.id_hash,
            user_id=row.user_id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
        )

    def touch_session(self, id_hash: str, at: datetime, expires_at: datetime) -> None:
        self.c.execute(
            update(t.sessions)
            .where(t.sessions.c.id_hash == id_hash)
            .values(last_seen_at=at, expires_at=expires_at)
        )

    def delete_session(self, id_hash: str) -> None:
        self.c.execute(delete(t.sessions).where(t.sessions.c.id_hash == id_hash))

    # -- audit ----------------------------------------------------------------------------

    def record(self, event: AuditEvent) -> None:
        self.c.execute(
            insert(t.audit_events).values(
                at=event.at,
                event=event.event,
                user_id=event.user_id,
                app_id=event.app_id,
                ip=event.ip,
                detail=event.detail,
            )
        )


class SqlStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        try:
            with self.engine.begin() as conn:
                yield SqlTransaction(conn)
        except IntegrityError as exc:
            raise Conflict("That conflicts with a concurrent change; try again.") from exc
        except DataError as exc:
            # Input the database cannot hold (PostgreSQL text cannot contain NUL; a value too
            # long for its column) is the client's mistake: a 400, never a 500.
            raise InvalidRequest(
                "The request contains a value that cannot be stored.",
                debug=type(exc.orig).__name__,
            ) from exc
        except PoolTimeout as exc:
            # Every pooled connection busy for pool_timeout seconds: overloaded, retry later.
            raise TemporarilyUnavailable(debug="connection pool exhausted") from exc
        except DBAPIError as exc:
            if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
                # The database went away, timed out or is locked out (OperationalError also
                # covers PostgreSQL's deadlock and serialization failures): a retryable 503,
                # never a 500. The pool's pre-ping replaces dead connections on next use.
                raise TemporarilyUnavailable(debug=type(exc.orig).__name__) from exc
            raise

    def ping(self) -> None:
        with self.transaction() as tx:
            tx.c.exec_driver_sql("SELECT 1")

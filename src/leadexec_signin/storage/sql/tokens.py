"""SQL for refresh tokens, access tokens and codes; each token is found with its grant,
application and user in one query (mixed into ``SqlTransaction``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, union
from sqlalchemy.engine import Connection

from leadexec_signin.core.tokens import AccessToken, AuthorizationCode, RefreshToken, TokenContext
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.apps import app_with_uris, uris_of
from leadexec_signin.storage.sql.rows import (
    grant_from_row,
    joined,
    joined_or_none,
    scopes_of,
    scopes_or_none,
    user_from_row,
)


class TokenRepository:
    c: Connection

    def add_refresh_token(self, token: RefreshToken) -> None:
        self.c.execute(
            insert(t.refresh_tokens).values(
                token_hash=token.token_hash,
                grant_id=token.grant_id,
                app_id=token.app_id,
                created_at=token.created_at,
                scopes=joined_or_none(token.scopes),
                last_used_at=token.last_used_at,
                replaced_by=token.replaced_by,
                rotated_at=token.rotated_at,
                kind=token.kind,
                auth_time=token.auth_time,
                sid=token.sid,
                dpop_jkt=token.dpop_jkt,
                resource=token.resource,
            )
        )

    def _context_columns(self) -> list[Any]:
        g, a, u = t.grants, t.applications, t.users
        return [
            *(c.label("g_" + c.name) for c in g.c),
            *(c.label("a_" + c.name) for c in a.c),
            *u.c,
        ]

    def _context(self, row: Any) -> TokenContext:
        app_id = row._mapping["a_id"]
        return TokenContext(
            grant=grant_from_row(row, "g_"),
            app=app_with_uris(row, uris_of(self.c, [app_id]), "a_"),
            user=user_from_row(row),
        )

    def refresh_token_context(self, token_hash: str) -> tuple[RefreshToken, TokenContext] | None:
        r, g, a, u = t.refresh_tokens, t.grants, t.applications, t.users
        row = self.c.execute(
            select(
                r.c.token_hash,
                r.c.created_at.label("r_created_at"),
                r.c.scopes.label("r_scopes"),
                r.c.last_used_at.label("r_last_used_at"),
                r.c.replaced_by.label("r_replaced_by"),
                r.c.rotated_at.label("r_rotated_at"),
                r.c.kind.label("r_kind"),
                r.c.auth_time.label("r_auth_time"),
                r.c.sid.label("r_sid"),
                r.c.dpop_jkt.label("r_dpop_jkt"),
                r.c.resource.label("r_resource"),
                *self._context_columns(),
            )
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
            scopes=scopes_or_none(row.r_scopes),
            last_used_at=row.r_last_used_at,
            replaced_by=row.r_replaced_by,
            rotated_at=row.r_rotated_at,
            kind=row.r_kind,
            auth_time=row.r_auth_time,
            sid=row.r_sid,
            dpop_jkt=row.r_dpop_jkt,
            resource=row.r_resource,
        )
        return token, ctx

    def add_access_token(self, token: AccessToken) -> None:
        self.c.execute(
            insert(t.access_tokens).values(
                token_hash=token.token_hash,
                grant_id=token.grant_id,
                app_id=token.app_id,
                scopes=joined(token.scopes),
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
            scopes=scopes_of(row.x_scopes),
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
                redirect_uri=code.redirect_uri,
                code_challenge=code.code_challenge,
                code_challenge_method=code.code_challenge_method,
                nonce=code.nonce,
                scopes=joined_or_none(code.scopes),
                created_at=code.created_at,
                consumed_at=code.consumed_at,
                auth_time=code.auth_time,
                sid=code.sid,
                resource=code.resource,
                dpop_jkt=code.dpop_jkt,
            )
        )

    def apps_of_session(self, sid: str) -> list[str]:
        if not sid:
            return []
        r, c = t.refresh_tokens, t.auth_codes
        both = union(
            select(r.c.app_id).where(r.c.sid == sid), select(c.c.app_id).where(c.c.sid == sid)
        )
        return sorted(self.c.execute(both).scalars().all())

    def delete_expired(self, now: datetime) -> int:
        n = self.c.execute(delete(t.access_tokens).where(t.access_tokens.c.expires_at <= now))
        m = self.c.execute(delete(t.auth_codes).where(t.auth_codes.c.expires_at <= now))
        s = self.c.execute(delete(t.sessions).where(t.sessions.c.expires_at <= now))
        j = t.client_assertions
        a = self.c.execute(delete(j).where(j.c.expires_at <= now))
        d = t.dpop_proofs
        p = self.c.execute(delete(d).where(d.c.expires_at <= int(now.timestamp())))
        # An expired account link answers as an unknown one does: nothing is lost.
        k = t.account_tokens
        o = self.c.execute(delete(k).where(k.c.expires_at <= now))
        return n.rowcount + m.rowcount + s.rowcount + a.rowcount + p.rowcount + o.rowcount

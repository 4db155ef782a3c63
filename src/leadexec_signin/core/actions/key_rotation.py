"""The signing keys' lifecycle for operators (``leadexec-signin keys list|rotate|retire``).

A rotation publishes the new key at once and lets it sign ``key_rotation_delay_seconds``
later, so relying parties that cache the JWKS already hold it when the first token signed with
it arrives; the old key stops signing at that same moment and stays published until every
token it could have signed has expired (``core/keys.py`` reads the three times). Retiring a
key early is refused while it signs or while its tokens are still valid, unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.clock import Clock, iso_z
from leadexec_signin.core.errors import Conflict, InvalidRequest, NotFound
from leadexec_signin.core.keys import (
    ALGORITHMS,
    SigningKey,
    can_sign,
    current_signing_key,
    is_published,
    new_signing_key,
)
from leadexec_signin.core.ports import Audit, Keys, Store
from leadexec_signin.settings import Settings

# Beyond the longest token lifetime: relying parties' clocks drift and their JWKS caches
# (ours say five minutes) may still hold a verification for that long.
MARGIN = timedelta(minutes=5)
# Logout tokens live two minutes (background.py); notices are signed when sent.
LOGOUT_TOKEN_LIFETIME = timedelta(minutes=2)
NEXT, SIGNING, STANDBY, RETIRING, EXPIRED = "next", "signing", "standby", "retiring", "expired"


class KeyRotationTx(Keys, Audit, Protocol):
    pass


def key_state(key: SigningKey, keys: list[SigningKey], now: datetime) -> str:
    """``signing``: signs its algorithm now; ``standby``: could sign but a newer key does;
    ``next``: published, signs later; ``retiring``: published so its tokens verify;
    ``expired``: no longer published."""
    assert key.activates_at is not None
    if not is_published(key, now):
        return EXPIRED
    if can_sign(key, now):
        current = current_signing_key(keys, key.alg, now)
        return SIGNING if current is not None and current.kid == key.kid else STANDBY
    if key.activates_at > now and (key.retired_at is None or key.retired_at > key.activates_at):
        return NEXT
    return RETIRING


@dataclass(frozen=True)
class KeyView:
    key: SigningKey
    state: str

    def json(self) -> dict[str, object]:
        k = self.key
        return {
            "kid": k.kid,
            "alg": k.alg,
            "state": self.state,
            "published": self.state != EXPIRED,
            "createdAt": iso_z(k.created_at),
            "activatesAt": iso_z(k.activates_at) if k.activates_at else None,
            "retiredAt": iso_z(k.retired_at) if k.retired_at else None,
            "expiresAt": iso_z(k.expires_at) if k.expires_at else None,
        }


# Inside ``KeyRotation`` the name ``list`` is its method: its annotations use this name.
KeyViews = list[KeyView]


class KeyRotation:
    def __init__(
        self, store: Store[KeyRotationTx], clock: Clock, settings: Settings, keys: SigningKeys
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.keys = keys

    @property
    def signed_lifetime(self) -> timedelta:
        """The longest a signature of ours stays worth verifying: ID tokens and JWT access
        tokens live ``access_token_ttl_seconds``."""
        longest = max(timedelta(seconds=self.settings.access_token_ttl_seconds),
                      LOGOUT_TOKEN_LIFETIME)  # fmt: skip
        return longest + MARGIN

    def list(self) -> KeyViews:
        now = self.clock.now()
        with self.store.transaction() as tx:
            keys = tx.signing_keys()
        return [KeyView(k, key_state(k, keys, now)) for k in keys]

    def rotate(
        self, algs: tuple[str, ...] = ALGORITHMS, *, delay: int | None = None, actor: str = "cli"
    ) -> KeyViews:
        """A new key per algorithm, signing after ``delay`` seconds (the setting by default);
        the keys it replaces stop signing then and stay published for ``signed_lifetime``."""
        unknown = [a for a in algs if a not in ALGORITHMS]
        if unknown or not algs:
            raise InvalidRequest(f"The algorithm must be one of {', '.join(ALGORITHMS)}.")
        wait = self.settings.key_rotation_delay_seconds if delay is None else delay
        if not 0 <= wait <= 30 * 24 * 3600:
            raise InvalidRequest("The delay must be between 0 and 2592000 seconds (30 days).")
        now = self.clock.now()
        made: list[SigningKey] = []
        with self.store.transaction() as tx:
            keys = tx.signing_keys()
            for alg in algs:
                # Nothing signs this algorithm yet (a new database): nobody can have cached a
                # key set without it, and waiting would leave it unable to sign meanwhile.
                signing = current_signing_key(keys, alg, now) is not None
                starts = now + timedelta(seconds=wait if signing else 0)
                pending = [k for k in keys if k.alg == alg and key_state(k, keys, now) == NEXT]
                if pending:
                    raise Conflict(
                        f"A rotation of {alg} is already under way: {pending[0].kid} signs from "
                        f"{iso_z(pending[0].activates_at or now)}."
                    )
                new = new_signing_key(credentials.new_id("key_"), now, alg, activates_at=starts)
                tx.add_signing_key(new)
                replaced = [k.kid for k in keys if k.alg == alg and k.retired_at is None]
                for kid in replaced:
                    tx.retire_signing_key(kid, starts, starts + self.signed_lifetime)
                made.append(new)
                audit.record(
                    tx,
                    now,
                    audit.KEY_ROTATED,
                    actor=actor,
                    subject=new.kid,
                    detail={"alg": alg, "replaces": replaced, "signsFrom": iso_z(starts)},
                )
            after = tx.signing_keys()
        self.keys.reload()
        return [KeyView(k, key_state(k, after, now)) for k in made]

    def retire(self, kid: str, *, force: bool = False, actor: str = "cli") -> KeyView:
        """Unpublish a key now. Refused while it signs or will sign (retire it by rotating),
        and while tokens it signed may still be valid, unless ``force`` (those tokens then
        fail verification)."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            keys = tx.signing_keys()
            key = next((k for k in keys if k.kid == kid), None) if len(kid) <= 64 else None
            if key is None:
                raise NotFound(f"No signing key {kid[:64]!r}; see keys list.")
            state = key_state(key, keys, now)
            if state == EXPIRED:
                return KeyView(key, state)
            others = [k for k in keys if k.alg == key.alg and k.kid != kid and can_sign(k, now)]
            if state in (SIGNING, NEXT) and not (force and state == SIGNING and others):
                verb = "signs" if state == SIGNING else "is about to sign"
                raise Conflict(
                    f"Key {kid} {verb} {key.alg} tokens; rotate it out first "
                    f"(keys rotate --alg {key.alg})"
                    + (", or retire it with --force" if state == SIGNING and others else "")
                    + "."
                )
            valid_until = key.expires_at
            if not force and (valid_until is None or valid_until > now):
                until = f"until {iso_z(valid_until)}" if valid_until else "with no end set"
                raise Conflict(
                    f"Tokens signed by {kid} may still be valid ({until}); retiring it now "
                    "makes them fail verification. Use --force to do it anyway."
                )
            retired_at = min(key.retired_at or now, now)
            tx.set_signing_key_end(kid, retired_at, now)
            audit.record(
                tx,
                now,
                audit.KEY_RETIRED,
                actor=actor,
                subject=kid,
                detail={"alg": key.alg, "forced": force, "was": state},
            )
            after = tx.signing_keys()
        self.keys.reload()
        done = next(k for k in after if k.kid == kid)
        return KeyView(done, key_state(done, after, now))

"""Background work of each server process: deliver queued disconnect notices (a signed POST
each, retried with backoff) and sweep expired rows.

Runs as a background task in every server process; the outbox lease makes sure two processes
never send the same attempt. Partners verify the ``LeadExec-Signature`` header with the public
keys at ``/signin/keys`` (see docs/api.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import secrets
import ssl
from urllib.parse import urlencode

import httpx
from starlette.concurrency import run_in_threadpool

from leadexec_signin.core import jwts
from leadexec_signin.core.errors import SigninError
from leadexec_signin.core.keys import SigningKey
from leadexec_signin.core.notices import (
    AUDIT,
    AUDIT_SIGNATURE_HEADER,
    BACKCHANNEL_LOGOUT,
    SIGNATURE_HEADER,
    audit_signature_header,
    signature_header,
    signed_payload,
)
from leadexec_signin.metrics import count_notice
from leadexec_signin.services import Services

log = logging.getLogger("leadexec_signin.background")


def logout_form(claims_json: str, key: SigningKey, issuer: str, now: int) -> str:
    """OpenID Connect Back-Channel Logout 1.0 section 2.5: ``logout_token=<JWT>``, signed now
    (RS256, the algorithm every relying party accepts), valid two minutes, a new ``jti``
    per attempt."""
    claims = {**json.loads(claims_json), "iss": issuer, "iat": now, "exp": now + 120,
              "jti": secrets.token_urlsafe(16)}  # fmt: skip
    return urlencode({"logout_token": jwts.sign(key, claims, typ=jwts.LOGOUT_TYP)})


async def deliver_due(
    services: Services, client: httpx.AsyncClient, stopping: asyncio.Event | None = None
) -> int:
    """One pass over the due notices; returns how many were delivered. Once ``stopping`` is
    set (a SIGTERM), the notice in hand is finished and the rest of the pass is left: their
    lease runs out and another process, or this one restarted, sends them."""
    due = await run_in_threadpool(services.notices.take_due)
    if not due:
        return 0
    key = await run_in_threadpool(services.keys.current)
    delivered = 0
    for notice in due:
        if stopping is not None and stopping.is_set():
            break
        timestamp = int(services.clock.now().timestamp())
        if notice.kind == BACKCHANNEL_LOGOUT:
            rs256 = await run_in_threadpool(services.keys.current, "RS256")
            body = logout_form(notice.body, rs256, services.settings.issuer, timestamp)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "LeadExec-Signin-Notices/1",
            }
        elif notice.kind == AUDIT:
            # The operators' webhook: HMAC with their shared secret, signed at each attempt.
            body = notice.body
            secret = services.settings.audit_webhook_secret
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "LeadExec-Signin-Audit/1",
                AUDIT_SIGNATURE_HEADER: audit_signature_header(secret, timestamp, body),
            }
        else:
            body = notice.body
            signature = key.sign(signed_payload(timestamp, notice.body))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "LeadExec-Signin-Notices/1",
                SIGNATURE_HEADER: signature_header(key.kid, timestamp, signature),
            }
        try:
            response = await client.post(notice.url, content=body, headers=headers)
            ok, error = 200 <= response.status_code < 300, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, type(exc).__name__
        await run_in_threadpool(services.notices.finish, notice, delivered=ok, error=error)
        count_notice(notice.kind, ok)
        delivered += ok
    return delivered


@functools.cache
def tls() -> ssl.SSLContext:
    """httpx's default verifying context, built once per process: loading the CA bundle costs
    about 15 ms, paid at every server start otherwise (the test suite starts hundreds)."""
    return httpx.create_ssl_context()


# Expired rows are swept this often (seconds); each process sweeps, which is harmless.
SWEEP_EVERY = 600.0


async def run_forever(
    services: Services, interval: float, stopping: asyncio.Event | None = None
) -> None:
    """The background work of a server process: notices every ``interval`` seconds, and a
    sweep of expired tokens, codes, sessions and idle refresh tokens every ``SWEEP_EVERY``.
    Returns once ``stopping`` is set, after the delivery in hand (graceful shutdown)."""
    loop = asyncio.get_running_loop()
    next_sweep = loop.time()
    stopping = stopping or asyncio.Event()
    async with httpx.AsyncClient(timeout=5, follow_redirects=False, verify=tls()) as client:
        while not stopping.is_set():
            try:
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + SWEEP_EVERY
                    swept = await run_in_threadpool(services.housekeeping.delete_expired)
                    if swept:
                        log.info("swept %d expired rows", swept)
                await deliver_due(services, client, stopping)
            except SigninError as exc:  # database away: try again next round
                log.warning("notice delivery paused: %s", exc.code)
            except Exception:
                log.exception("notice delivery failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)


async def flush_usage_forever(services: Services, every: float) -> None:
    """Write the batched "last used" times every ``every`` seconds (``core/actions/usage``)."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(services.usage.flush)
        except SigninError as exc:  # database away: kept in memory for the next round
            log.warning("usage not written: %s", exc.code)
        except Exception:
            log.exception("usage not written")

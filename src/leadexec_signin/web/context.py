"""What every route needs from the running app: the services and a way to call them.

Route modules import this, never ``web/app.py`` (which imports them): no import loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

if TYPE_CHECKING:
    from leadexec_signin.compose import Services

PACKAGE = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def call(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Use cases are synchronous (SQLAlchemy, argon2): run them off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


async def call_read(request: Request, fn: Callable[..., T], *args: object) -> T:
    """For the hot read-only paths (a token exchange, a token check): with the embedded
    SQLite database and no Redis, the work is a few in-process microseconds with nothing to
    wait on, cheaper run in place than handed to a thread (which costs more than the read);
    with a network database it goes to a thread like everything else."""
    if services(request).reads_in_place:
        return fn(*args)
    return await run_in_threadpool(fn, *args)

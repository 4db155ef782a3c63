"""What every route needs from the running app: the services and a way to call them.

Route modules import this, never ``web/app.py`` (which imports them): no import loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from leadexec_signin.services import Services

PACKAGE = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def services(request: Request) -> Services:
    services_: Services = request.app.state.services
    return services_


async def call(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Use cases are synchronous (SQLAlchemy, argon2): run them off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)

"""Redis commands awaited on the server's event loop, on redis-py's asyncio ``Connection``
objects kept here, one per command in flight.

The rate limits' counts and DPoP's used proofs each send one command a request. Through
redis-py's pooled asyncio client (its pool and command layers) a count cost about 152 us of
CPU; on a bare connection kept in a list, 83. Connections belong to the loop that opened
them, so an owner makes these on its server's loop and closes them there.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio.connection import Connection as AsyncConnection


class LoopConnections:
    MAX_IDLE = 16  # connections kept between requests

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self._kwargs = kwargs  # redis.asyncio.connection.parse_url's, plus timeouts
        self._idle: list[AsyncConnection] = []

    async def command(self, *args: Any) -> Any:
        """One command's answer. A connection that failed in any way (an error answer
        included) is dropped rather than kept: its state is not known."""
        conn = self._idle.pop() if self._idle else AsyncConnection(**self._kwargs)
        try:
            await conn.send_command(*args)
            answer = await conn.read_response()
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.disconnect()
            raise
        if len(self._idle) < self.MAX_IDLE:
            self._idle.append(conn)
        else:
            await conn.disconnect()
        return answer

    async def close(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Lets the kept connections go; they can only be awaited on ``loop``, their own."""
        idle, self._idle = self._idle, []
        if loop is asyncio.get_running_loop():
            with contextlib.suppress(Exception):  # the connections go with the process anyway
                for conn in idle:
                    await conn.disconnect()

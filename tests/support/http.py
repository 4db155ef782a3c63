"""One TLS context for the httpx clients that tests make in a loop: httpx otherwise builds a
fresh one, reading certifi's bundle (about 20 ms of CPU), for every ``httpx.get`` and client,
even to an ``http://`` server. Polling a starting server every 50 ms made that 4% of the whole
suite's CPU."""

from __future__ import annotations

import httpx

TLS = httpx.create_ssl_context()

"""Fetching a client's published JWKS (``jwks_uri``) for private_key_jwt, with a cache.

Outbound HTTP to an address a partner registered: short timeouts, a size cap, no redirects,
and a cache so a burst of token requests does not become a burst of fetches. A key the cached
set lacks triggers one refetch at most every ``REFETCH_EVERY`` seconds (a client that rotated).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("leadexec_signin.storage")

CACHE_SECONDS = 300.0
REFETCH_EVERY = 30.0
MAX_BYTES = 64 * 1024


class HttpClientKeys:
    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout
        self._cache: dict[str, tuple[float, Mapping[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def jwks(self, uri: str, *, refresh: bool = False) -> Mapping[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(uri)
        if cached is not None:
            age = now - cached[0]
            if age < CACHE_SECONDS and not (refresh and age >= REFETCH_EVERY):
                return cached[1]
        found = self._fetch(uri)
        with self._lock:
            self._cache[uri] = (now, found)
        return found

    def _fetch(self, uri: str) -> Mapping[str, Any] | None:
        # Imported at the first fetch: httpx is a third of the command line's start-up, and
        # the command line never fetches a client's keys.
        import httpx

        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                with client.stream("GET", uri, headers={"Accept": "application/json"}) as r:
                    if r.status_code != 200:
                        log.info("client jwks_uri answered %s", r.status_code)
                        return None
                    body = b""
                    for chunk in r.iter_bytes():
                        body += chunk
                        if len(body) > MAX_BYTES:
                            log.info("client jwks_uri larger than %d bytes", MAX_BYTES)
                            return None
            data = json.loads(body)
        except (httpx.HTTPError, ValueError) as exc:
            log.info("client jwks_uri not fetched: %s", type(exc).__name__)
            return None
        return data if isinstance(data, dict) else None

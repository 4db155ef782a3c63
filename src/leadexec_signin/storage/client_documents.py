"""Fetching a Client ID Metadata Document (``core/client_documents.py``'s port), safely.

A client id is chosen by anyone who sends a browser to ``/oauth2/authorize``, so this is a
fetch of an attacker's URL from inside the provider's network (SSRF). What stops it:

- the host is resolved once, here, every address it resolves to is checked
  (``address_allowed``: public unicast only; loopback too only when the provider itself runs
  on loopback), and the socket is connected to that checked address: no second lookup a
  rebinding DNS server could answer differently;
- no redirect is followed (a 3xx is refused), no proxy from the environment is used;
- the answer is streamed and dropped after 5 KB, and the whole fetch (resolution,
  connection, TLS, every read) shares one deadline.

Why ``httpcore`` (the transport httpx is built on, installed with it) rather than
``httpx.Client``: httpx's transport has no hook for where a connection goes, and httpcore's
public ``network_backend`` is exactly that hook; httpcore also never follows redirects nor
reads proxy variables, so neither can be turned on by accident. TLS still verifies the
certificate against the URL's host name (SNI and hostname check), not the address.
"""

from __future__ import annotations

import concurrent.futures
import functools
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpcore

from leadexec_signin.core.client_documents import (
    FETCH_SECONDS,
    MAX_BYTES,
    DocumentBusy,
    DocumentRefused,
    DocumentUnreachable,
    FetchedDocument,
    address_allowed,
    check_client_id_url,
)

# Name resolution has no timeout of its own: it runs here, and is waited for no longer than
# the fetch's deadline allows. A lookup given up on keeps its thread until the system's
# resolver gives up too, so lookups are counted until they really end, and a fetch finding
# every thread taken is refused at once rather than queued behind names that never answer.
RESOLVER_THREADS = 4
_RESOLVER = concurrent.futures.ThreadPoolExecutor(
    max_workers=RESOLVER_THREADS, thread_name_prefix="cimd-dns"
)
_lookups = threading.BoundedSemaphore(RESOLVER_THREADS)


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self, timeout: float | None = None) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise DocumentUnreachable(
                f"The document did not arrive within {FETCH_SECONDS} seconds."
            )
        return left if timeout is None else min(left, timeout)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake waits no longer than what is
    left of the fetch's deadline (httpcore's own timeouts are per operation)."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self.inner = inner
        self.deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self.deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.deadline.left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self.inner.start_tls(ssl_context, server_hostname, self.deadline.left(timeout))
        return _DeadlineStream(inner, self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _CheckedBackend(httpcore.NetworkBackend):
    """Connects only to an address it resolved and checked itself."""

    def __init__(self, deadline: _Deadline, development: bool) -> None:
        self.deadline = deadline
        self.development = development
        self.inner = httpcore.SyncBackend()
        self.connected: str | None = None  # the address used, for the tests and the log

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolve(host, port)
        refused = [a for a in addresses if not address_allowed(a, development=self.development)]
        if refused or not addresses:
            # Every answer is checked, not the first: a name answering a public and a
            # private address would otherwise reach the private one on a retry.
            raise DocumentRefused(
                "The document's host resolves to an address this provider does not fetch "
                "from (private, loopback, link-local or reserved)."
            )
        self.connected = addresses[0]
        stream = self.inner.connect_tcp(
            addresses[0], port, self.deadline.left(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self.deadline)

    def _resolve(self, host: str, port: int) -> list[str]:
        host = host.strip("[]")
        if not _lookups.acquire(blocking=False):
            raise DocumentBusy("Too many document host names are being looked up; try later.")
        try:
            lookup = _RESOLVER.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        except BaseException:
            _lookups.release()
            raise
        lookup.add_done_callback(lambda _: _lookups.release())
        try:
            infos = lookup.result(timeout=self.deadline.left())
        except concurrent.futures.TimeoutError:
            raise DocumentUnreachable("The document's host name did not resolve in time.") from None
        except OSError:
            raise DocumentUnreachable("The document's host name does not resolve.") from None
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise DocumentRefused("Not a network address.")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@functools.cache
def _system_tls() -> ssl.SSLContext:
    """The system's certificates, read once per process at the first fetch (about 20 ms of
    CPU, which every provider built paid otherwise, and most never fetch)."""
    return ssl.create_default_context()


class HttpClientDocuments:
    """The :class:`~leadexec_signin.core.client_documents.DocumentFetcher` over HTTPS.

    ``development``: the provider runs on loopback, so loopback addresses (a client the
    developer runs next to it) are allowed; ``ssl_context``: which certificates to trust
    (the system's by default; the tests add their own authority)."""

    def __init__(
        self,
        *,
        development: bool,
        ssl_context: ssl.SSLContext | None = None,
        seconds: float = FETCH_SECONDS,
    ) -> None:
        self.development = development
        self._ssl_context = ssl_context
        self.seconds = seconds

    @property
    def ssl_context(self) -> ssl.SSLContext:
        return self._ssl_context or _system_tls()

    def fetch(self, url: str) -> FetchedDocument:
        check_client_id_url(url, development=self.development)
        deadline = _Deadline(self.seconds)
        backend = _CheckedBackend(deadline, self.development)
        try:
            with httpcore.ConnectionPool(
                ssl_context=self.ssl_context,
                network_backend=backend,
                max_connections=1,
                retries=0,
                http2=False,
            ) as pool:
                return self._get(pool, url, deadline)
        except DocumentRefused:
            raise
        except httpcore.TimeoutException:
            raise DocumentUnreachable(
                f"The document did not arrive within {FETCH_SECONDS} seconds."
            ) from None
        except (httpcore.NetworkError, httpcore.ProtocolError, ssl.SSLError, OSError) as exc:
            raise DocumentUnreachable(
                f"The document could not be fetched ({type(exc).__name__})."
            ) from None

    @staticmethod
    def _get(pool: httpcore.ConnectionPool, url: str, deadline: _Deadline) -> FetchedDocument:
        left = deadline.left()
        timeouts = {"connect": left, "read": left, "write": left, "pool": left}
        headers = [
            (b"Accept", b"application/json"),
            (b"User-Agent", b"LeadExec-Sign-In (client metadata document)"),
        ]
        with pool.stream("GET", url, headers=headers, extensions={"timeout": timeouts}) as r:
            if 300 <= r.status < 400:
                # The draft lets a server follow none: the document is at its URL or nowhere,
                # and a redirect is how an allowed host would point us at a refused one.
                raise DocumentRefused(f"The document's URL redirects (HTTP {r.status}).")
            if r.status != 200:
                raise DocumentRefused(f"The document's URL answered HTTP {r.status}.")
            found = dict((k.lower(), v) for k, v in r.headers)
            length = found.get(b"content-length", b"")
            if length.isdigit() and int(length) > MAX_BYTES:
                raise DocumentRefused(f"The document is larger than {MAX_BYTES // 1024} KB.")
            body = bytearray()
            for chunk in r.iter_stream():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise DocumentRefused(f"The document is larger than {MAX_BYTES // 1024} KB.")
                deadline.left()
            cache_control = found.get(b"cache-control", b"").decode("latin-1")
        return FetchedDocument(bytes(body), cache_control)

"""Client ID Metadata Documents, the use case: a ``client_id`` that is an HTTPS URL becomes
the application made for its document (``SelfRegistration.register_metadata_document_client``).

The document is fetched through the :class:`DocumentFetcher` port (``core/client_documents.py``
says what may be fetched and what a document must say), checked as every self-registered
client's metadata is, and kept in this process's memory as long as its ``Cache-Control``
allows within bounds. Each step that meets such a client calls here before its own unit of
work opens, so no database transaction waits on the network:

- ``/oauth2/authorize`` and ``/oauth2/par``: :meth:`ClientDocuments.register`, which makes
  or refreshes the client's row (its name, redirect URIs and last use);
- ``/oauth2/token``: :meth:`ClientDocuments.check`: the document must still be usable
  (kept, or fetched again once its time is up).

A fetch holds a request thread for up to 2.5 s, at an unauthenticated request naming any URL,
so fetching is bounded apart from everything else: at most :data:`FETCH_SLOTS` at once in a
process and one per host, a request finding no slot refused at once (never queued: waiting is
what an attacker's slow server wants), and a URL that failed (or a host that did not answer)
refused for :data:`FAILED_SECONDS` without another try.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from leadexec_signin.core.actions.self_registration import SelfRegistration
from leadexec_signin.core.apps import Application
from leadexec_signin.core.client_documents import (
    DocumentBusy,
    DocumentFetcher,
    DocumentRefused,
    DocumentUnreachable,
    cache_seconds,
    check_client_id_url,
    looks_like_url,
    lookup_client,
    on_loopback,
    read_document,
)
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import SigninError
from leadexec_signin.core.limits import Counter, address_block, count_or_refuse
from leadexec_signin.core.self_registered import ClientMetadata
from leadexec_signin.settings import Settings

# Documents kept per process; past this the oldest goes (anyone can name a new URL).
MAX_KEPT = 2000
# Fetches at once in a process (each on a request thread: the web layer adds as many threads
# to its pool, so fetches never take the ones database work needs), one per host at most.
FETCH_SLOTS = 4
# How long a URL that failed, or a host that did not answer, is refused without a new try.
FAILED_SECONDS = 60
# A known client's document fetched again at the token endpoint, per URL: it is kept at least
# 5 minutes per process (a failure 1 minute), so this is only reached with many processes or
# a document that keeps failing.
REFETCH_LIMIT = "120/hour"


@dataclass(frozen=True)
class Kept:
    metadata: ClientMetadata
    until: datetime


class ClientDocuments:
    def __init__(
        self,
        fetcher: DocumentFetcher,
        registration: SelfRegistration,
        limiter: Counter,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.fetcher = fetcher
        self.registration = registration
        self.limiter = limiter
        self.clock = clock
        self.settings = settings
        # A provider on the developer's machine may be named by http://localhost documents.
        self.development = on_loopback(settings.issuer)
        self._kept: dict[str, Kept] = {}
        # A URL, or "host:" + a host, that failed: the reason, and until when it is repeated.
        self._failed: dict[str, tuple[str, datetime]] = {}
        self._fetching: set[str] = set()  # hosts being fetched from now
        self._slots = threading.BoundedSemaphore(FETCH_SLOTS)
        self._lock = threading.Lock()

    def names_document(self, client_id: str) -> bool:
        """Whether ``client_id`` is a document's URL this server will read."""
        return self.settings.metadata_documents and looks_like_url(client_id)

    def metadata(
        self, url: str, ip: str, *, counted: tuple[str, str, str] | None = None
    ) -> tuple[ClientMetadata, bool]:
        """The document's checked metadata, and whether it was fetched just now. Raises
        :class:`DocumentRefused` with the reason. Each fetch (not a document kept, nor a
        failure remembered) counts against the caller's address, an IPv6 one by its /64, like
        a registration (``LEADEXEC_REGISTRATION_LIMIT_PER_IP``): anyone can name a new URL,
        and each one costs an outbound request and up to 2.5 s of a thread."""
        now = self.clock.now()
        with self._lock:
            kept = self._kept.get(url)
        if kept is not None and now < kept.until:
            return kept.metadata, False
        check_client_id_url(url, development=self.development)
        host = (urlsplit(url).hostname or "").lower()
        self._refuse_failed(url, host, now)
        with self._fetch_slot(host):
            limit, *key = counted or (
                self.settings.registration_limit_per_ip,
                "document-ip",
                address_block(ip),
            )
            count_or_refuse(self.limiter, limit, *key)
            try:
                fetched = self.fetcher.fetch(url)
                raw = read_document(url, fetched)
                try:
                    metadata = self.registration.check(raw, client_id=url)
                except SigninError as exc:
                    # invalid_client_metadata, invalid_redirect_uri: said as the reason.
                    raise DocumentRefused(exc.description) from None
            except DocumentBusy:
                raise
            except DocumentRefused as exc:
                self._remember_failed(url, host, exc, now)
                raise
        until = now + timedelta(seconds=cache_seconds(fetched.cache_control))
        with self._lock:
            if len(self._kept) >= MAX_KEPT:
                self._kept.pop(next(iter(self._kept)))
            self._kept[url] = Kept(metadata, until)
        return metadata, True

    @contextlib.contextmanager
    def _fetch_slot(self, host: str) -> Iterator[None]:
        """One of :data:`FETCH_SLOTS`, and the host's only one, or :class:`DocumentBusy` at
        once."""
        with self._lock:
            busy = host in self._fetching
            if not busy:
                self._fetching.add(host)
        if busy:
            raise DocumentBusy(
                "Another document from the same host is being fetched; try again in a moment."
            )
        try:
            if not self._slots.acquire(blocking=False):
                raise DocumentBusy("LeadExec is fetching too many documents; try again later.")
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._fetching.discard(host)

    def _refuse_failed(self, url: str, host: str, now: datetime) -> None:
        with self._lock:
            for key in (url, "host:" + host):
                failed = self._failed.get(key)
                if failed is not None and now < failed[1]:
                    raise DocumentRefused(failed[0])

    def _remember_failed(self, url: str, host: str, exc: DocumentRefused, now: datetime) -> None:
        """The refusal is repeated for :data:`FAILED_SECONDS`, to the URL, and to the whole
        host when it did not answer (its other URLs would wait as long)."""
        until = now + timedelta(seconds=FAILED_SECONDS)
        with self._lock:
            for key in (url, "host:" + host) if isinstance(exc, DocumentUnreachable) else (url,):
                if len(self._failed) >= MAX_KEPT:
                    self._failed.pop(next(iter(self._failed)))
                self._failed[key] = (str(exc), until)

    def register(self, url: str, ip: str) -> Application:
        """At the authorization endpoint and PAR: the client's row, made or refreshed from
        the document (a blocked domain is refused here)."""
        metadata, _ = self.metadata(url, ip)
        try:
            return self.registration.register_metadata_document_client(metadata)
        except SigninError as exc:
            if exc.status >= 500:
                raise
            self.forget(url)
            raise DocumentRefused(exc.description) from None

    def check(self, url: str, ip: str) -> None:
        """At the token endpoint: the document is still usable (kept, or fetched again once
        its time is up). Nothing is written: what the row says matters at the authorization
        endpoint (name, redirect URIs), where the next sign-in refreshes it, and a client
        that never came through there has no row to find.

        A known client's document fetched again here counts against its URL
        (:data:`REFETCH_LIMIT`), not against the caller: hosted agents share addresses, and
        each of their refreshes would otherwise spend the address's registrations. A URL
        no client has is counted against the caller, as at the authorization endpoint."""
        with self._lock:
            kept = self._kept.get(url)
        if kept is not None and self.clock.now() < kept.until:
            return
        counted = (REFETCH_LIMIT, "document-url", url) if self._known(url) else None
        self.metadata(url, ip, counted=counted)

    def _known(self, url: str) -> bool:
        with self.registration.store.transaction() as tx:
            return lookup_client(tx, url, documents=True) is not None

    def forget(self, url: str) -> None:
        with self._lock:
            self._kept.pop(url, None)

"""The pure rules of Client ID Metadata Documents (``core/client_documents.py``): which URLs
may be a client id, which addresses may be fetched from, how long a document is kept, and
what a document must say about itself."""

from __future__ import annotations

import json

import pytest

from leadexec_signin.core.client_documents import (
    DEFAULT_CACHE,
    MAX_CACHE,
    MIN_CACHE,
    DocumentRefused,
    FetchedDocument,
    address_allowed,
    cache_seconds,
    check_client_id_url,
    read_document,
)

URL = "https://agent.example/oauth/client.json"


@pytest.mark.parametrize(
    ("address", "production", "development"),
    [
        ("93.184.216.34", True, True),
        ("2606:4700:4700::1111", True, True),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("10.1.2.3", False, False),
        ("172.31.255.255", False, False),
        ("192.168.0.10", False, False),
        ("169.254.169.254", False, False),
        ("100.64.1.1", False, False),
        ("0.0.0.0", False, False),  # noqa: S104 - refused, not bound
        ("224.0.0.251", False, False),
        ("240.0.0.1", False, False),
        ("255.255.255.255", False, False),
        ("::", False, False),
        ("fe80::1", False, False),
        ("fc00::5", False, False),
        ("ff02::1", False, False),
        ("::ffff:127.0.0.1", False, False),
        ("::ffff:10.0.0.1", False, False),
        ("64:ff9b::a00:1", False, False),
        ("2002:a00:1::1", False, False),
        ("not an address", False, False),
    ],
)
def test_which_addresses_a_document_may_come_from(address, production, development) -> None:
    assert address_allowed(address, development=False) is production
    assert address_allowed(address, development=True) is development


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("", DEFAULT_CACHE),
        ("public, max-age=7200", 7200),
        ("max-age=10", MIN_CACHE),
        ("max-age=99999999", MAX_CACHE),
        ("no-store", MIN_CACHE),
        ("s-maxage=5, max-age=900", 900),
    ],
)
def test_cache_control_is_respected_within_bounds(header: str, seconds: int) -> None:
    assert cache_seconds(header) == seconds


def test_http_on_localhost_is_a_client_id_only_in_development() -> None:
    dev = "http://localhost:8765/client.json"
    assert check_client_id_url(dev, development=True) == dev
    with pytest.raises(DocumentRefused, match="https"):
        check_client_id_url(dev, development=False)
    assert check_client_id_url(URL, development=False) == URL


def fetched(document: object) -> FetchedDocument:
    return FetchedDocument(json.dumps(document).encode())


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"client_id": URL + "x"}, "not the URL it was fetched from"),
        ({"client_id": URL.upper()}, "not the URL it was fetched from"),
        ({"client_name": "No id"}, "not the URL it was fetched from"),
        ({"client_id": URL, "client_secret": "s"}, "client_secret"),
        (["not", "an", "object"], "not a JSON object"),
    ],
    ids=["another-url", "case-differs", "no-client-id", "a-secret", "not-an-object"],
)
def test_a_document_must_name_its_own_url_and_hold_no_secret(document, reason: str) -> None:
    with pytest.raises(DocumentRefused, match=reason):
        read_document(URL, fetched(document))


def test_a_document_that_is_not_json_is_refused() -> None:
    with pytest.raises(DocumentRefused, match="not JSON"):
        read_document(URL, FetchedDocument(b"<html>"))

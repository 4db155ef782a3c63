"""The metadata-document fetcher over real sockets (``storage/client_documents.py``): a
document served over HTTPS on loopback is fetched, and every hostile answer is refused with
its reason: a redirect, an address the provider must not reach (checked after resolution,
before any connection), a 10 MB body (not read to its end), a slow drip (the one deadline),
a certificate nobody vouches for."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from leadexec_signin.core.client_documents import DocumentRefused, FetchedDocument
from leadexec_signin.storage.client_documents import HttpClientDocuments
from support.documents import (
    Answer,
    Authority,
    DocumentServer,
    json_answer,
    slow_drip,
    ten_megabytes,
)


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority()


@pytest.fixture(scope="module")
def server(authority: Authority) -> Iterator[DocumentServer]:
    served = DocumentServer(authority)
    yield served
    served.stop()


def fetcher(
    authority: Authority, *, development: bool = True, seconds: float = 2.5
) -> HttpClientDocuments:
    return HttpClientDocuments(
        development=development, ssl_context=authority.client_context(), seconds=seconds
    )


def test_a_document_on_loopback_is_fetched_in_development(authority, server) -> None:
    url = server.url("/agent.json")
    server.answers["/agent.json"] = json_answer(
        {"client_id": url}, **{"Cache-Control": "max-age=600"}
    )
    got = fetcher(authority).fetch(url)
    assert isinstance(got, FetchedDocument)
    assert got.body.startswith(b'{"client_id"') and got.cache_control == "max-age=600"


def test_a_redirect_is_refused_and_not_followed(authority, server) -> None:
    target = server.url("/elsewhere.json")
    server.answers["/moved.json"] = Answer(302, {"Location": target})
    server.answers["/elsewhere.json"] = json_answer({"client_id": target})
    with pytest.raises(DocumentRefused, match="redirects"):
        fetcher(authority).fetch(server.url("/moved.json"))
    assert "/elsewhere.json" not in server.requests


def test_loopback_is_refused_when_the_provider_is_not_on_loopback(authority, server) -> None:
    """``localhost`` resolves to 127.0.0.1: checked after resolution, nothing connects."""
    server.answers["/private.json"] = json_answer({"client_id": server.url("/private.json")})
    with pytest.raises(DocumentRefused, match="resolves to an address"):
        fetcher(authority, development=False).fetch(server.url("/private.json"))
    assert "/private.json" not in server.requests


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/agent.json",
        "https://172.16.5.4/agent.json",
        "https://192.168.1.1/agent.json",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/agent.json",
        "https://0.0.0.0/agent.json",
        "https://224.0.0.1/agent.json",
        "https://240.0.0.1/agent.json",
        "https://[fe80::1]/agent.json",
        "https://[fc00::1]/agent.json",
        "https://[::ffff:10.0.0.1]/agent.json",
        "https://[::ffff:127.0.0.1]/agent.json",
        "https://[64:ff9b::a00:1]/agent.json",
        "https://[::]/agent.json",
    ],
    ids=lambda u: u.split("/")[2],
)
def test_a_private_or_reserved_address_is_refused_even_in_development(authority, url) -> None:
    started = time.monotonic()
    with pytest.raises(DocumentRefused, match="resolves to an address"):
        fetcher(authority).fetch(url)
    assert time.monotonic() - started < 1  # refused before any connection was tried


def test_ten_megabytes_are_refused_without_reading_them(authority, server) -> None:
    server.answers["/huge.json"] = Answer(200, {"Content-Type": "application/json"}, ten_megabytes)
    with pytest.raises(DocumentRefused, match="larger than 5 KB"):
        fetcher(authority).fetch(server.url("/huge.json"))
    deadline = time.monotonic() + 5
    while "/huge.json" not in server.sent and time.monotonic() < deadline:
        time.sleep(0.02)
    # What the server managed to write before the provider hung up: socket buffers, not 10 MB.
    assert server.sent["/huge.json"] < 10 * 1024 * 1024 // 2


def test_a_declared_length_over_the_limit_is_refused_at_the_headers(authority, server) -> None:
    server.answers["/declared.json"] = Answer(200, {}, b" " * (6 * 1024))
    with pytest.raises(DocumentRefused, match="larger than 5 KB"):
        fetcher(authority).fetch(server.url("/declared.json"))


def test_a_slow_drip_is_cut_at_the_deadline(authority, server) -> None:
    server.answers["/slow.json"] = Answer(200, {}, slow_drip(every=0.15, count=30))
    started = time.monotonic()
    with pytest.raises(DocumentRefused, match="did not arrive within"):
        fetcher(authority, seconds=0.5).fetch(server.url("/slow.json"))
    assert time.monotonic() - started < 0.9


def test_an_untrusted_certificate_is_refused(server) -> None:
    server.answers["/agent2.json"] = json_answer({"client_id": server.url("/agent2.json")})
    with pytest.raises(DocumentRefused, match="could not be fetched"):
        HttpClientDocuments(development=True).fetch(server.url("/agent2.json"))


@pytest.mark.parametrize(
    ("url", "development"),
    [
        ("http://agent.example/client.json", True),
        ("http://localhost:9/client.json", False),
        ("https://agent.example/", True),
        ("https://agent.example/a/../client.json", True),
        ("https://agent.example/client.json?v=1", True),
        ("https://agent.example/client.json#x", True),
        ("https://user:pw@agent.example/client.json", True),
    ],
    ids=[
        "http-elsewhere",
        "http-localhost-in-production",
        "no-path",
        "dot-segment",
        "query",
        "fragment",
        "credentials",
    ],
)
def test_a_url_that_cannot_be_a_client_id_is_refused_before_any_lookup(url, development) -> None:
    with pytest.raises(DocumentRefused):
        HttpClientDocuments(development=development).fetch(url)


def test_plain_http_on_localhost_is_fetched_in_development() -> None:
    plain = DocumentServer()
    try:
        url = plain.url("/dev.json")
        plain.answers["/dev.json"] = json_answer({"client_id": url})
        assert HttpClientDocuments(development=True).fetch(url).body.startswith(b"{")
    finally:
        plain.stop()


def test_the_name_is_resolved_once_and_the_checked_address_is_connected_to(
    authority, server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No second lookup a rebinding DNS server could answer differently: ``localhost`` is
    resolved once, and the socket is opened to the address literal that was checked (TLS
    still verifies the certificate for the name)."""
    url = server.url("/once.json")
    server.answers["/once.json"] = json_answer({"client_id": url})
    real = socket.getaddrinfo
    asked: list[str] = []

    def counting(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    fetcher(authority).fetch(url)
    assert asked.count("localhost") == 1
    assert set(asked) <= {"localhost", "127.0.0.1", "::1"}  # the rest: literals, no lookup


def test_a_name_answering_a_public_and_a_private_address_is_refused(
    authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every answer is checked, not the first: a name that resolves to a public address and
    to 10.0.0.1 is refused before any connection."""

    def two_answers(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert host == "rebind.example"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(DocumentRefused, match="resolves to an address"):
        fetcher(authority, development=False).fetch("https://rebind.example/agent.json")

"""The SDK's files go over the wire compressed: brotli where the browser takes it, else gzip,
each with its own ETag, and small enough for a partner's page (under 6 KB gzipped together)."""

from __future__ import annotations

import gzip

import brotli
import pytest
from starlette.testclient import TestClient

from leadexec_signin.web.context import PACKAGE
from leadexec_signin.web.signin.popup import chosen_encoding

SDK = PACKAGE / "static" / "signin"


def raw(client: TestClient, name: str, accept: str) -> tuple[int, dict[str, str], bytes]:
    """The answer as sent, before any decoding by the client."""
    with client.stream("GET", f"/signin/{name}", headers={"Accept-Encoding": accept}) as r:
        body = b"".join(r.iter_raw())
        return r.status_code, dict(r.headers), body


@pytest.mark.parametrize("name", ["button.js", "button.css", "result.js"])
@pytest.mark.parametrize(
    ("accept", "coding"),
    [("br, gzip", "br"), ("gzip, deflate", "gzip"), ("", None), ("br;q=0, gzip", "gzip")],
    ids=["brotli first", "gzip", "no compression asked", "brotli refused with q=0"],
)
def test_each_file_comes_in_the_coding_the_browser_takes(client, name, accept, coding) -> None:
    status, headers, body = raw(client, name, accept)
    original = (SDK / name).read_bytes()
    assert status == 200 and "accept-encoding" in headers["vary"].lower()
    assert headers.get("content-encoding") == coding
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding](body)
    assert decoded == original
    if coding is not None:
        assert len(body) < len(original)


def test_each_coding_has_its_own_etag_and_revalidates(client) -> None:
    _, br_headers, _ = raw(client, "button.js", "br")
    _, gz_headers, _ = raw(client, "button.js", "gzip")
    assert br_headers["etag"] != gz_headers["etag"]
    r = client.get(
        "/signin/button.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": gz_headers["etag"]},
    )
    assert r.status_code == 304
    r = client.get(
        "/signin/button.js",
        headers={"Accept-Encoding": "br", "If-None-Match": gz_headers["etag"]},
    )
    assert r.status_code == 200  # another representation: sent in full


def test_the_sdk_is_under_six_kilobytes_gzipped(client) -> None:
    sizes = [len(raw(client, name, "gzip")[2]) for name in ("button.js", "button.css")]
    assert sum(sizes) < 6 * 1024, sizes


@pytest.mark.parametrize(
    ("accept", "coding"),
    [("*", "br"), ("identity", "identity"), ("GZIP", "gzip"), ("gzip;q=0, br;q=0", "identity")],
)
def test_accept_encoding_is_read_as_rfc_9110_says(accept: str, coding: str) -> None:
    assert chosen_encoding(accept) == coding

"""The metadata a client may register about itself (RFC 7591 section 2), its domain, and the
domains an operator blocks."""

from __future__ import annotations

import pytest

from leadexec_signin.core.errors import InvalidClientMetadata, InvalidRedirectUri, InvalidRequest
from leadexec_signin.core.self_registered import (
    check_client_metadata,
    check_domain,
    is_blocked,
    metadata_document_app_id,
)

ALLOWED = frozenset({"openid", "offline_access", "profile", "email"})


def check(**fields: object):
    return check_client_metadata({"redirect_uris": ["https://agent.example/cb"], **fields}, ALLOWED)


def test_a_registration_with_only_redirect_uris_gets_the_defaults() -> None:
    meta = check()
    assert meta.redirect_uris == ("https://agent.example/cb",)
    assert (meta.client_name, meta.domain) == ("agent.example", "agent.example")
    assert meta.scopes == ALLOWED and meta.data_scopes == {"profile", "email"}
    assert meta.scope == "openid offline_access profile email"
    assert meta.grant_types == ("authorization_code",)


def test_fields_we_do_not_use_are_ignored() -> None:
    meta = check(software_statement="eyJ...", contacts=["a@agent.example"], jwks={"keys": []})
    assert meta.client_name == "agent.example"


def test_loopback_redirect_uris_make_a_localhost_client() -> None:
    meta = check(
        redirect_uris=["http://127.0.0.1:33418/cb", "http://[::1]/cb", "http://localhost/"]
    )
    assert meta.domain == "localhost"


@pytest.mark.parametrize(
    "uris",
    [
        pytest.param(["http://agent.example/cb"], id="plain http off loopback"),
        pytest.param(["javascript:alert(1)"], id="a javascript URI"),
        pytest.param(["data:text/html,<script>alert(1)</script>"], id="a data URI"),
        pytest.param(["com.example.agent:/cb"], id="a private scheme nobody reviewed"),
        pytest.param(["https://agent.example/cb#frag"], id="a fragment"),
        pytest.param(["https://*.agent.example/cb"], id="a wildcard"),
        pytest.param(["https://a.example/cb", "https://b.example/cb"], id="two domains"),
        pytest.param([], id="none at all"),
        pytest.param([f"https://a.example/{i}" for i in range(21)], id="more than twenty"),
    ],
)  # fmt: skip
def test_a_redirect_uri_a_self_registered_client_may_not_have_is_refused(uris: list) -> None:
    with pytest.raises(InvalidRedirectUri):
        check(redirect_uris=uris)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        pytest.param({"scope": "openid settings"}, "not settings",
                     id="a scope the operator did not allow"),
        pytest.param({"scope": "openid admin"}, "not admin", id="an unknown scope"),
        pytest.param({"token_endpoint_auth_method": "client_secret_basic"}, "public",
                     id="a confidential client"),
        pytest.param({"grant_types": ["client_credentials"]}, "grant_types",
                     id="another grant type"),
        pytest.param({"grant_types": ["refresh_token"]}, "grant_types", id="no authorization code"),
        pytest.param({"response_types": ["token"]}, "response_types", id="the implicit flow"),
        pytest.param({"logo_uri": "javascript:alert(1)"}, "logo_uri", id="a javascript logo"),
        pytest.param({"logo_uri": "data:image/png;base64,AAAA"}, "logo_uri", id="a data logo"),
        pytest.param({"client_uri": "http://agent.example"}, "client_uri", id="an http homepage"),
        pytest.param({"client_name": "x" * 81}, "name", id="a name too long"),
        pytest.param({"client_name": 5}, "client_name", id="a name that is not text"),
        pytest.param({"redirect_uris": "https://agent.example/cb"}, "array",
                     id="a string, not a list"),
    ],
)  # fmt: skip
def test_metadata_we_refuse_is_invalid_client_metadata(fields: dict, words: str) -> None:
    with pytest.raises(InvalidClientMetadata, match=words):
        check(**fields)


def test_metadata_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidClientMetadata):
        check_client_metadata(["redirect_uris"], ALLOWED)


def test_a_metadata_documents_domain_is_its_urls() -> None:
    url = "https://agent.example/client.json"
    meta = check_client_metadata({"redirect_uris": ["http://127.0.0.1/cb"]}, ALLOWED, client_id=url)
    assert (meta.domain, meta.client_id) == ("agent.example", url)
    app_id = metadata_document_app_id(url)
    assert app_id == metadata_document_app_id(url) != metadata_document_app_id(url + "?")
    assert app_id.startswith("app_md_") and len(app_id) <= 80


def test_a_blocked_domain_covers_its_subdomains_only() -> None:
    blocked = {"agent.example"}
    assert is_blocked("agent.example", blocked)
    assert is_blocked("eu.agent.example", blocked)
    assert not is_blocked("badagent.example", blocked)
    assert not is_blocked("example", blocked)


@pytest.mark.parametrize(
    ("raw", "domain"),
    [("Agent.Example", "agent.example"), ("https://agent.example/x", "agent.example"),
     ("http://127.0.0.1:5000", "localhost"), ("localhost", "localhost")],
)  # fmt: skip
def test_a_domain_to_block_is_read_as_a_host(raw: str, domain: str) -> None:
    assert check_domain(raw) == domain


@pytest.mark.parametrize("raw", ["", "agent example", "a..example", "ünï.example", "x" * 300])
def test_something_that_is_not_a_domain_is_refused(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        check_domain(raw)

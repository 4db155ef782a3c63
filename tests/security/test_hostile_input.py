"""Hostile input that once reached the database or the parser raw: every case is a clear 4xx
in the surface's shape, on SQLite and on PostgreSQL (which cannot store a NUL byte and turned
each of these into a 500 before the fixes listed in docs/security.md)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from conftest import database_url as database_url  # every backend: NUL bytes hit PostgreSQL
from leadexec_signin.core.errors import InvalidRequest
from support.refusals import refused_page, refused_seed
from support.signin import PARTNER, csrf_of, sign_in


@pytest.mark.parametrize(
    "btn_id",
    ["btn_%00abcdefghijklmnop", "%00", "btn_abcdefghijklmnop%0A", "btn_" + "a" * 70],
    ids=["a NUL inside", "only a NUL", "a trailing newline", "an over-long id"],
)
def test_button_config_with_a_malformed_id_is_invalid_button(client: TestClient, btn_id) -> None:
    r = client.get(f"/signin/buttons/{btn_id}")
    assert r.status_code == 404
    assert r.json() == {
        "valid": False,
        "error": "invalid_button",
        "errorMessage": "This sign-in button is not registered.",
    }


@pytest.mark.parametrize(
    "email",
    ["ann\x00@example.com", "ann@exa\x00mple.com", "ann@example.com\x00", "ann@exam\nple.com"],
    ids=["a NUL in the local part", "a NUL in the domain", "a trailing NUL", "a newline inside"],
)
def test_sign_in_with_control_characters_in_the_email_is_refused(
    client: TestClient, world, email: str
) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert "The email or password is not correct." in r.text
    assert "le_session" not in client.cookies


@pytest.mark.parametrize(
    "grant_id",
    ["grt_%00", "grt_abcdefghijklmnop%00", "%00", "grt_" + "a" * 80],
    ids=["a NUL after the prefix", "a NUL at the end", "only a NUL", "an over-long id"],
)
def test_remove_access_with_a_malformed_grant_id_is_not_found(
    client: TestClient, world, grant_id: str
) -> None:
    sign_in(client)
    html = client.get("/account/apps").text
    r = client.post(f"/account/apps/{grant_id}/remove", data={"csrf": csrf_of(html)})
    refused_page(r, 404, "not_found")


@pytest.mark.parametrize("path", ["/api/token", "/api/revoke"])
@pytest.mark.parametrize(
    "body",
    [b"[" * 60_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000],
    ids=["60,000 nested arrays", "10,000 nested objects"],
)
def test_deeply_nested_json_is_invalid_request(client: TestClient, path: str, body: bytes) -> None:
    r = client.post(path, content=body, headers={"Content-Type": "application/json"})
    refused_seed(r, 400, "invalid_request")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Acme\x00CRM"),
        ("name", "Acme\x1b[31mCRM"),
        ("logo_url", "https://cdn.example.com/\x00.png"),
        ("homepage_url", "https://[::1"),
        ("privacy_url", "https://example.com/\x7fprivacy"),
    ],
    ids=[
        "a NUL in the name",
        "a terminal escape in the name",
        "a NUL in the logo URL",
        "a broken IPv6 homepage",
        "a DEL in the privacy URL",
    ],
)
def test_registration_refuses_control_characters_and_broken_urls(
    world, field: str, value: str
) -> None:
    fields: dict[str, object] = {"name": "Acme", "origins": [PARTNER], "scopes": "profile"}
    with pytest.raises(InvalidRequest) as refused:
        world.services.registry.register(**{**fields, field: value})
    assert refused.value.status == 400 and refused.value.code == "invalid_request"


@pytest.fixture
def operator(client: TestClient, world):
    """Ann the partner is also an operator here, and owns an application of her own."""
    world.services.accounts.create_user(
        email="op@example.com", name="Op", password="correct horse battery", operator=True
    )
    sign_in(client, "op@example.com")
    html = client.get("/developers").text
    return csrf_of(html)


@pytest.mark.parametrize(
    "app_id",
    ["%00", "app_%00" + "a" * 22, "app_" + "a" * 22 + "%0A"],
    ids=["only a NUL", "a NUL after the prefix", "a trailing newline"],
)
def test_console_and_operator_pages_with_a_malformed_app_id_are_not_found(
    client: TestClient, operator: str, app_id: str
) -> None:
    refused_page(client.get(f"/developers/apps/{app_id}"), 404, "not_found")
    r = client.post(f"/admin/apps/{app_id}/status", data={"csrf": operator, "action": "approve"})
    refused_page(r, 404, "not_found")
    r = client.post(f"/developers/apps/{app_id}/secret", data={"csrf": operator})
    refused_page(r, 404, "not_found")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Acme\x00CRM", "cannot contain control characters"),
        ("logo", "https://cdn.example.com/\x00.png", "must be an http(s) URL"),
        ("origins", "http://127.0.0.1:9000\x00", "Not a valid origin"),
    ],
    ids=["a NUL in the name", "a NUL in the logo URL", "a NUL after the origin"],
)
def test_console_registration_with_a_nul_is_a_400_page(
    client: TestClient, world, operator: str, field: str, value: str, message: str
) -> None:
    data = {"csrf": operator, "name": "Acme", "origins": PARTNER, "scopes": ["profile"]}
    r = client.post("/developers/apps", data={**data, field: value})
    assert r.status_code == 400 and message in r.text
    assert [a.name for a in world.services.registry.list_apps()] == ["Acme CRM"]


def test_console_button_text_with_a_nul_is_a_400_page(
    client: TestClient, world, operator: str
) -> None:
    owner = world.services.sessions.user(client.cookies["le_session"])
    app, _ = world.services.registry.register(
        name="Mine", origins=[PARTNER], scopes="profile", owner_id=owner.id
    )
    r = client.post(
        f"/developers/apps/{app.id}/buttons",
        data={"csrf": operator, "scopes": ["profile"], "text": "Sign\x00in"},
    )
    assert r.status_code == 400 and "cannot contain control characters" in r.text


def test_storage_turns_a_value_it_cannot_hold_into_a_400(world, settings) -> None:
    """The last line of defence if a new field forgets its own check: PostgreSQL refuses NUL
    in text (psycopg DataError), which storage reports as the client's mistake."""
    try:
        with world.services.storage.transaction() as tx:
            found = tx.user_by_email("ann\x00@example.com")
    except InvalidRequest as refused:
        assert settings.database_url.startswith("postgresql")
        assert refused.status == 400 and refused.code == "invalid_request"
    else:
        assert settings.database_url.startswith("sqlite") and found is None

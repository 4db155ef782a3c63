"""The admin REST API over HTTP: every operation in the OpenAPI document, each exercised with
a token that has its scope and refused to one without; tokens shown once, hashed, revocable,
last use recorded; every call audited with the token as actor; bad input in one JSON shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.compose import Services, build
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.people import query_of
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from leadexec_signin.web.app import OPENAPI, create_app
from support.people import notice_bodies
from support.signin import ISSUER, PARTNER, PASSWORD, authorize, sign_in

B = "/admin/api/v1"
ALL = "users:read,users:write,apps:read,apps:write,audit:read"


@pytest.fixture
def api(settings: Settings, clock: FrozenClock) -> Iterator[tuple[TestClient, Services]]:
    services = build(settings.with_changes(dev_outbox=True), clock)
    services.accounts.create_user(email="op@example.com", name="Op", password=PASSWORD,
                                  operator=True)  # fmt: skip
    with TestClient(create_app(services), base_url=ISSUER) as client:
        yield client, services
    services.close()


def token(services: Services, scopes: str, expires: str = "90d") -> dict[str, str]:
    raw, _ = services.admin_api.create(name="t", scopes=scopes, expires=expires, actor="cli")
    return {"Authorization": f"Bearer {raw}"}


def check(doc: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer is one the document describes, and matches its schema."""
    spec = doc["paths"][path][method]["responses"][str(response.status_code)]
    if response.status_code == 204:
        return
    schema = spec["content"]["application/json"]["schema"]
    Draft202012Validator({**doc, **schema}).validate(response.json())


def test_every_operation_works_with_its_scope_and_is_refused_without(api) -> None:
    client, services = api
    doc = json.loads(OPENAPI.read_text())
    full, none = token(services, ALL), token(services, "scim")
    ann = services.accounts.create_user(email="ann@example.com", name="Ann", password=PASSWORD)
    app, _ = services.registry.register(name="Acme", origins=[PARTNER], scopes="profile,email")
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile")
    sign_in(client, "ann@example.com")
    authorize(client, button.id)
    grant = services.people.detail(ann.id).grants[0].grant.id
    calls = [
        ("get", "/users", {"params": {"q": "ann", "filter": "operator"}}),
        ("get", "/users", {"params": {"limit": "1"}}),
        ("post", "/users", {"json": {"email": "new@example.com", "name": "New",
                                     "timezone": "Europe/Paris", "sendPasswordReset": True}}),
        ("get", f"/users/{ann.id}", {}),
        ("patch", f"/users/{ann.id}", {"json": {"company": "Acme", "plan": "Pro"}}),
        ("get", "/grants", {"params": {"userId": ann.id}}),
        ("delete", f"/grants/{grant}", {}),
        ("post", f"/users/{ann.id}/disable", {}),
        ("post", f"/users/{ann.id}/enable", {}),
        ("get", "/applications", {}),
        ("get", f"/applications/{app.id}", {}),
        ("post", f"/applications/{app.id}/suspend", {}),
        ("post", f"/applications/{app.id}/reinstate", {}),
        ("post", f"/applications/{app.id}/approve", {}),
        ("get", "/audit", {"params": {"kind": "user.disabled"}}),
        ("delete", f"/users/{ann.id}", {}),
    ]  # fmt: skip
    documented = {
        (m, p.removeprefix(B)) for p, ops in doc["paths"].items() if p.startswith(B) for m in ops
    }
    seen = set()
    for method, path, kwargs in calls:
        template = next(
            t for m, t in documented
            if m == method and len(t.split("/")) == len(path.split("/"))
            and all(a == b or a.startswith("{")
                    for a, b in zip(t.split("/"), path.split("/"), strict=True))
        )  # fmt: skip
        seen.add((method, template))
        refused = client.request(method, B + path, headers=none, **kwargs)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"] == "insufficient_scope"
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
        check(doc, B + template, method, refused)
        r = client.request(method, B + path, headers=full, **kwargs)
        assert r.status_code in (200, 201, 204), (method, path, r.text)
        check(doc, B + template, method, r)
    assert seen == documented  # every documented operation was exercised
    # The partner of the revoked grant was told; the new user got a reset link.
    assert services.outbox is not None
    assert any(s.message.to == "new@example.com" for s in services.outbox.messages())


def test_a_write_scope_includes_its_read_and_nothing_else(api) -> None:
    client, services = api
    writer = token(services, "users:write")
    assert client.get(B + "/users", headers=writer).status_code == 200
    assert client.get(B + "/applications", headers=writer).status_code == 403
    assert client.get(B + "/audit", headers=writer).status_code == 403


def test_tokens_are_hashed_revocable_expire_and_record_their_last_use(api, clock) -> None:
    client, services = api
    raw, made = services.admin_api.create(name="sync", scopes="users:read", expires="1h",
                                          actor="cli")  # fmt: skip
    with services.storage.engine.connect() as c:
        row = c.execute(select(tables.admin_tokens)).one()
    assert raw not in json.dumps(dict(row._mapping), default=str)  # only its hash is kept
    bearer = {"Authorization": f"Bearer {raw}"}
    assert client.get(B + "/users", headers=bearer).status_code == 200
    assert services.admin_api.tokens()[0].last_used_at == clock.now()
    found = client.get(B + "/audit", headers=token(services, "audit:read"),
                       params={"kind": "admin_api.call"}).json()["events"]  # fmt: skip
    assert {(e["actor"], e["subject"], e["detail"]["status"]) for e in found} >= {
        (made.id, B + "/users", 200)}  # fmt: skip
    clock.advance(hours=2)
    expired = client.get(B + "/users", headers=bearer)
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    other, live = services.admin_api.create(name="x", scopes="users:read", expires="never",
                                            actor="cli")  # fmt: skip
    services.admin_api.revoke(live.id, actor="cli")
    assert client.get(B + "/users", headers={"Authorization": f"Bearer {other}"}).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"},
     {"Authorization": "Bearer lxa_" + "a" * 43}, {"Authorization": "Bearer lxa_" + "a" * 900},
     {"Authorization": "Bearer lea_" + "a" * 43}],
    ids=["no token", "an empty bearer", "basic", "an unknown token", "an over-long token",
         "a partner's access token"],
)  # fmt: skip
def test_a_missing_or_wrong_token_is_a_401(api, headers) -> None:
    client, _services = api
    r = client.get(B + "/users", headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/users", {"content": b"{not json", "headers": {}}, 400),
        ("post", "/users", {"json": [1, 2]}, 400),
        ("post", "/users", {"json": {"email": "a@b.co"}}, 400),
        ("post", "/users", {"json": {"email": "a@b.co", "name": "A", "admin": True}}, 400),
        ("post", "/users", {"json": {"email": "not-an-email", "name": "A"}}, 400),
        ("post", "/users", {"json": {"email": "a@b.co", "name": "A", "operator": "yes"}}, 400),
        ("post", "/users", {"json": {"email": "a@b.co", "name": "x" * 121}}, 400),
        ("post", "/users", {"json": {"email": "a@b.co", "name": "A", "timezone": "Nowhere"}}, 400),
        ("post", "/users", {"json": {"email": "a@b.co", "name": "A\u0000"}}, 400),
        ("post", "/users", {"content": b'{"a":' * 5000 + b"1" + b"}" * 5000}, 400),
        ("post", "/users", {"content": b'{"name": "' + b"x" * 70_000 + b'"}'}, 413),
        ("post", "/users", {"json": {"email": "op@example.com", "name": "Dup"}}, 409),
        ("patch", "/users/usr_nobody", {"json": {"name": "A"}}, 404),
        ("get", "/users/usr_x%00y", {}, 404),
        ("get", "/users", {"params": {"filter": "rich"}}, 400),
        ("get", "/users", {"params": {"limit": "0"}}, 400),
        ("get", "/users", {"params": {"limit": "x"}}, 400),
        ("get", "/users", {"params": {"q": "\x00"}}, 400),
        ("get", "/grants", {}, 400),
        ("delete", "/grants/grt_nope", {}, 404),
        ("get", "/applications/app_nope", {}, 404),
        ("post", "/applications/app_nope/explode", {}, 404),
        ("get", "/audit", {"params": {"since": "yesterday"}}, 400),
        ("get", "/audit", {"params": {"colour": "red"}}, 400),
        ("put", "/users", {}, 405),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
def test_bad_input_is_a_clear_4xx_in_one_json_shape(api, method, path, kwargs, status) -> None:
    client, services = api
    headers = {**token(services, ALL), **kwargs.pop("headers", {})}
    before = services.people.search(query_of()).users
    r = client.request(method, B + path, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error", "error_description"}
    after = services.people.search(query_of()).users
    assert after == before  # nothing half-written


def test_an_update_is_all_or_nothing_and_never_locks_everyone_out(api) -> None:
    client, services = api
    headers = token(services, ALL)
    op = services.people.by_email("op@example.com")
    r = client.patch(f"{B}/users/{op.id}", headers=headers,
                     json={"name": "Renamed", "disabled": True})  # fmt: skip
    assert r.status_code == 409 and "last operator" in r.json()["error_description"]
    r = client.patch(f"{B}/users/{op.id}", headers=headers,
                     json={"name": "Renamed", "timezone": "Mars/Base"})  # fmt: skip
    assert r.status_code == 400
    assert services.people.find(op.id).name == "Op"  # neither half was written


def test_disabling_over_the_api_ends_the_partner_tokens(api) -> None:
    client, services = api
    ann = services.accounts.create_user(email="ann@example.com", name="Ann", password=PASSWORD)
    app, _ = services.registry.register(name="Acme", origins=[PARTNER], scopes="profile",
                                        notice_url="https://crm.example.com/n")  # fmt: skip
    services.operator.set_app_status(app.id, "approved")
    sign_in(client, "ann@example.com")
    tokens = authorize(client, services.registry.create_button(app_id=app.id,
                                                               scopes="profile").id)  # fmt: skip
    r = client.patch(f"{B}/users/{ann.id}", headers=token(services, "users:write"),
                     json={"disabled": True})  # fmt: skip
    assert r.status_code == 200 and r.json()["disabled"] is True
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['authToken']}"})
    assert me.status_code == 401
    assert [n["via"] for n in notice_bodies(services, app.id)] == ["account_disabled"]


def test_each_token_is_rate_limited(settings, clock) -> None:
    services = build(settings.with_changes(admin_api_limit_per_token="3/minute"), clock)
    with TestClient(create_app(services), base_url=ISSUER) as client:
        headers = token(services, "users:read")
        codes = [client.get(B + "/users", headers=headers).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get(B + "/users", headers=headers)
        assert limited.json()["error"] == "rate_limited" and limited.headers["retry-after"]
        assert client.get(B + "/users", headers=token(services, "users:read")).status_code == 200
    services.close()

"""The OpenAPI document served at /openapi.json matches the real responses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.web.app import OPENAPI, create_app
from support.signin import ISSUER, authorize, sign_in
from web.oauth_flow import Pkce, auth_params, register, tokens


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(OPENAPI.read_text())


def check(doc: dict[str, Any], path: str, method: str, response) -> None:
    operation = doc["paths"][path][method]
    spec = operation["responses"][str(response.status_code)]
    content = spec["content"]
    kind = response.headers["content-type"].split(";")[0]
    assert kind in content, f"{method} {path} {response.status_code}: undocumented {kind}"
    if kind != "application/json":
        return
    root = {**doc, **content[kind]["schema"]}
    Draft202012Validator(root).validate(response.json())


def test_the_document_is_served(client: TestClient, doc) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200 and r.json() == doc
    assert doc["openapi"].startswith("3.1")


def test_real_responses_match_the_document(client: TestClient, world, doc) -> None:
    sign_in(client)
    # Tokens carry every scope the grant holds, so the narrow one is issued first.
    narrow = authorize(client, world.btn_id)
    wide = authorize(client, world.button("profile,email,account,settings"))
    good = {"appId": world.app_id, "refreshToken": wide["refreshToken"]}
    bearer = {"Authorization": f"Bearer {wide['authToken']}"}
    narrow_bearer = {"Authorization": f"Bearer {narrow['authToken']}"}
    cases = [
        ("/api/token", "get", client.get("/api/token", params=good)),
        ("/api/token", "post", client.post("/api/token", json=good)),
        ("/api/token", "get", client.get("/api/token")),
        ("/api/token", "get", client.get("/api/token", params={**good, "appId": "x"})),
        ("/api/token", "post", client.post("/api/token", data={**good, "refreshToken": "ler_no"})),
        ("/api/token", "post", client.post("/api/token", json={"appId": "x" * 70_000})),
        ("/api/v1/me", "get", client.get("/api/v1/me", headers=bearer)),
        ("/api/v1/me", "get", client.get("/api/v1/me")),
        ("/api/v1/settings", "get", client.get("/api/v1/settings", headers=bearer)),
        ("/api/v1/settings", "get", client.get("/api/v1/settings", headers=narrow_bearer)),
        ("/signin/buttons/{btnId}", "get", client.get(f"/signin/buttons/{world.btn_id}")),
        ("/signin/buttons/{btnId}", "get", client.get("/signin/buttons/btn_nope")),
        ("/healthz", "get", client.get("/healthz")),
        ("/readyz", "get", client.get("/readyz")),
        ("/api/revoke", "get", client.get("/api/revoke", params={"token": "ler_nope"})),
        ("/api/revoke", "get", client.get("/api/revoke", params={"token": "x", "callback": "a;"})),
        ("/api/revoke", "get", client.get("/api/revoke", params={"token": "x", "callback": "cb"})),
        ("/api/revoke", "post", client.post("/api/revoke", data={"token": narrow["refreshToken"]})),
    ]
    statuses = set()
    for path, method, response in cases:
        check(doc, path, method, response)
        statuses.add((path, response.status_code))
    assert ("/api/token", 200) in statuses and ("/api/token", 401) in statuses
    assert ("/api/v1/settings", 403) in statuses and ("/api/revoke", 200) in statuses


def test_the_standard_surfaces_answers_match_the_document(client: TestClient, world, doc) -> None:
    """Discovery, a pushed authorization request (answered, refused) and UserInfo."""
    c = register(world.services)
    pushed = auth_params(c, Pkce())
    del pushed["client_id"]
    cases = [
        ("/.well-known/openid-configuration", "get",
         client.get("/.well-known/openid-configuration")),
        ("/oauth2/par", "post", client.post("/oauth2/par", data=pushed, auth=c.auth)),
        ("/oauth2/par", "post", client.post("/oauth2/par", data={**pushed, "scope": "x"},
                                             auth=c.auth)),
        ("/oauth2/par", "post", client.post("/oauth2/par", data=pushed)),
    ]  # fmt: skip
    sign_in(client)
    answer = tokens(client, c, "openid profile email account settings")
    bearer = {"Authorization": f"Bearer {answer['access_token']}"}
    cases.append(("/oauth2/userinfo", "get", client.get("/oauth2/userinfo", headers=bearer)))
    for path, method, response in cases:
        check(doc, path, method, response)
    assert [r.status_code for _, _, r in cases] == [200, 201, 400, 401, 200]


def test_dynamic_registrations_answers_match_the_document(settings, clock, doc) -> None:
    """RFC 7591 and 7592 (open only here): registered, refused, read, replaced, deleted, and
    the 404 of a server where registration is closed."""
    agent = {"client_name": "Agent", "redirect_uris": ["http://127.0.0.1:9/cb"]}
    opened = build(settings.with_changes(client_registration="open"), clock)
    shut = build(settings, clock)
    try:
        with (
            TestClient(create_app(opened), base_url=ISSUER) as client_for,
            TestClient(create_app(shut), base_url=ISSUER) as closed,
        ):
            made = client_for.post("/oauth2/register", json=agent)
            body = made.json()
            uri = body["registration_client_uri"].removeprefix(ISSUER)
            auth = {"Authorization": f"Bearer {body['registration_access_token']}"}
            replaced = {**agent, "client_id": body["client_id"], "client_name": "Agent 2"}
            cases = [
                ("/oauth2/register", "post", made),
                ("/oauth2/register", "post",
                 client_for.post("/oauth2/register", json={"redirect_uris": ["http://x.example"]})),
                ("/oauth2/register", "post", client_for.post("/oauth2/register", json=[1])),
                ("/oauth2/register", "post", closed.post("/oauth2/register", json=agent)),
                ("/oauth2/register/{client_id}", "get", client_for.get(uri, headers=auth)),
                ("/oauth2/register/{client_id}", "get", client_for.get(uri)),
                ("/oauth2/register/{client_id}", "put",
                 client_for.put(uri, json=replaced, headers=auth)),
                ("/oauth2/register/{client_id}", "delete", client_for.delete(uri, headers=auth)),
                ("/.well-known/openid-configuration", "get",
                 client_for.get("/.well-known/openid-configuration")),
            ]  # fmt: skip
            for path, method, response in cases:
                if response.status_code != 204:
                    check(doc, path, method, response)
            assert [r.status_code for _, _, r in cases] == [
                201, 400, 400, 404, 200, 401, 200, 204, 200
            ]  # fmt: skip
    finally:
        opened.close()
        shut.close()

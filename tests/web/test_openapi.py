"""The OpenAPI document served at /openapi.json matches the real responses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from leadexec_signin.web.app import OPENAPI
from support.signin import authorize, sign_in
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

"""``LEADEXEC_LOG_FORMAT=json`` over a real ``serve``: every line is one JSON object with the
fields a log shipper indexes, a use case's line carries the id of the request it served, and
no token or password is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from production.nodes import node_env
from support.signin import csrf_of

# Real server processes: the cluster tier (tests/support/tiers.py).
pytestmark = pytest.mark.cluster

PASSWORD = "a json log never holds this"
WRONG = "nor this wrong guess"
TOKEN_SHAPED = re.compile(r"\b(?:ler|lea|lec|les|lesk)_[A-Za-z0-9_-]{20,}")


def test_every_line_is_a_json_object_without_secrets(
    database_url: str, tmp_path: Path, start_node, make_seed
) -> None:
    seeded = make_seed(database_url)
    refresh, access = seeded.grant()
    seeded.services.accounts.create_user(email="json@example.com", name="Json", password=PASSWORD)
    env = node_env(database_url, tmp_path, LEADEXEC_LOG_FORMAT="json", LEADEXEC_LOG_LEVEL="INFO")
    node = start_node("json", env, workers=1)
    with node.client() as c:
        for password in (WRONG, PASSWORD):
            page = c.get("/account/login")
            c.post(
                "/account/login",
                data={
                    "csrf": csrf_of(page.text),
                    "email": "json@example.com",
                    "password": password,
                },
            )
        assert c.get("/api/token", params={"appId": seeded.app_id, "refreshToken": refresh})
        c.get("/api/token", params={"appId": seeded.app_id, "refreshToken": "ler_" + "y" * 43})
        c.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
        c.get(f"/nowhere/{access}", params={"access_token": access})
        c.get("/api/revoke", params={"token": refresh})
    node.stop()

    lines = [line for line in node.log().splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]  # every line parses, or this raises
    assert all({"time", "level", "logger", "message"} <= o.keys() for o in objects)
    access_lines = [o for o in objects if o["logger"] == "leadexec_signin.access"]
    exchange = next(o for o in access_lines if o["route"] == "/api/token" and o["status"] == 200)
    assert exchange["method"] == "GET" and isinstance(exchange["duration_ms"], float)
    assert exchange["request_id"] and "[redacted]" in exchange["path"]
    assert any(o["route"] == "unmatched" and o["status"] == 404 for o in access_lines)
    # A use case's own line is tied to its request by the id.
    ids = {o["request_id"] for o in access_lines}
    inner = [o for o in objects if o["logger"] != "leadexec_signin.access" and "request_id" in o]
    assert inner and {o["request_id"] for o in inner} <= ids
    text = "\n".join(lines)
    for secret in (PASSWORD, WRONG, refresh, access):
        assert secret not in text
    assert not TOKEN_SHAPED.search(text), TOKEN_SHAPED.search(text)

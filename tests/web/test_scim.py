"""SCIM 2.0 at /scim/v2 over real HTTP: scim2-tester's whole run (its summary is printed and
kept under artifacts/), then what it does not try: userName filters with paging, PATCH on an
immutable attribute, unknown attributes, bad filters, too few scopes, and active: false
disabling exactly as an operator does."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from leadexec_signin.compose import Services, build
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from support.live import ROOT, LiveServer
from support.people import notice_bodies
from support.signin import PARTNER, PASSWORD, authorize, sign_in

MEDIA = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def live(settings: Settings, clock: FrozenClock) -> Iterator[tuple[str, Services]]:
    server = LiveServer()
    services = build(settings.with_changes(issuer=server.url), clock)
    services.prepare()
    server.start(create_app(services))
    yield server.url + "/scim/v2", services
    server.stop()
    services.close()


def bearer(services: Services, scopes: str = "scim") -> dict[str, str]:
    raw, _ = services.admin_api.create(name="directory", scopes=scopes, expires="1h",
                                       actor="cli")  # fmt: skip
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.slow  # scim2-tester's ~150 requests: about 3 s
def test_scim2_tester_passes_every_check(live) -> None:
    base, services = live
    with httpx2.Client(base_url=base, headers=bearer(services)) as http:
        results = check_server(SyncSCIMClient(http))
    lines = [f"{r.status.name:8} {r.title}: {r.reason or ''}".rstrip() for r in results]
    summary = "\n".join(lines)
    report = ROOT / "artifacts" / "scim2-tester.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(summary + "\n")
    print(summary)
    failed = [line for r, line in zip(results, lines, strict=True)
              if r.status not in (Status.SUCCESS, Status.SKIPPED)]  # fmt: skip
    assert results and not failed, summary


def scim_user(user_name: str, email: str, **more: object) -> dict[str, object]:
    return {"schemas": [USER], "userName": user_name, "emails": [{"value": email,
            "primary": True}], **more}  # fmt: skip


def test_filter_paging_patch_and_the_refusals_in_rfc_7644_shape(live) -> None:
    base, services = live
    with httpx.Client(base_url=base, headers=bearer(services)) as http:
        for i in range(3):
            r = http.post("/Users", json=scim_user(f"jdoe{i}", f"j{i}@example.com",
                                                   externalId=f"ext-{i}"))  # fmt: skip
            assert r.status_code == 201 and r.headers["content-type"].startswith(MEDIA)
            assert r.headers["location"].endswith(r.json()["id"])
        found = http.get("/Users", params={"filter": 'userName eq "JDOE1"'}).json()
        assert found["totalResults"] == 1 and found["Resources"][0]["externalId"] == "ext-1"
        page = http.get("/Users", params={"startIndex": "2", "count": "1"}).json()
        assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
        assert page["Resources"][0]["userName"] == "jdoe1"
        user_id = found["Resources"][0]["id"]

        def refused(r: httpx.Response, status: int, scim_type: str | None) -> None:
            assert r.status_code == status, r.text
            body = r.json()
            assert body["schemas"] == [ERROR] and body["status"] == str(status)
            assert body.get("scimType") == scim_type and body["detail"]

        patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "id",
                                                     "value": "usr_other"}]}  # fmt: skip
        refused(http.patch(f"/Users/{user_id}", json=patch), 400, "mutability")
        patch["Operations"] = [{"op": "replace", "path": "nickName", "value": "x"}]
        refused(http.patch(f"/Users/{user_id}", json=patch), 400, "invalidPath")
        refused(http.post("/Users", json=scim_user("x", "x@example.com", shoeSize=42)), 400,
                "invalidValue")  # fmt: skip
        refused(http.get("/Users", params={"filter": "userName eq"}), 400, "invalidFilter")
        refused(http.get("/Users", params={"filter": 'title eq "x"'}), 400, "invalidFilter")
        refused(http.post("/Users", json=scim_user("jdoe0", "new@example.com")), 409,
                "uniqueness")  # fmt: skip
        refused(http.post("/Users", content=b"{oops"), 400, "invalidSyntax")
        refused(http.post("/Users", content=b'{"a": "' + b"x" * 70_000 + b'"}'), 413, None)
        refused(http.get("/Users/usr_nobody"), 404, None)
        refused(http.get("/Users", params={"count": "x"}), 400, "invalidValue")
        assert services.people.find(user_id).scim_user_name == "jdoe1"  # nothing half-written
        ok = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {
              "displayName": "Jane Doe", "name": {"givenName": "Jane"}}}]}  # fmt: skip
        r = http.patch(f"/Users/{user_id}", json=ok)
        assert r.status_code == 200 and r.json()["name"] == {"givenName": "Jane"}
        assert services.people.find(user_id).name == "Jane Doe"
    with httpx.Client(base_url=base, headers=bearer(services, "users:read")) as http:
        refused(http.get("/Users"), 403, None)
    with httpx.Client(base_url=base) as http:
        r = http.get("/Users")
        refused(r, 401, None)
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_active_false_disables_exactly_as_an_operator_does(live) -> None:
    base, services = live
    services.accounts.create_user(email="ann@example.com", name="Ann", password=PASSWORD)
    app, _ = services.registry.register(name="Acme", origins=[PARTNER], scopes="profile",
                                        notice_url="https://crm.example.com/n")  # fmt: skip
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile")
    with httpx.Client(base_url=base.removesuffix("/scim/v2")) as browser:
        sign_in(browser)  # type: ignore[arg-type]
        tokens = authorize(browser, button.id)  # type: ignore[arg-type]
        me = {"Authorization": f"Bearer {tokens['authToken']}"}
        assert browser.get("/api/v1/me", headers=me).status_code == 200
        with httpx.Client(base_url=base, headers=bearer(services)) as http:
            found = http.get("/Users", params={"filter": 'userName eq "ann@example.com"'})
            [resource] = found.json()["Resources"]
            assert resource["active"] is True
            patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active",
                                                         "value": False}]}  # fmt: skip
            r = http.patch(f"/Users/{resource['id']}", json=patch)
            assert r.status_code == 200 and r.json()["active"] is False
        # As an operator's disable: the partner's tokens stop, the partner is told, the
        # browser is signed out, and the trail names the token.
        assert browser.get("/api/v1/me", headers=me).status_code == 401
        assert browser.get("/account/apps", follow_redirects=False).status_code == 303
    assert [n["via"] for n in notice_bodies(services, app.id)] == ["account_disabled"]
    events = services.people.detail(resource["id"]).events
    assert next(e.actor for e in events if e.event == "user.disabled").startswith("adt_")

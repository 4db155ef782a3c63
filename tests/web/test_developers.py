"""The partner console and the operator pages, over HTTP."""

from __future__ import annotations

import html
import json
import re

from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.storage.sql import tables
from support.signin import ISSUER, PARTNER, PASSWORD, authorize, csrf_of, open_popup, sign_in


def register(client: TestClient, **fields: object):
    page = client.get("/developers")
    data = {
        "csrf": csrf_of(page.text),
        "name": "Console App",
        "origins": f"{PARTNER}\n",
        "scopes": ["profile", "email"],
        **fields,
    }
    return client.post("/developers/apps", data=data)


def test_console_needs_sign_in(client: TestClient) -> None:
    r = client.get("/developers", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/login?next=/developers"


def test_a_partner_registers_an_app_and_gets_a_working_button(client: TestClient, world) -> None:
    sign_in(client)
    r = register(client, with_secret="on")
    assert r.status_code == 200
    assert "Application registered." in r.text and "pending" in r.text
    secret = re.search(r'id="app-secret">(lesk_[^<]+)<', r.text).group(1)
    app_id = re.search(r"<code>(app_[^<]+)</code>", r.text).group(1)
    snippet = html.unescape(r.text)
    assert f"'{ISSUER.removeprefix('http://')}/signin/button.js'" in snippet
    mine = [a for a in world.services.registry.list_apps() if a.id == app_id]
    assert mine and mine[0].owner_id == world.user_id and mine[0].status == "pending"
    # The secret is shown once: the page never shows it again.
    assert secret not in client.get(f"/developers/apps/{app_id}").text

    page = client.get(f"/developers/apps/{app_id}")
    r = client.post(
        f"/developers/apps/{app_id}/buttons",
        data={"csrf": csrf_of(page.text), "scopes": ["profile"], "theme": "dark", "size": "large",
              "text": "Continue with LeadExec"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Button created." in page.text
    btn_id = re.search(r'data-btnId="(btn_[^"]+)"', page.text.replace("&#34;", '"')).group(1)
    # Development mode: the owner on a loopback origin; a production origin waits for approval.
    assert open_popup(client, btn_id).status_code == 200
    client.post(
        f"/developers/apps/{app_id}/origins",
        data={"csrf": csrf_of(page.text), "origins": f"{PARTNER}\nhttps://crm.example.com"},
    )
    assert open_popup(client, btn_id, "https://crm.example.com").status_code == 403
    world.services.operator.set_app_status(app_id, "approved")
    tokens = authorize(client, btn_id)
    r = client.post(
        "/api/token",
        data={"appId": app_id, "refreshToken": tokens["refreshToken"], "appSecret": secret},
    )
    assert r.status_code == 200


def test_registration_errors_are_shown_and_nothing_is_created(client: TestClient, world) -> None:
    sign_in(client)
    before = len(world.services.registry.list_apps())
    for fields, message in [
        ({"origins": "https://crm.example.com/login"}, "Not a valid origin"),
        ({"origins": ""}, "Register at least one JavaScript origin or redirect URI."),
        ({"origins": "", "redirect_uris": "http://crm.example.com/cb"}, "must use https"),
        ({"scopes": ["profile", "admin"]}, "Unknown scope: admin."),
        ({"logo": "javascript:alert(1)"}, "logo URL must be an http(s) URL"),
        ({"name": ""}, "application name must have 1 to 80 characters"),
    ]:
        r = register(client, **fields)
        assert r.status_code == 400, fields
        assert message in r.text, (fields, message)
    assert len(world.services.registry.list_apps()) == before


def test_partners_cannot_see_each_others_apps(client: TestClient, world) -> None:
    sign_in(client)
    r = client.get(f"/developers/apps/{world.app_id}")  # created without an owner
    assert r.status_code == 404
    page = client.get("/developers")
    r = client.post(f"/developers/apps/{world.app_id}/secret", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 404


def test_console_forms_need_csrf(client: TestClient, world) -> None:
    sign_in(client)
    r = client.post("/developers/apps", data={"name": "X", "origins": PARTNER, "scopes": "profile"})
    assert r.status_code == 403


def test_origins_can_be_edited(client: TestClient, world) -> None:
    sign_in(client)
    r = register(client)
    app_id = re.search(r"<code>(app_[^<]+)</code>", r.text).group(1)
    r = client.post(
        f"/developers/apps/{app_id}/origins",
        data={
            "csrf": csrf_of(r.text),
            "origins": "https://A.example.com:443\nhttp://localhost:3000",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    app, _ = world.services.console.owned_app(
        app_id, world.services.accounts.sign_in(world.email, PASSWORD, "t")
    )
    assert app.origins == ("https://a.example.com", "http://localhost:3000")


def test_secret_rotation_replaces_the_old_secret(client: TestClient, world) -> None:
    sign_in(client)
    first = register(client, with_secret="on")
    app_id = re.search(r"<code>(app_[^<]+)</code>", first.text).group(1)
    old = re.search(r'id="app-secret">(lesk_[^<]+)<', first.text).group(1)
    r = client.post(f"/developers/apps/{app_id}/secret", data={"csrf": csrf_of(first.text)})
    new = re.search(r'id="app-secret">(lesk_[^<]+)<', r.text).group(1)
    assert new != old
    world.services.operator.set_app_status(app_id, "approved")
    btn = world.button("profile", app_id)
    tokens = authorize(client, btn)
    base = {"appId": app_id, "refreshToken": tokens["refreshToken"]}
    assert client.post("/api/token", data={**base, "appSecret": old}).status_code == 401
    assert client.post("/api/token", data={**base, "appSecret": new}).status_code == 200


def test_try_it_page_shows_the_seed_messages(client: TestClient) -> None:
    r = client.get("/developers/try")
    assert r.status_code == 200
    assert "Success! You have accepted access to your account." in r.text
    assert "Failure! You have denied access to your account." in r.text
    assert 'data-btnId="btn_leadexec-try-it-builtin"' in r.text
    assert "frame-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/developers/try").status_code == 200  # made once, reused


def test_admin_pages_are_for_operators_only(client: TestClient, world) -> None:
    sign_in(client)
    refused = client.get("/admin")
    assert refused.status_code == 403 and "is not one" in refused.text  # a sentence, not a 404
    operator = world.services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    op = TestClient(client.app, base_url=ISSUER)
    sign_in(op, "op@example.com")
    app_id, _ = world.app(status="pending", name="Waiting App")
    page = op.get("/admin")
    assert page.status_code == 200 and "Waiting App" in page.text and ">Approve<" in page.text
    r = op.post(
        f"/admin/apps/{app_id}/status",
        data={"csrf": csrf_of(page.text), "action": "approve"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (
        next(a for a in world.services.registry.list_apps() if a.id == app_id).status == "approved"
    )
    # The audit trail says who approved it, and from what.
    a = tables.audit_events
    with world.services.storage.engine.connect() as c:
        details = c.execute(
            select(a.c.detail, a.c.actor).where(a.c.event == "app.status", a.c.app_id == app_id)
        ).all()
        assert [tuple(d) for d in details] == [
            ({"status": "approved", "was": "pending"}, operator.id)
        ]
    bad = op.post(f"/admin/apps/{app_id}/status", data={"csrf": csrf_of(page.text), "action": "x"})
    assert bad.status_code == 400
    forged = op.post(f"/admin/apps/{app_id}/status", data={"action": "suspend"})
    assert forged.status_code == 403


# -- the OAuth 2.1 / OpenID Connect form -----------------------------------------------------

# RFC 8037 appendix A.2: an Ed25519 public key, and its private half.
ED25519_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
ED25519_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"


def oauth_form(page_html: str, **fields: object) -> dict[str, object]:
    """What the form posts when left as a confidential client with a secret would see it."""
    return {
        "csrf": csrf_of(page_html),
        "redirect_uris": "https://crm.example.com/cb",
        "client_type": "confidential",
        "auth_method": "client_secret_basic",
        "jwks_uri": "",
        "jwks": "",
        "post_logout_redirect_uris": "",
        "backchannel_logout_uri": "",
        "access_token_format": "opaque",
        "id_token_alg": "RS256",
        **fields,
    }


def registered_app(client: TestClient, **fields: object) -> tuple[str, str]:
    r = register(client, **fields)
    assert r.status_code == 200
    return re.search(r"<code>(app_[^<]+)</code>", r.text).group(1), r.text


def selected(page_html: str, name: str) -> str:
    found = re.search(rf'<select id="{name}" name="{name}">(.*?)</select>', page_html, re.S)
    return re.search(r"<option selected>([^<]+)</option>", found.group(1)).group(1)


def test_the_app_page_shows_the_client_id_discovery_url_and_registration(
    client: TestClient, world
) -> None:
    sign_in(client)
    app_id, _ = registered_app(client)
    page = client.get(f"/developers/apps/{app_id}")
    assert page.status_code == 200
    assert "OAuth 2.1 / OpenID Connect" in page.text
    assert f'<code id="client-id">{app_id}</code>' in page.text
    assert f'<code id="discovery-url">{ISSUER}/.well-known/openid-configuration</code>' in page.text
    discovery = client.get("/.well-known/openid-configuration")  # the URL shown answers
    assert discovery.status_code == 200 and discovery.json()["issuer"] == ISSUER
    # No secret, no keys: registered as a public client, refresh tokens rotated.
    assert selected(page.text, "client_type") == "public"
    assert selected(page.text, "auth_method") == "none"
    assert selected(page.text, "access_token_format") == "opaque"
    assert selected(page.text, "id_token_alg") == "RS256"
    assert 'name="rotate_refresh_tokens" checked' in page.text


def test_a_partner_saves_every_oauth_field(client: TestClient, world) -> None:
    sign_in(client)
    app_id, page = registered_app(client, with_secret="on")
    jwks = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ED25519_X}]})
    r = client.post(
        f"/developers/apps/{app_id}/client",
        data=oauth_form(
            page,
            redirect_uris=" https://crm.example.com/cb\r\n\r\nhttp://127.0.0.1/native\r\n",
            auth_method="private_key_jwt",
            jwks=jwks,
            post_logout_redirect_uris="https://crm.example.com/bye",
            backchannel_logout_uri="https://crm.example.com/logout",
            access_token_format="jwt",
            id_token_alg="ES256",
            rotate_refresh_tokens="on",
            dpop_bound_access_tokens="on",
            device_grant="on",
            pkce_optional="on",
            require_par="on",
        ),
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/developers/apps/{app_id}?done=client#oauth"
    [app] = [a for a in world.services.registry.list_apps() if a.id == app_id]
    assert app.redirect_uris == ("https://crm.example.com/cb", "http://127.0.0.1/native")
    assert (app.client_type, app.auth_method) == ("confidential", "private_key_jwt")
    assert json.loads(app.jwks) == json.loads(jwks)
    assert app.post_logout_redirect_uris == ("https://crm.example.com/bye",)
    assert app.backchannel_logout_uri == "https://crm.example.com/logout"
    assert (app.access_token_format, app.id_token_alg) == ("jwt", "ES256")
    assert app.rotate_refresh_tokens is True and app.requires_secret
    assert app.dpop_bound_access_tokens is True and app.device_grant is True
    assert app.pkce_optional is True and app.require_par is True
    page = client.get(r.headers["location"])
    assert 'name="dpop_bound_access_tokens" checked' in page.text
    assert 'name="device_grant" checked' in page.text
    assert 'name="pkce_optional" checked' in page.text and 'name="require_par" checked' in page.text
    assert "OAuth settings saved." in page.text
    assert ">https://crm.example.com/cb\nhttp://127.0.0.1/native</textarea>" in page.text
    assert selected(page.text, "auth_method") == "private_key_jwt"
    assert selected(page.text, "id_token_alg") == "ES256"
    assert ED25519_X in page.text and 'value="https://crm.example.com/logout"' in page.text


def test_oauth_form_errors_are_shown_with_the_form_as_sent(client: TestClient, world) -> None:
    sign_in(client)
    app_id, page = registered_app(client)  # no secret: a public client
    private = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ED25519_X,
                                    "d": ED25519_D}]})  # fmt: skip
    public = {"client_type": "public", "auth_method": "none"}
    for fields, message in [
        ({}, "client_secret_basic needs an application secret"),
        ({**public, "redirect_uris": "http://crm.example.com/cb"}, "Redirect URIs must use https"),
        ({**public, "redirect_uris": "javascript:alert(1)"}, "must be a reverse domain name"),
        ({**public, "redirect_uris": "https://crm.example.com/cb#x"}, "or a fragment (#)"),
        ({"auth_method": "none"}, "A public client uses the authentication method none"),
        ({"client_type": "public"}, "A public client uses the authentication method none"),
        ({"client_type": "trusted"}, "The client type must be one of: confidential, public."),
        ({"auth_method": "private_key_jwt"}, "private_key_jwt needs the client's public keys"),
        ({**public, "jwks": "not json"}, 'The JWKS must be JSON like {"keys": [...]}'),
        ({**public, "jwks": private}, "The JWKS contains private key material"),
        ({**public, "jwks": " " * 2 + "x" * 17000}, "The JWKS is larger than 16 KB."),
        ({**public, "id_token_alg": "HS256"}, "The ID token algorithm is one of"),
        ({**public, "redirect_uris": "https://crm.example.com/\x00"}, "an absolute ASCII URI"),
        ({**public, "access_token_format": "saml"}, "The access-token format is opaque or jwt."),
        (
            {**public, "backchannel_logout_uri": "http://crm.example.com/logout"},
            "The back-channel logout URI must use https",
        ),
        (
            {**public, "redirect_uris": "https://crm.example.com/" + "a" * 13000},
            "The field redirect_uris is too long or not text.",
        ),
    ]:
        r = client.post(f"/developers/apps/{app_id}/client", data=oauth_form(page, **fields))
        assert r.status_code == 400, fields
        text = html.unescape(r.text)
        assert message in text, (fields, message)
        sent = str(fields.get("redirect_uris", "https://crm.example.com/cb"))
        if len(sent) < 2048:  # the refused form comes back as it was typed
            assert f">{sent}</textarea>" in text, fields
    [app] = [a for a in world.services.registry.list_apps() if a.id == app_id]
    assert (app.client_type, app.auth_method, app.redirect_uris) == ("public", "none", ())


def test_a_partner_registers_an_app_with_only_redirect_uris(client: TestClient, world) -> None:
    sign_in(client)
    app_id, page = registered_app(
        client, origins="", redirect_uris="https://crm.example.com/cb\ncom.example.app:/cb\n"
    )
    assert "Application registered." in page
    [app] = [a for a in world.services.registry.list_apps() if a.id == app_id]
    assert app.origins == () and app.owner_id == world.user_id
    assert app.redirect_uris == ("https://crm.example.com/cb", "com.example.app:/cb")
    assert (app.client_type, app.auth_method) == ("public", "none")
    # Origins can be added and taken away again: the redirect URIs keep it reachable.
    for origins, expected in (("https://crm.example.com", ("https://crm.example.com",)), ("", ())):
        page = client.get(f"/developers/apps/{app_id}").text
        r = client.post(
            f"/developers/apps/{app_id}/origins",
            data={"csrf": csrf_of(page), "origins": origins},
            follow_redirects=False,
        )
        assert r.status_code == 303
        [app] = [a for a in world.services.registry.list_apps() if a.id == app_id]
        assert app.origins == expected


def test_an_app_keeps_an_origin_or_a_redirect_uri(client: TestClient, world) -> None:
    """An app registered on the command line with only a redirect URI: emptying it would leave
    nothing a sign-in could return to."""
    sign_in(client)
    app, _ = world.services.registry.register(
        name="Native", origins=[], scopes="profile", owner_id=world.user_id,
        client=ClientRegistration(redirect_uris=("com.example.app:/cb",)),
    )  # fmt: skip
    page = client.get(f"/developers/apps/{app.id}")
    assert ">com.example.app:/cb</textarea>" in page.text
    r = client.post(
        f"/developers/apps/{app.id}/client",
        data=oauth_form(page.text, redirect_uris="", client_type="public", auth_method="none"),
    )
    assert r.status_code == 400
    assert "Keep at least one JavaScript origin or redirect URI." in r.text


def test_a_partner_cannot_change_another_partners_oauth_settings(client: TestClient, world) -> None:
    sign_in(client)
    page = client.get("/developers")
    for app_id in (world.app_id, "app_doesnotexist000000000000", "app_%00bad"):
        r = client.post(
            f"/developers/apps/{app_id}/client",
            data=oauth_form(page.text, client_type="public", auth_method="none"),
        )
        assert r.status_code == 404, app_id
        # Even a refused form names nothing of the application.
        bad = client.post(
            f"/developers/apps/{app_id}/client", data=oauth_form(page.text, id_token_alg="x")
        )
        assert bad.status_code == 404, app_id
    [app] = [a for a in world.services.registry.list_apps() if a.id == world.app_id]
    assert app.redirect_uris == ()


def test_the_oauth_form_needs_csrf(client: TestClient, world) -> None:
    sign_in(client)
    app_id, page = registered_app(client)
    form = oauth_form(page, client_type="public", auth_method="none")
    r = client.post(f"/developers/apps/{app_id}/client", data={**form, "csrf": ""})
    assert r.status_code == 403
    del form["csrf"]
    assert client.post(f"/developers/apps/{app_id}/client", data=form).status_code == 403
    [app] = [a for a in world.services.registry.list_apps() if a.id == app_id]
    assert app.redirect_uris == ()


def test_the_oauth_form_needs_sign_in(client: TestClient, world) -> None:
    page = client.get("/account/login")
    r = client.post(
        f"/developers/apps/{world.app_id}/client",
        data=oauth_form(page.text),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/account/login")


def test_operators_see_each_apps_oauth_client(client: TestClient, world) -> None:
    world.services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    world.services.registry.register(
        name="Backend", origins=[], scopes="profile", with_secret=True,
        client=ClientRegistration(redirect_uris=("https://crm.example.com/cb",
                                                 "https://crm.example.com/cb2")),
    )  # fmt: skip
    sign_in(client, "op@example.com")
    page = client.get("/admin")
    assert page.status_code == 200
    row = re.search(r"<strong>Backend</strong>.*?</tr>", page.text, re.S).group(0)
    assert "confidential" in row and "client_secret_basic" in row
    assert '<code class="uri">https://crm.example.com/cb</code>' in row
    assert '<code class="uri">https://crm.example.com/cb2</code>' in row
    button_app = re.search(r"<strong>Acme CRM</strong>.*?</tr>", page.text, re.S).group(0)
    assert "public" in button_app and "No redirect URI" in button_app


def test_registering_redirects_and_the_form_address_leads_back_to_the_list(
    client: TestClient, world
) -> None:
    """Post, then redirect: Back and reload never meet a 405 or a form posted twice. A secret
    is the one exception: shown once, on the post's own answer, never in an address."""
    sign_in(client)
    r = client.post("/developers/apps", data={
        "csrf": csrf_of(client.get("/developers").text), "name": "Redirected",
        "origins": PARTNER, "scopes": ["profile"],
    }, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert re.fullmatch(r"/developers/apps/app_[\w-]+\?done=registered", r.headers["location"])
    assert "Application registered." in client.get(r.headers["location"]).text
    back = client.get("/developers/apps", follow_redirects=False)
    assert (back.status_code, back.headers["location"]) == (303, "/developers")
    with_secret = register(client, with_secret="on")
    assert with_secret.status_code == 200 and 'id="app-secret"' in with_secret.text
    assert with_secret.headers["cache-control"] == "no-store"

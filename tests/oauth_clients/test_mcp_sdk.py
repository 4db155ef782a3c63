"""The official MCP Python SDK's client (``mcp``: ``OAuthClientProvider`` over httpx2) connects
to ``/mcp`` of a live provider it was never registered with, as an AI assistant would:

1. its first request is answered 401 with ``resource_metadata`` (RFC 9728 section 5.1);
2. it reads the resource's metadata, then the authorization server's (RFC 8414);
3. it registers: by a Client ID Metadata Document it serves on localhost (over HTTPS, as the
   SDK requires), or by RFC 7591 dynamic registration;
4. it sends the person (Chromium) to sign in and consent, with PKCE and RFC 8707 ``resource``,
   and exchanges the code;
5. it lists and calls the tools (``whoami`` answers the person's profile), refreshes when its
   access token has expired, and after the person removes its access on the connected-apps
   page it is refused (401) and has to ask the person again.

Every HTTP exchange the SDK makes is recorded by an httpx event hook, and the metadata-document
run is written to ``artifacts/mcp-transcript.md`` (the dynamic registration run beside it);
the "not reviewed" consent is photographed.

The SDK is async and Playwright's sync API owns the main thread's event loop, so the agent
runs in a thread of its own and hands the main thread what only a person can do (sign in,
consent, remove access) through two queues.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from leadexec_signin.compose import build
from leadexec_signin.settings import Settings
from leadexec_signin.storage.client_documents import HttpClientDocuments
from leadexec_signin.storage.sql.migrate import upgrade
from leadexec_signin.web.app import create_app
from support.documents import Authority, DocumentServer, json_answer
from support.live import ROOT, LiveServer, Site
from support.node import new_user
from support.signin import PASSWORD

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "artifacts"
CALLBACK = "http://127.0.0.1:{port}/callback"
AGENT_PAGE = "<!doctype html><title>Example MCP Agent</title><p>Signed in: back to the agent."


@dataclass
class AgentWorld:
    site: Site
    documents: DocumentServer
    callback_port: int


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentWorld]:
    """A provider that lets agents register themselves (metadata documents and RFC 7591),
    trusting the test run's certificate authority for the documents it fetches."""
    data = tmp_path_factory.mktemp("mcp-idp")
    database = f"sqlite:///{data / 'idp.sqlite3'}"
    upgrade(database)
    idp = LiveServer()
    settings = Settings.from_env(
        {
            **{k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")},
            "LEADEXEC_DATA_DIR": str(data),
            "LEADEXEC_DATABASE_URL": database,
            "LEADEXEC_ISSUER": idp.url,
            "LEADEXEC_CLIENT_REGISTRATION": "open",
        }
    )
    services = build(settings)
    services.prepare()
    authority = Authority()
    # The provider runs on loopback (development), so a document on localhost may be fetched;
    # its certificate is the test authority's.
    services.client_documents.fetcher = HttpClientDocuments(
        development=True, ssl_context=authority.client_context()
    )
    idp.start(create_app(services))
    documents = DocumentServer(authority)
    callback = LiveServer()  # the agent's redirect URI: a page saying the agent has its code
    callback.start(Starlette(routes=[Route("/callback", lambda _: HTMLResponse(AGENT_PAGE))]))
    site = Site(
        services=services, idp=idp.url, partner="", partner_localhost="", evil="",
        app_a="", app_b="", btn_a="", btn_b="",
    )  # fmt: skip
    yield AgentWorld(site, documents, callback.port)
    documents.stop()
    callback.stop()
    idp.stop()
    services.close()


# -- the transcript ---------------------------------------------------------------------------


@dataclass
class Transcript:
    """What the SDK sent and got, as its httpx2 client saw it, with the person's steps."""

    entries: list[str] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.entries.append(f"> **{text}**\n")

    async def on_request(self, request: httpx2.Request) -> None:
        self.exchanges.append({"method": request.method, "url": str(request.url)})

    async def on_response(self, response: httpx2.Response) -> None:
        await response.aread()
        request = response.request
        exchange = {
            "method": request.method,
            "url": str(request.url),
            "status": response.status_code,
            "request_headers": _shown_headers(request.headers),
            "request_body": _shown_body(request.content),
            "response_headers": _shown_headers(response.headers),
            "response_body": _shown_body(response.content),
        }
        self.exchanges[-1] = exchange
        self.entries.append(_render(len(self.exchanges), exchange))

    def hooks(self) -> dict[str, list[Callable[..., Any]]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    def write(self, path: Path, title: str, intro: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {title}\n\n{intro}\n\n" + "\n".join(self.entries), encoding="utf-8")

    def statuses(self) -> list[tuple[str, str, int]]:
        return [(x["method"], urlsplit(x["url"]).path, x.get("status", 0)) for x in self.exchanges]


_HEADERS = ("authorization", "www-authenticate", "content-type", "location", "cache-control",
            "mcp-protocol-version")  # fmt: skip


def _shown_headers(headers: httpx2.Headers) -> dict[str, str]:
    shown = {}
    for name in _HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            value = f"{scheme} {token[:8]}…{token[-6:]} ({len(token)} characters)"
        shown[name] = value
    return shown


def _redact(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: (
                f"{str(v)[:8]}…{str(v)[-6:]} (shortened)"
                if k in ("access_token", "refresh_token", "code", "code_verifier", "id_token")
                and isinstance(v, str)
                else _redact(v)
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_redact(v) for v in data]
    return data


def _shown_body(content: bytes) -> str:
    if not content:
        return ""
    text = content.decode("utf-8", "replace")
    try:
        return json.dumps(_redact(json.loads(text)), indent=2, ensure_ascii=False)[:2500]
    except ValueError:
        pass
    if "=" in text and "&" in text:  # a form
        form = {k: v[0] for k, v in parse_qs(text).items()}
        return json.dumps(_redact(form), indent=2, ensure_ascii=False)
    return text[:600]


def _header_list(headers: dict[str, str]) -> str:
    return ", ".join(f"`{k}: {v}`" for k, v in headers.items()) + "\n"


def _render(number: int, x: dict[str, Any]) -> str:
    parts = [f"### {number}. {x['method']} {x['url']} → {x['status']}\n"]
    if x["request_headers"]:
        parts.append(
            "Request headers: "
            + ", ".join(f"`{k}: {v}`" for k, v in x["request_headers"].items())
            + "\n"
        )
    if x["request_body"]:
        parts.append(f"```json\n{x['request_body']}\n```\n")
    if x["response_headers"]:
        parts.append(
            "Response headers: "
            + ", ".join(f"`{k}: {v}`" for k, v in x["response_headers"].items())
            + "\n"
        )
    if x["response_body"]:
        parts.append(f"```json\n{x['response_body']}\n```\n")
    return "\n".join(parts)


# -- the agent, in its own thread -------------------------------------------------------------


class Declined(Exception):
    """The person did not sign the agent in again."""


class Memory:
    """The SDK's token storage: in memory, as a short-lived assistant keeps it."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Person:
    """The main thread's side: the agent asks (``ask``), the main thread acts in Chromium and
    answers. Between threads only strings travel."""

    def __init__(self) -> None:
        self.asks: queue.Queue[tuple[str, str]] = queue.Queue()
        self.answers: queue.Queue[str | None] = queue.Queue()

    async def ask(self, what: str, detail: str = "") -> str | None:
        self.asks.put((what, detail))
        return await asyncio.to_thread(self.answers.get, True, 120)


@dataclass
class Outcome:
    tools: list[str] = field(default_factory=list)
    whoami: dict[str, Any] = field(default_factory=dict)
    after_refresh: dict[str, Any] = field(default_factory=dict)
    refused: str = ""
    client_id: str = ""
    error: BaseException | None = None


async def run_agent(
    mcp_url: str, person: Person, transcript: Transcript, metadata_url: str | None,
    callback: str, outcome: Outcome,
) -> None:  # fmt: skip
    memory = Memory()

    async def redirect_handler(url: str) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        shown = ", ".join(
            f"{k}={query[k]}"
            for k in ("client_id", "scope", "resource", "code_challenge_method", "prompt")
            if k in query
        )
        transcript.note(f"The SDK sends the person to {url.split('?')[0]} ({shown})")
        callback_url = await person.ask("authorize", url)
        if callback_url is None:
            transcript.note("The person does not sign the agent in again: the SDK gives up")
            raise Declined()
        transcript.note("Chromium came back to the agent's redirect URI with a code")
        person.pending = callback_url  # type: ignore[attr-defined]

    async def callback_handler() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(person.pending).query)  # type: ignore[attr-defined]
        return AuthorizationCodeResult(
            code=query["code"][0], state=query["state"][0], iss=query.get("iss", [None])[0]
        )

    auth = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="Example MCP Agent",
            redirect_uris=[callback],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=memory,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=metadata_url,
    )
    http = httpx2.AsyncClient(auth=auth, event_hooks=transcript.hooks(), timeout=30)
    try:
        async with http, streamable_http_client(mcp_url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                outcome.tools = sorted(t.name for t in (await session.list_tools()).tools)
                result = await session.call_tool("whoami", {})
                outcome.whoami = dict(result.structured_content or {})
                outcome.client_id = memory.client.client_id if memory.client else ""
                transcript.note("An hour later: the access token has expired")
                # The SDK keeps the expiry in its context; an hour is not waited through.
                auth.context.token_expiry_time = time.time() - 1
                result = await session.call_tool("whoami", {})
                outcome.after_refresh = dict(result.structured_content or {})
                await person.ask("remove access")
                transcript.note("The person removed the agent's access on the connected-apps page")
                # Refused (401): the SDK starts over and has to send the person again, who
                # declines; the SDK's transport ends the session with that error.
                await session.call_tool("whoami", {})
    except BaseException as exc:  # handed to the main thread, raised there
        declined = isinstance(exc, Declined) or (
            isinstance(exc, BaseExceptionGroup)
            and exc.subgroup(lambda e: isinstance(e, Declined)) is not None
        )
        if declined:
            outcome.refused = "declined"
        else:
            outcome.error = exc
    finally:
        person.asks.put(("done", ""))


# -- the test ---------------------------------------------------------------------------------


def consent_in_chromium(page: Page, url: str, email: str, callback: str, shot, name: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(url)
    if page.get_by_label("Email").count():
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("This application has not been reviewed by LeadExec.")).to_be_visible()
    expect(page.get_by_text("LeadExec for AI assistants (MCP)").first).to_be_visible()
    shot(page, name, full_page=True)
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(lambda u: u.startswith(callback + "?"))
    return page.url


def remove_access(page: Page, idp: str, agent_name: str) -> None:
    page.goto(idp + "/account/apps")
    row = page.locator("li.app-row").filter(has_text=agent_name)
    expect(row).to_have_count(1)
    row.get_by_text("Remove access", exact=True).click()
    row.locator(".confirm-box").get_by_role("button", name="Yes, remove access").click()
    expect(page.get_by_text("Access removed.")).to_be_visible()


@pytest.mark.parametrize("registration", ["metadata-document", "dynamic-registration"])
def test_the_mcp_sdk_connects_with_no_prior_registration(
    agents: AgentWorld, page: Page, shot: Callable[..., Path], registration: str
) -> None:
    site, documents = agents.site, agents.documents
    callback = CALLBACK.format(port=agents.callback_port)
    metadata_url = None
    if registration == "metadata-document":
        metadata_url = documents.url("/mcp-agent/client.json")
        documents.answers["/mcp-agent/client.json"] = json_answer(
            {
                "client_id": metadata_url,
                "client_name": "Example MCP Agent",
                "client_uri": documents.url("/mcp-agent"),
                "redirect_uris": [callback],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
            **{"Cache-Control": "max-age=3600"},
        )
    user = new_user(site, name="Ada Agentuser")
    transcript, person, outcome = Transcript(), Person(), Outcome()
    mcp_url = site.idp + "/mcp"
    agent = threading.Thread(
        target=lambda: asyncio.run(
            run_agent(mcp_url, person, transcript, metadata_url, callback, outcome)
        ),
        daemon=True,
    )
    agent.start()
    authorizations = 0
    while True:
        what, detail = person.asks.get(timeout=120)
        if what == "done":
            break
        if what == "authorize" and authorizations == 0:
            authorizations += 1
            transcript.note(
                f"Chromium: {user.email} signs in; the consent says the application has not "
                "been reviewed and names its domain and the resource; Allow"
            )
            came_back = consent_in_chromium(
                page, detail, user.email, callback, shot, f"mcp-consent-{registration}"
            )
            if metadata_url:
                path = urlsplit(metadata_url).path
                transcript.note(
                    "Meanwhile the provider fetched the agent's metadata document (the agent's "
                    f"server saw GET {path} {documents.requests.count(path)} time(s))"
                )
            person.answers.put(came_back)
        elif what == "authorize":
            person.answers.put(None)
        elif what == "remove access":
            remove_access(page, site.idp, "Example MCP Agent")
            person.answers.put("")
    agent.join(30)
    if outcome.error is not None:
        raise outcome.error

    intro = (
        f"The official MCP Python SDK ({registration.replace('-', ' ')}) against a live "
        "LeadExec Sign-In at " + site.idp + ", recorded by an httpx2 event hook on the SDK's "
        "client: every request and answer as the SDK saw them (tokens and codes shortened). "
        "Lines in bold are what happened outside HTTP. Written by "
        "tests/oauth_clients/test_mcp_sdk.py."
    )
    name = "mcp-transcript.md" if metadata_url else "mcp-transcript-dynamic-registration.md"
    transcript.write(ARTIFACTS / name, "MCP SDK session transcript", intro)

    seen = transcript.statuses()
    mcp_path = "/mcp"
    assert seen[0] == ("POST", mcp_path, 401)
    paths = [p for _, p, _ in seen]
    assert "/.well-known/oauth-protected-resource/mcp" in paths
    assert "/.well-known/oauth-authorization-server" in paths
    if metadata_url:
        assert outcome.client_id == metadata_url
        assert "/oauth2/register" not in paths
        assert "/mcp-agent/client.json" in documents.requests
    else:
        assert ("POST", "/oauth2/register", 201) in seen
        assert outcome.client_id.startswith("app_")
    token_calls = [x for x in transcript.exchanges if x["url"].endswith("/oauth2/token")]
    grants = [shown_form(x["request_body"]).get("grant_type") for x in token_calls]
    assert grants[:2] == ["authorization_code", "refresh_token"]
    assert all(x["status"] == 200 for x in token_calls[:2])
    assert outcome.tools == ["get_settings", "whoami"]
    assert outcome.whoami["id"] == user.id and outcome.whoami["email"] == user.email
    assert outcome.whoami["name"] == "Ada Agentuser"
    assert outcome.after_refresh == outcome.whoami
    assert outcome.refused == "declined"
    # After Remove access: the token is refused at /mcp, and the SDK has to ask the person.
    last_call = max(i for i, x in enumerate(seen) if x == ("POST", mcp_path, 200))
    assert seen[last_call + 1] == ("POST", mcp_path, 401)


def shown_form(body: str) -> dict[str, str]:
    """A token request's form as the transcript shows it (JSON, secrets shortened)."""
    try:
        found = json.loads(body)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}

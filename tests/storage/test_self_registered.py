"""Self-registered clients on every backend: a metadata document's client is made once under
the id its URL gives and refreshed after; a dynamic client keeps its kind, domain and only the
hash of its registration access token; a blocked domain suspends its clients (subdomains too)
and refuses new ones; clients idle for 30 days expire, unless a grant of theirs was used."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from leadexec_signin.compose import Services
from leadexec_signin.core import credentials
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.errors import InvalidClientMetadata, InvalidToken, NotFound
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.self_registered import (
    DYNAMIC,
    METADATA_DOCUMENT,
    metadata_document_app_id,
)
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables

DOC_URL = "https://agent.example/.well-known/client.json"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_changes(client_registration="open")


def document(services: Services, url: str = DOC_URL, **fields: object):
    raw = {"client_name": "Agent", "redirect_uris": ["http://127.0.0.1:33418/cb"], **fields}
    return services.self_registration.check(raw, client_id=url)


def test_a_metadata_document_client_is_made_once_then_refreshed(
    services: Services, clock: FrozenClock
) -> None:
    registration = services.self_registration
    first = registration.register_metadata_document_client(document(services))
    assert first.id == metadata_document_app_id(DOC_URL)
    assert (first.kind, first.domain, first.client_id, first.reviewed) == (
        METADATA_DOCUMENT,
        "agent.example",
        DOC_URL,
        False,
    )
    assert (first.client_type, first.auth_method, first.status) == ("public", "none", "approved")
    clock.advance(days=3)
    again = registration.register_metadata_document_client(
        document(services, client_name="Agent 2", redirect_uris=["https://agent.example/cb"])
    )
    stored = services.registry.app(first.id)
    assert stored == again
    assert stored is not None and stored.name == "Agent 2"
    assert stored.redirect_uris == ("https://agent.example/cb",)
    assert stored.created_at == first.created_at and stored.last_used_at == clock.now()


def test_a_dynamic_client_keeps_its_kind_domain_and_only_its_token_hash(
    services: Services,
) -> None:
    raw = {"client_name": "Desk agent", "redirect_uris": ["https://desk.example/cb"]}
    app, token = services.self_registration.register(raw, "203.0.113.9")
    assert token.startswith(credentials.REGISTRATION)
    stored = services.registry.app(app.id)
    assert stored == app and stored.kind == DYNAMIC and stored.domain == "desk.example"
    with services.storage.engine.connect() as c:
        column = c.execute(
            select(tables.applications.c.registration_token_hash).where(
                tables.applications.c.id == app.id
            )
        ).scalar_one()
    assert column == credentials.token_hash(token) and token not in column
    assert services.self_registration.read(app.id, token) == app
    with pytest.raises(InvalidToken):
        services.self_registration.read(app.id, token[:-1] + "x")


def test_a_blocked_domain_suspends_its_clients_and_refuses_new_ones(
    services: Services,
) -> None:
    registration = services.self_registration
    sub = registration.register_metadata_document_client(
        document(services, "https://eu.agent.example/client.json")
    )
    other = registration.register_metadata_document_client(
        document(services, "https://other.example/client.json")
    )
    assert registration.block_domain("agent.example", actor="usr_operator") == [sub.id]
    assert services.registry.app(sub.id).status == "suspended"
    assert services.registry.app(other.id).status == "approved"
    with pytest.raises(InvalidClientMetadata, match=r"agent\.example"):
        registration.register_metadata_document_client(document(services))
    with pytest.raises(InvalidClientMetadata):
        registration.register({"redirect_uris": ["https://x.agent.example/cb"]}, "203.0.113.9")
    clients, blocked = registration.clients()
    assert [b.domain for b in blocked] == ["agent.example"]
    assert {c.id for c in clients} == {sub.id, other.id}
    assert registration.unblock_domain("agent.example", actor="usr_operator") == [sub.id]
    assert services.registry.app(sub.id).status == "approved"
    with pytest.raises(NotFound):
        registration.unblock_domain("agent.example", actor="usr_operator")


def test_clients_idle_for_30_days_expire_unless_a_grant_was_used(
    services: Services, clock: FrozenClock, world
) -> None:
    registration = services.self_registration
    idle = registration.register_metadata_document_client(document(services))
    busy = registration.register_metadata_document_client(
        document(services, "https://busy.example/client.json")
    )
    operator_app = services.registry.app(world.app_id)
    assert operator_app is not None
    start = clock.now()
    with services.storage.transaction() as tx:
        tx.add_grant(
            Grant("grt_busy", world.user_id, busy.id, frozenset({"profile"}), start, start)
        )
    clock.advance(days=29)
    with services.storage.transaction() as tx:
        tx.touch_grants({"grt_busy": clock.now()})  # a refresh, as the usage batches write it
    assert registration.expire_idle() == 0
    clock.advance(days=2)
    assert registration.expire_idle() == 1
    assert services.registry.app(idle.id) is None
    assert services.registry.app(busy.id) is not None
    assert services.registry.app(world.app_id) == replace(operator_app)  # never expires
    clock.advance(days=31)
    assert registration.expire_idle() == 1
    assert services.registry.app(busy.id) is None
    assert clock.now() - start > timedelta(days=60)

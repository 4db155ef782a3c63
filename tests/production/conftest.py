"""Fixtures of the production tests: real server processes on this run's PostgreSQL and the
machine's Redis, a seeded world they share, and TCP proxies to cut them off."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from production.nodes import Node, NodeFactory, Seeded, seed
from production.tcpproxy import TcpProxy
from support.databases import PgDatabase

REDIS_URL = os.environ.get("LEADEXEC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    client.ping()  # a missing Redis fails these tests; it never skips them
    client.close()
    return REDIS_URL


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[NodeFactory]:
    """Starts nodes; every one is stopped (SIGTERM, then SIGKILL) when the test ends."""
    nodes: list[Node] = []

    def start(name: str, env: dict[str, str], workers: int = 1) -> Node:
        node = Node(name, env, tmp_path, workers=workers).start()
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.stop()


@pytest.fixture
def pg_url(pg_database: PgDatabase) -> str:
    """This run's PostgreSQL database. Not emptied: each test seeds its own application."""
    return pg_database.url


@pytest.fixture
def proxies() -> Iterator[Callable[[str, int], TcpProxy]]:
    made: list[TcpProxy] = []

    def make(host: str, port: int) -> TcpProxy:
        proxy = TcpProxy(host, port)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


@pytest.fixture
def make_seed(tmp_path: Path) -> Iterator[Callable[..., Seeded]]:
    """Seeds an approved application in a database, from this test process."""
    made: list[Seeded] = []

    def make(database_url: str, redis_url: str = "", **changes: object) -> Seeded:
        seeded = seed(database_url, tmp_path, redis_url, **changes)
        made.append(seeded)
        return seeded

    yield make
    for seeded in made:
        seeded.services.close()

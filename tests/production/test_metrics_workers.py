"""``serve --workers 2``: each worker counts in its own files and either one answers a scrape
with the sum, so the numbers add up whichever process served the requests or the scrape."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from leadexec_signin.background import tls
from production.nodes import node_env

# Real server processes: the cluster tier (tests/support/tiers.py).
pytestmark = pytest.mark.cluster

TOKEN = "metrics-token-for-two-workers"
OK = ("leadexec_token_exchanges_total", (("grant_type", "refresh_token"), ("result", "ok"),
      ("surface", "api")))  # fmt: skip
REFUSED = ("leadexec_token_exchanges_total", (("grant_type", "refresh_token"),
           ("result", "invalid_grant"), ("surface", "api")))  # fmt: skip


def process_of(r: httpx.Response) -> str:
    """Request ids start with the answering process's random prefix (web/security/middleware.py)."""
    return r.headers["x-request-id"][:8]


def scrape(url: str) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    # A new connection each time, so the kernel may hand it to either worker.
    r = httpx.get(
        url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20, verify=tls()
    )
    assert r.status_code == 200, r.text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    return process_of(r), samples


def test_counts_add_up_across_two_worker_processes(
    database_url: str, tmp_path: Path, start_node, make_seed
) -> None:
    seeded = make_seed(database_url)
    refresh, _access = seeded.grant()
    base = tmp_path / "prometheus"
    env = node_env(
        database_url, tmp_path, LEADEXEC_METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(base)
    )
    node = start_node("metrics", env, workers=2)
    assert node.proc is not None
    folder = base / f"serve-{node.proc.pid}"
    assert folder.is_dir()  # this serve's own folder, under the operator's

    answered_by: dict[str, int] = {}
    sent_ok = sent_refused = 0
    # Until both workers have answered exchanges (a bounded number of fresh connections).
    for i in range(400):
        params = {"appId": seeded.app_id, "refreshToken": refresh if i % 3 else "ler_" + "x" * 43}
        r = httpx.get(node.url + "/api/token", params=params, timeout=20, verify=tls())
        answered_by[process_of(r)] = answered_by.get(process_of(r), 0) + 1
        if i % 3:
            assert r.status_code == 200, r.text
            sent_ok += 1
        else:
            assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
            sent_refused += 1
        if len(answered_by) == 2 and i >= 30:
            break
    assert len(answered_by) == 2, f"one worker answered everything: {answered_by}"

    def adds_up(samples: dict) -> bool:
        requests = (
            "leadexec_http_request_duration_seconds_count",
            (("method", "GET"), ("route", "/api/token"), ("status", "200")),
        )
        return (samples.get(OK), samples.get(REFUSED), samples.get(requests)) == (
            sent_ok,
            sent_refused,
            sent_ok,
        )

    # Each worker hands its counts to its files within a second: scrape (each time on a new
    # connection, so either worker may answer) until both workers have rendered the sum.
    matched: set[str] = set()
    last: dict[str, dict] = {}
    for _ in range(600):
        who, samples = scrape(node.url)
        last[who] = samples
        if adds_up(samples):
            matched.add(who)
        if len(matched) == 2:
            break
        threading.Event().wait(0.05)  # polling, not timing anything
    assert matched == set(answered_by), {
        w: (s.get(OK), s.get(REFUSED), sent_ok, sent_refused) for w, s in last.items()
    }
    node.stop()
    assert not folder.exists()  # removed at exit; the next serve starts from nothing

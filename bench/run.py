"""Options in, ``bash bench/run.sh`` out: the benchmark with command-line flags.

    .venv/bin/python bench/run.py [--rounds 2] [--targets oidc,hello,ours]
        [--backends sqlite,postgresql] [--workers 1,2] [--connections 16] [--main 16,64]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--src-ref HEAD]

Everything is measured by ``bench/run.sh`` (see bench/README.md); this only turns flags into
its environment variables. ``--database-url`` names the PostgreSQL server the scratch
databases are created on (beside the database named, which is never touched), as before.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def words(value: str) -> str:
    return " ".join(value.replace(",", " ").split())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--targets", help="of oidc, oidc-redis, oidc-redis-rotate, hello, ours")
    ap.add_argument("--backends", help="of sqlite, postgresql")
    ap.add_argument("--workers", help="uvicorn worker counts, e.g. 1,2")
    ap.add_argument(
        "--workloads",
        help="of replay, replay-nocache, random, random-post, me, me-random, me-nocache, "
        "healthz, post, rotate",
    )
    ap.add_argument("--connections", help="wrk connections for every workload, e.g. 16")
    ap.add_argument("--main", help="connections for the main workloads, e.g. 16,64")
    ap.add_argument("--users", type=int, help="distinct grants for the random workload")
    ap.add_argument("--database-url", help="PostgreSQL server for the scratch databases")
    ap.add_argument("--src-ref", help="measure src/ of this commit, not the work tree")
    ap.add_argument("--no-report", action="store_true", help="leave docs/performance.md alone")
    args = ap.parse_args()
    env = dict(os.environ)
    pairs = {
        "ROUNDS": args.rounds,
        "TARGETS": args.targets and words(args.targets),
        "BACKENDS": args.backends and words(args.backends),
        "WORKERS": args.workers and words(args.workers),
        "WORKLOADS": args.workloads and words(args.workloads),
        "CONNS": args.connections and words(args.connections),
        "CONNS_MAIN": args.main and words(args.main),
        "USERS": args.users,
        "PG_ADMIN_URL": args.database_url,
        "SRC_REF": args.src_ref,
    }
    env.update({k: str(v) for k, v in pairs.items() if v})
    if args.no_report:
        env["REPORT"] = ""
    return subprocess.run(["bash", str(HERE / "run.sh")], env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())

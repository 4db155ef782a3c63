"""Bulk seeding for the scale benchmark (``bench/scale.sh``), and its section of the report.

    seed_scale.py seed --users 1000000 --data-dir DIR --out ids.json --tokens tokens.txt
        A fresh SQLite database in DIR (which must not hold one yet), migrated with the real
        migrations; or ``--database-url URL`` for an empty PostgreSQL database. One approved
        application (with a button) through the real use cases (``compose.build``), then
        ``--users`` users, each with one grant to that application and one refresh token,
        written with SQLAlchemy Core executemany in batches of ``--batch`` rows through the
        real tables. A progress bar goes to stderr. ``--tokens`` gets ``--sample`` refresh
        tokens (default 20,000) picked uniformly over the whole range, one per line, shuffled,
        for ``lib/wrk-tokens.lua``; with fewer users than that, every token repeated until
        the file has as many lines (so wrk's table is the same size at every scale).
        ``--out`` gets {"app", "users", "sample", "distinct", "seed_s", "bulk_s", ...}.
    seed_scale.py report --jsonl scale-DATE.jsonl [more.jsonl ...] --out docs/performance.md
        The table between ``<!-- scale:begin -->`` and ``<!-- scale:end -->`` (added at the
        end of the file when missing); nothing else in the file is touched.

The rows are shaped as the product writes them: ids from ``credentials.new_id`` with the
use cases' prefixes, the refresh token's SHA-256 from ``credentials.token_hash`` of
``credentials.new_token(credentials.REFRESH)``, the grant's scopes joined as the storage
joins them, a NULL refresh-token scope (all of the grant's), aware UTC datetimes through the
tables' ``UTCDateTime``. Every user shares one real argon2 hash of the same password (1M
argon2 runs would take hours and the exchange never reads it). No sessions or audit events
are written: the refresh exchange reads neither.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# One password hash for all: cheap settings, as seed.py (the shape of the hash is the same).
os.environ.setdefault("LEADEXEC_ARGON2_TIME_COST", "1")
os.environ.setdefault("LEADEXEC_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("LEADEXEC_ARGON2_PARALLELISM", "1")

ORIGIN = "http://127.0.0.1:9000"
SCOPES = "profile,email"
BEGIN = "<!-- scale:begin -->"
END = "<!-- scale:end -->"


# ---------------------------------------------------------------------------- progress bar
class Progress:
    """One carriage-return line on stderr: bar, count, percent, rate and ETA."""

    def __init__(self, total: int, label: str, width: int = 30) -> None:
        self.total = max(total, 1)
        self.label = label
        self.width = width
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._last_line = 0.0
        self._done = -1

    def update(self, done: int) -> None:
        if done == self._done:
            return
        self._done = done
        now = time.monotonic()
        # Not a tty (a log file): one line per 5 s instead of a carriage-return storm.
        if not self.tty and done < self.total and now - self._last_line < 5:
            return
        self._last_line = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else 0.0
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        line = (
            f"{self.label} [{bar}] {done:,}/{self.total:,} {100 * done / self.total:5.1f}% "
            f"{rate:,.0f}/s ETA {_clock(eta)} elapsed {_clock(elapsed)}"
        )
        sys.stderr.write(("\r" + line) if self.tty else (line + "\n"))
        sys.stderr.flush()

    def finish(self) -> float:
        self.update(self.total)
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
        return time.monotonic() - self.started


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


# ---------------------------------------------------------------------------- seeding
def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy import make_url

    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _fresh(url: str) -> None:
    """Refuse a database that already has the tables: the seeder only fills new ones."""
    from sqlalchemy import create_engine, inspect

    path = _sqlite_file(url)
    if path is not None:
        if path.exists():
            raise SystemExit(f"{path} exists: the scale seeder writes a fresh database only")
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    engine = create_engine(url)
    try:
        if inspect(engine).has_table("users"):
            raise SystemExit("the database already has tables: give an empty one")
    finally:
        engine.dispose()


def _approved_app(users: int) -> tuple[str, str, str]:
    """The application through the real use cases; returns (app id, password hash, url)."""
    from leadexec_signin.compose import build
    from leadexec_signin.settings import Settings

    settings = Settings.from_env()
    p = build(settings)
    try:
        p.prepare()
        app, _ = p.registry.register(name="Bench scale", origins=[ORIGIN], scopes=SCOPES)
        p.operator.set_app_status(app.id, "approved")
        p.registry.create_button(app_id=app.id, scopes=SCOPES)
        password_hash = p.accounts.passwords.hash("bench-password")
        return app.id, password_hash, settings.effective_database_url
    finally:
        p.close()


def _sample_indices(users: int, sample: int, rng: random.Random) -> set[int]:
    return set(rng.sample(range(users), min(sample, users)))


def _batches(total: int, size: int) -> Iterable[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


def seed(
    users: int,
    out: Path,
    tokens_file: Path,
    sample: int,
    batch: int,
    seed_value: int | None,
) -> None:
    from sqlalchemy import create_engine, event, insert

    from leadexec_signin.core import credentials
    from leadexec_signin.settings import Settings
    from leadexec_signin.storage.sql import tables as t
    from leadexec_signin.storage.sql.migrate import upgrade
    from leadexec_signin.storage.sql.rows import joined

    started = time.monotonic()
    url = Settings.from_env().effective_database_url
    _fresh(url)
    upgrade(url)
    app_id, password_hash, url = _approved_app(users)
    grant_scopes = joined(frozenset(SCOPES.split(",")))

    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Seeding only: no fsync per batch and a large page cache (random-key B-trees).
            # The file stays in WAL mode, as the product left it; the server sets its own.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")
            cur.close()

    rng = random.Random(seed_value)
    wanted = _sample_indices(users, sample, rng)
    picked: list[str] = []
    ins_users, ins_grants, ins_refresh = (
        insert(t.users),
        insert(t.grants),
        insert(t.refresh_tokens),
    )
    bar = Progress(users, "seeding grants")
    for lo, hi in _batches(users, batch):
        now = datetime.now(UTC)
        user_rows: list[dict[str, Any]] = []
        grant_rows: list[dict[str, Any]] = []
        refresh_rows: list[dict[str, Any]] = []
        for i in range(lo, hi):
            user_id = credentials.new_id("usr_")
            grant_id = credentials.new_id("grt_")
            raw = credentials.new_token(credentials.REFRESH)
            if i in wanted:
                picked.append(raw)
            user_rows.append(
                {
                    "id": user_id,
                    "email": f"scale{i}@example.com",
                    "name": f"Scale {i}",
                    "password_hash": password_hash,
                    "company": "",
                    "plan": "",
                    "timezone": "UTC",
                    "locale": "en-US",
                    "preferences": {},
                    "is_operator": False,
                    "created_at": now,
                }
            )
            grant_rows.append(
                {
                    "id": grant_id,
                    "user_id": user_id,
                    "app_id": app_id,
                    "scopes": grant_scopes,
                    "created_at": now,
                    "last_used_at": now,
                    "revoked_at": None,
                }
            )
            refresh_rows.append(
                {
                    "token_hash": credentials.token_hash(raw),
                    "grant_id": grant_id,
                    "app_id": app_id,
                    "created_at": now,
                    "scopes": None,  # joined_or_none(None): all of the grant's scopes
                    "last_used_at": None,
                    "replaced_by": None,
                    "rotated_at": None,
                }
            )
        with engine.begin() as conn:
            conn.execute(ins_users, user_rows)
            conn.execute(ins_grants, grant_rows)
            conn.execute(ins_refresh, refresh_rows)
        bar.update(hi)
    bulk_s = bar.finish()

    finish_started = time.monotonic()
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            # What autovacuum would have done to tables that grew this much.
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    finish_s = time.monotonic() - finish_started

    distinct = len(picked)
    lines = list(picked)
    while distinct and len(lines) < sample:
        lines.extend(picked[: sample - len(lines)])
    rng.shuffle(lines)
    tokens_file.write_text("".join(tok + "\n" for tok in lines))

    path = _sqlite_file(url)
    size = sum(f.stat().st_size for f in path.parent.glob(path.name + "*")) if path else None
    total_s = time.monotonic() - started
    info = {
        "app": app_id,
        "users": users,
        "sample": len(lines),
        "distinct": distinct,
        "batch": batch,
        "backend": engine.dialect.name,
        "bulk_s": round(bulk_s, 2),
        "finish_s": round(finish_s, 2),
        "seed_s": round(total_s, 2),
        "db_bytes": size,
    }
    out.write_text(json.dumps(info) + "\n")
    mb = f", {size / 1e6:,.0f} MB on disk" if size else ""
    print(
        f"   seeded {users:,} grants in {total_s:,.1f} s (bulk {bulk_s:,.1f} s, "
        f"{users / max(bulk_s, 1e-9):,.0f}/s){mb}; {len(lines):,} token lines "
        f"({distinct:,} distinct) -> {tokens_file}",
        file=sys.stderr,
    )


# ---------------------------------------------------------------------------- report
ERROR_KEYS = ("err_connect", "err_read", "err_write", "err_timeout", "status_ge400")
RSS_TARGET_MB = 200
RATIO_TARGET = 0.80


def _errors(r: dict[str, Any]) -> int:
    return sum(int(r.get(k) or 0) for k in ERROR_KEYS)


def _num(r: dict[str, Any], key: str) -> float:
    return float(r.get(key) or 0)


def _cpu_us(r: dict[str, Any]) -> float:
    return _num(r, "server_cpu_s") * 1e6 / max(int(r.get("requests") or 0), 1)


def _other_cores(r: dict[str, Any]) -> float:
    busy = _num(r, "machine_busy_s") - _num(r, "server_cpu_s") - _num(r, "wrk_cpu_s")
    return max(busy, 0.0) / max(_num(r, "duration_s"), 1e-9)


def _mb(kb: float) -> str:
    return f"{kb / 1024:,.0f}"


def report_block(rows: list[dict[str, Any]], command: str, source: str) -> str:
    runs = [r for r in rows if r.get("kind") == "run"]
    seeds = {(r["backend"], int(r["users"])): r for r in rows if r.get("kind") == "seed"}
    groups: dict[tuple[str, int, int], dict[int, list[dict[str, Any]]]] = {}
    for r in runs:
        key = (r["backend"], int(r["workers"]), int(r["conns"]))
        groups.setdefault(key, {}).setdefault(int(r["users"]), []).append(r)
    rounds = max((int(r.get("round") or 1) for r in runs), default=0)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"Run on {stamp}; code measured: {source}.",
        "",
        f"- Command: `{command}` (raw results: `bench/results/scale-<date>.jsonl`). Each "
        "scale is seeded once by `bench/seed_scale.py` (one approved application through the "
        "use cases, then N users with one grant and one refresh token each, bulk-inserted "
        "through the real tables) and every server start gets a fresh copy of it.",
        "- Load: `GET /api/token?appId=..&refreshToken=..` with a token picked at random per "
        "request (`lib/wrk-tokens.lua`) from a file of the same number of lines at every "
        "scale (at 1M: distinct tokens picked uniformly over all grants; at 1k: every token, "
        f"repeated); `wrk -t1`, a discarded 5 s warm-up then 10 s; up to {rounds} "
        "interleaved round(s), the best by requests/s shown (all rounds listed), errors "
        "summed over them. The token cache is off unless the command sets `CACHE_MS` (at "
        "1,000 grants most picks would repeat within its lifetime, and the ratio would "
        "compare the cache with the database).",
        "- **RSS peak** is the largest `VmHWM` (peak resident set since start, from "
        "`/proc/<pid>/status`) of any one server process, over all rounds; **RSS load** the "
        "largest `VmRSS` of one process sampled every 0.5 s during warm-up and measurement. "
        "**ratio** divides this scale's requests/s (CPU per request) by the smallest "
        "scale's; **other CPU** is what the rest of the machine used during the window, in "
        "cores.",
        "",
        "| backend | workers | conns | grants | seeded in | DB MB | req/s (best) | rounds "
        "| p50 ms | p99 ms | errors | CPU us/req | RSS peak MB | RSS load MB | req/s ratio "
        "| CPU ratio | other CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    if any(r["backend"] == "postgresql" for r in runs):
        out.insert(
            out.index("", 2),
            "- PostgreSQL rows: **CPU us/req** is the server's only; the database's own "
            "backends are counted in **other CPU**, and **DB MB** is not measured.",
        )
    verdicts: list[str] = []
    for (backend, workers, conns), by_users in sorted(groups.items()):
        base: dict[str, Any] | None = None
        for users in sorted(by_users):
            rs = by_users[users]
            best = max(rs, key=lambda r: _num(r, "rps"))
            base = base or best
            seed_row = seeds.get((backend, users), {})
            seeded = f"{seed_row['seed_s']:,.0f} s" if "seed_s" in seed_row else "-"
            db_mb = f"{seed_row['db_bytes'] / 1e6:,.0f}" if seed_row.get("db_bytes") else "-"
            errs = sum(_errors(r) for r in rs)
            ratio = _num(best, "rps") / _num(base, "rps") if _num(base, "rps") else 0.0
            cpu_ratio = _cpu_us(best) / _cpu_us(base) if _cpu_us(base) else 0.0
            all_rps = " / ".join(f"{_num(r, 'rps'):,.0f}" for r in rs)
            out.append(
                f"| {backend} | {workers} | {conns} | {users:,} | {seeded} | {db_mb} "
                f"| {_num(best, 'rps'):,.0f} "
                f"| {all_rps} "
                f"| {_num(best, 'p50_ms'):.2f} | {_num(best, 'p99_ms'):.2f} "
                f"| {f'**{errs}**' if errs else '0'} | {_cpu_us(best):,.0f} "
                f"| {_mb(max(_num(r, 'rss_hwm_max_kb') for r in rs))} "
                f"| {_mb(max(_num(r, 'rss_load_max_kb') for r in rs))} "
                f"| {ratio:.2f} | {cpu_ratio:.2f} | {_other_cores(best):.2f} |"
            )
        if len(by_users) > 1 and base is not None:
            low, high = min(by_users), max(by_users)
            top = max(by_users[high], key=lambda r: _num(r, "rps"))
            ratio = _num(top, "rps") / _num(base, "rps") if _num(base, "rps") else 0.0
            peak = max(_num(r, "rss_hwm_max_kb") for rs in by_users.values() for r in rs) / 1024
            verdicts.append(
                f"- {backend}, {workers} worker(s), {conns} connections: at {high:,} grants "
                f"{ratio:.2f} of the requests/s at {low:,} (target >= {RATIO_TARGET:.2f}: "
                f"{'met' if ratio >= RATIO_TARGET else '**not met**'}); largest peak RSS of "
                f"a worker {peak:,.0f} MB (target <= {RSS_TARGET_MB} MB: "
                f"{'met' if peak <= RSS_TARGET_MB else '**not met**'})."
            )
    if verdicts:
        out += ["", *verdicts]
    return "\n".join(out)


def write_section(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else "# Performance\n"
    if BEGIN not in text or END not in text:
        text = (
            text.rstrip("\n")
            + "\n\n## At scale: 1,000 vs 1,000,000 grants\n\n"
            + "The refresh exchange with a random token out of many grants, at two database "
            + "sizes, measured by `bench/scale.sh` (see `bench/README.md`). Only the text "
            + "between these markers is rewritten by it.\n\n"
            + f"{BEGIN}\n{END}\n"
        )
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")


def report(jsonl: list[Path], out: Path | None, command: str, source: str) -> None:
    rows = [json.loads(line) for f in jsonl for line in f.read_text().splitlines() if line.strip()]
    block = report_block(rows, command, source)
    print(block)
    if out is not None:
        write_section(out, block)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed", help="bulk-seed a fresh database")
    s.add_argument("--users", type=int, default=1_000_000)
    s.add_argument("--data-dir", type=Path, help="SQLite: LEADEXEC_DATA_DIR for the new file")
    s.add_argument("--database-url", help="an empty database instead (e.g. PostgreSQL)")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--tokens", type=Path, required=True)
    s.add_argument("--sample", type=int, default=20_000)
    s.add_argument("--batch", type=int, default=10_000)
    s.add_argument("--seed", type=int, default=None, help="random seed of the token sample")
    r = sub.add_parser("report", help="write the scale section of docs/performance.md")
    r.add_argument("--jsonl", type=Path, nargs="+", required=True, help="one or more runs")
    r.add_argument("--out", type=Path)
    r.add_argument("--command", default="bash bench/scale.sh")
    r.add_argument("--source", default="the work tree")
    args = ap.parse_args()
    if args.cmd == "report":
        report(args.jsonl, args.out, args.command, args.source)
        return 0
    if args.data_dir is not None:
        os.environ["LEADEXEC_DATA_DIR"] = str(args.data_dir.resolve())
    if args.database_url is not None:
        os.environ["LEADEXEC_DATABASE_URL"] = args.database_url
    os.environ.setdefault("LEADEXEC_LOG_LEVEL", "WARNING")
    if args.users < 1 or args.batch < 1 or args.sample < 1:
        raise SystemExit("--users, --batch and --sample must be positive")
    seed(args.users, args.out, args.tokens, args.sample, args.batch, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

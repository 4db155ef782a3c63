#!/usr/bin/env bash
# DPoP's cost on the LeadExec API, side by side in one run: GET /api/v1/me with a DPoP-bound
# access token and a fresh proof per request (an ES256 verify and one jti insert each) against
# the same call with a bearer token, on one server, interleaved round by round, measured like
# run.sh (lib/common.sh: wrk -t1, 5 s warm-up, 10 s measured, server CPU from /proc).
#
# usage: bash bench/dpop.sh
#   ROUNDS=3 CONNS=16 WORKERS=1 bash bench/dpop.sh
#   BACKEND=postgresql PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test bash bench/dpop.sh
#   OURS_REDIS_URL=redis://127.0.0.1:6379/0   used proofs in Redis instead of the database
#   SRC_REFS="a16a887 ."   versions of src/ side by side in one run, interleaved round by round
#                          ("." the work tree, the default; a commit through git archive,
#                          lib/snapshot.sh), each with its own server and SQLite database
# Prints each run, then for each version the best round of each call and the ratios
# (requests/s, and server CPU per request), with the load average before and after; rows go
# to bench/results/dpop-<date>.jsonl (each with its "version").
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
export BENCH_DIR
# Proofs are dated when made and live 60 s: the quiet gate must not eat their lifetime (set
# before lib/common.sh, whose default is 45 s).
QUIET_WAIT_S=${QUIET_WAIT_S:-5}
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"

ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-16}
WORKERS=${WORKERS:-1}
BACKEND=${BACKEND:-sqlite}
PG_URL=${PG_URL:-}
OURS_REDIS_URL=${OURS_REDIS_URL:-}
PROOFS=${PROOFS:-60000}
SRC_REFS=${SRC_REFS:-.}
PY=$ROOT/.venv/bin/python
LX=$ROOT/.venv/bin/leadexec-signin
H=127.0.0.1 P=${PORT:-18170}
URL=http://$H:$P/api/v1/me

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$WORK" "$BENCH_DIR/results"
LOG_DIR=$WORK/logs/dpop-$STAMP
mkdir -p "$LOG_DIR"
RESULTS_JSONL=$BENCH_DIR/results/dpop-$STAMP.jsonl
SCRATCH=$(mktemp -d)
cleanup() { stop_server; rm -rf "$SCRATCH"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export LEADEXEC_ISSUER=http://$H:$P LEADEXEC_LOG_LEVEL=WARNING \
  LEADEXEC_REDIS_URL=$OURS_REDIS_URL LEADEXEC_DATABASE_URL=$PG_URL
if [ "$BACKEND" = postgresql ] && [ -z "$PG_URL" ]; then
  echo "!! BACKEND=postgresql needs PG_URL (a scratch database: it is migrated and written)" >&2
  exit 2
fi
if [ "$BACKEND" = postgresql ] && [ "$SRC_REFS" != . ]; then
  echo "!! SRC_REFS compares versions on SQLite only (each version needs its own database)" >&2
  exit 2
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# shellcheck source=lib/snapshot.sh
source "$BENCH_DIR/lib/snapshot.sh"
ids() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/ids.json" "$2"; }

# prepare DIR REF: src/ of REF in DIR (lib/snapshot.sh; "." the work tree), and a database
# migrated and seeded by that version.
prepare() {
  local dir=$1 ref=$2
  mkdir -p "$dir"
  [ "$ref" = . ] && ref=""
  SRC_REF=$ref SCRATCH=$dir take_src_snapshot
  echo "$SOURCE" >"$dir/source"
  LEADEXEC_DATA_DIR=$dir/data "$LX" migrate --json >/dev/null
  LEADEXEC_DATA_DIR=$dir/data "$PY" "$BENCH_DIR/dpop.py" seed --out "$dir/ids.json"
}
proofs() { # DIR N: fresh proofs for DIR's token, the cursor back to the start
  "$PY" "$BENCH_DIR/dpop.py" proofs --ids "$1/ids.json" --url "$URL" \
    --count "$2" --out "$SCRATCH/proofs.txt"
  rm -f "$SCRATCH/proofs.txt.cursor"
}
# measure DIR: a server of that version, the bearer call then the DPoP call.
measure() {
  local dir=$1 bearer dpop meta
  export PYTHONPATH=$dir/src LEADEXEC_DATA_DIR=$dir/data
  start_server "dpop-$BACKEND-w$WORKERS" $P env LEADEXEC_NOTICE_INTERVAL=0 \
    "$LX" serve --host $H --port $P --workers "$WORKERS"
  wait_http "http://$H:$P/healthz" 60
  bearer=$(ids "$dir" bearer) dpop=$(ids "$dir" dpop)
  # Both answer 200 before anything is measured, and the DPoP one refuses the token as Bearer.
  proofs "$dir" 2
  curl -sf "$URL" -H "Authorization: Bearer $bearer" | grep -q '"email"'
  curl -sf "$URL" -H "Authorization: DPoP $dpop" -H "DPoP: $(head -1 "$SCRATCH/proofs.txt")" | grep -q '"email"'
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL" -H "Authorization: Bearer $dpop")" = 401 ]
  meta="$META,\"version\":\"$(basename "$dir")\""
  export WRK_METHOD=GET WRK_BODY="" WRK_HEADERS="Authorization: Bearer $bearer"
  RUN_META="$meta,\"workload\":\"me-bearer\"" run_wrk "GET /api/v1/me, Bearer" "$CONNS" "$URL"
  proofs "$dir" "$PROOFS"
  WRK_LUA=$BENCH_DIR/lib/wrk-dpop.lua PROOFS_FILE=$SCRATCH/proofs.txt DPOP_TOKEN=$dpop \
    RUN_META="$meta,\"workload\":\"me-dpop\"" run_wrk "GET /api/v1/me, DPoP" "$CONNS" "$URL"
  stop_server
}

META="\"target\":\"ours\",\"backend\":\"$BACKEND\",\"workers\":$WORKERS,\"redis\":$([ -n "$OURS_REDIS_URL" ] && echo true || echo false)"
DIRS=()
n=0
for ref in $SRC_REFS; do
  n=$((n + 1))
  prepare "$SCRATCH/v$n" "$ref"
  DIRS+=("$SCRATCH/v$n")
  echo "v$n: $(cat "$SCRATCH/v$n/source")"
done
for ROUND in $(seq 1 "$ROUNDS"); do
  export ROUND
  for dir in "${DIRS[@]}"; do
    echo "== round $ROUND, $(basename "$dir")"
    measure "$dir"
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
for dir in "${DIRS[@]}"; do echo "$(basename "$dir")=$(cat "$dir/source")"; done >"$SCRATCH/versions"

python3 - "$RESULTS_JSONL" "$LOAD_BEFORE" "$LOAD_AFTER" "$SCRATCH/versions" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
versions = dict(line.rstrip("\n").split("=", 1) for line in open(sys.argv[4]))
def runs(version, workload):
    return [r for r in rows if r.get("version") == version and r.get("workload") == workload
            and r.get("rps")]
def cpu_us(r):
    return 1e6 * r["server_cpu_s"] / max(r["requests"], 1)
# Per request, the server's CPU is steadier than requests/s on shared cores: each version's
# figure is the median over its rounds (the bearer and DPoP calls of a round run back to back),
# beside the best round by requests/s.
for version, source in versions.items():
    b, d = runs(version, "me-bearer"), runs(version, "me-dpop")
    print(f"{version}: {source}")
    if not b or not d:
        print("  no complete pair of runs")
        continue
    for name, rs in (("Bearer", b), ("DPoP", d)):
        top = max(rs, key=lambda r: r["rps"])
        cpus = " ".join(f"{cpu_us(r):.0f}" for r in rs)
        errors = sum(r.get("status_ge400", 0) for r in rs)
        print(f"  {name:6}  best {top['rps']:8.0f} req/s  p99 {top['p99_ms']:.1f} ms  "
              f"server CPU median {statistics.median(map(cpu_us, rs)):.0f} us/request "
              f"(rounds: {cpus})  errors (4xx/5xx) {errors}")
    cb, cd = statistics.median(map(cpu_us, b)), statistics.median(map(cpu_us, d))
    pairs = [cpu_us(y) / cpu_us(x) for x, y in zip(b, d)]
    print(f"  DPoP cost: {cd / cb:.2f}x in server CPU per request (medians; by round: "
          + " ".join(f"{p:.2f}" for p in pairs) + "), "
          f"{max(r['rps'] for r in b) / max(r['rps'] for r in d):.2f}x in requests/s (best)")
print(f"load average before {sys.argv[2]}, after {sys.argv[3]}")
PY

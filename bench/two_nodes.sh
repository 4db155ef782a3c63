#!/usr/bin/env bash
# Two independent `leadexec-signin serve` processes, as two machines would run them, on one
# PostgreSQL and one Redis, with the refresh exchange at random split between them: each
# process gets its own port and half of the tokens (one wrk each, at the same time). Then
# one process alone on all the tokens, for the ratio. Prints and appends to
#   bench/results/two-nodes-<date>.jsonl   one JSON object per measured window
#
# usage: bash bench/two_nodes.sh
#   USERS      distinct grants, bulk-seeded by seed_scale.py   (default: 10000)
#   CONNS      wrk connections per process                      (default: 8)
#   REDIS_URL  LEADEXEC_REDIS_URL of both processes               (default: redis://127.0.0.1:6379/6)
#   PG_ADMIN_URL  where the scratch database is created
#                 (default: postgresql+psycopg://postgres@127.0.0.1:5432/test)
#   WRK_DURATION, WRK_WARMUP   as in lib/common.sh
#
# Both processes must answer every request with 200 (the "errors" column), since both read
# and count in the same places. At the end, a revocation across them: a token exchanged on
# process 1 (so its token cache holds it), revoked on process 0 (POST /api/revoke), must be
# refused by process 1 (400 invalid_grant) within the promised second; the time it took is
# printed and recorded. tests/production/test_cluster.py proves the same under test.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
export BENCH_DIR
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"

USERS=${USERS:-10000}
CONNS=${CONNS:-8}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/6}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
PY=$ROOT/.venv/bin/python
LX=$ROOT/.venv/bin/leadexec-signin
H=127.0.0.1
PORTS=(18120 18121)

SCRATCH=$(mktemp -d /tmp/lx-two-nodes.XXXXXX)
LOG_DIR=$SCRATCH/logs
mkdir -p "$LOG_DIR" "$BENCH_DIR/results"
RESULTS_JSONL=$BENCH_DIR/results/two-nodes-$(date -u +%F).jsonl
DB=lx_two_nodes_$$
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do SERVER_PID=$pid stop_server; done
  "$PY" "$BENCH_DIR/seed.py" dropdb "$PG_ADMIN_URL" "$DB" >/dev/null 2>&1 || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

echo "== seeding $USERS grants in PostgreSQL ($DB), bulk"
"$PY" "$BENCH_DIR/seed.py" createdb "$PG_ADMIN_URL" "$DB"
URL=$("$PY" "$BENCH_DIR/seed.py" url "$PG_ADMIN_URL" "$DB")
LEADEXEC_DATA_DIR=$SCRATCH/data LEADEXEC_DATABASE_URL=$URL LEADEXEC_LOG_LEVEL=WARNING \
  LEADEXEC_REDIS_URL="" "$PY" "$BENCH_DIR/seed_scale.py" seed --users "$USERS" \
  --database-url "$URL" --sample "$USERS" --out "$SCRATCH/ids.json" --tokens "$SCRATCH/tokens.txt"
APP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["app"])' "$SCRATCH/ids.json")
half=$(($(wc -l <"$SCRATCH/tokens.txt") / 2))
head -n "$half" "$SCRATCH/tokens.txt" >"$SCRATCH/tokens-0.txt"
tail -n +"$((half + 1))" "$SCRATCH/tokens.txt" >"$SCRATCH/tokens-1.txt"

for i in 0 1; do
  start_server "node-$i" "${PORTS[$i]}" env LEADEXEC_DATA_DIR="$SCRATCH/data-$i" \
    LEADEXEC_DATABASE_URL="$URL" LEADEXEC_REDIS_URL="$REDIS_URL" LEADEXEC_NOTICE_INTERVAL=0 \
    LEADEXEC_TOKEN_LIMIT_PER_APP=100000000/minute LEADEXEC_TOKEN_LIMIT_PER_IP=100000000/minute \
    LEADEXEC_LOG_LEVEL=WARNING "$LX" serve --host $H --port "${PORTS[$i]}" --workers 1
  PIDS+=("$SERVER_PID")
  wait_http "http://$H:${PORTS[$i]}/healthz" 60
done

export WRK_METHOD=GET WRK_HEADERS="" WRK_BODY="" WRK_BODY_TEMPLATE=""
export WRK_PATH_TEMPLATE="/api/token?appId=$APP&refreshToken={token}"
lua=$BENCH_DIR/lib/wrk-random.lua

# wrk_on I TOKENS OUT: one wrk against node I, its JSON line to OUT.
wrk_on() {
  TOKENS_FILE=$2 wrk -t1 -c"$CONNS" -d"$WRK_DURATION" --timeout 5s -s "$lua" \
    "http://$H:${PORTS[$1]}/api/token" 2>&1 | sed -n 's/^WRKJSON //p' >"$3"
}
ticks() { SERVER_PID=$1 server_cpu_ticks; }

report() { # LABEL: the JSON files $SCRATCH/w-*.json and the CPU ticks in $SCRATCH/cpu
  python3 - "$1" "$SCRATCH" "$(getconf CLK_TCK)" "$RESULTS_JSONL" <<'PY'
import glob, json, sys
label, scratch, hz, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
runs = [json.load(open(f)) for f in sorted(glob.glob(f"{scratch}/w-*.json"))]
cpu = [float(x) / hz for x in open(f"{scratch}/cpu").read().split()]
reqs = sum(r["requests"] for r in runs)
rps = sum(r["rps"] for r in runs)
errors = sum(r["status_ge400"] + r["err_connect"] + r["err_read"] + r["err_timeout"] for r in runs)
row = {"label": label, "processes": len(runs), "rps": round(rps), "errors": errors,
       "p99_ms": max(r["p99_ms"] for r in runs),
       "server_cpu_us_per_req": round(1e6 * sum(cpu) / max(1, reqs)),
       "per_process_rps": [round(r["rps"]) for r in runs]}
print(f"   {label}: {row['rps']:,} req/s summed {row['per_process_rps']}, errors {errors}, "
      f"p99 {row['p99_ms']:.1f} ms, {row['server_cpu_us_per_req']} us of server CPU a request")
with open(out, "a") as f:
    f.write(json.dumps(row) + "\n")
PY
  rm -f "$SCRATCH"/w-*.json
}

for round in 1 2; do
  echo "== round $round: both processes, half the tokens each, $CONNS connections each"
  jobs_=()
  for i in 0 1; do WRK_DURATION=$WRK_WARMUP wrk_on "$i" "$SCRATCH/tokens-$i.txt" /dev/null & jobs_+=($!); done
  wait "${jobs_[@]}"  # (a bare wait would wait for the servers too)
  wait_quiet
  c0=$(( $(ticks "${PIDS[0]}") + $(ticks "${PIDS[1]}") ))
  jobs_=()
  for i in 0 1; do wrk_on "$i" "$SCRATCH/tokens-$i.txt" "$SCRATCH/w-$i.json" & jobs_+=($!); done
  wait "${jobs_[@]}"
  c1=$(( $(ticks "${PIDS[0]}") + $(ticks "${PIDS[1]}") ))
  echo "$((c1 - c0))" >"$SCRATCH/cpu"
  report "two processes"
  echo "== round $round: one process, every token, $((2 * CONNS)) connections"
  CONNS=$((2 * CONNS)) WRK_DURATION=$WRK_WARMUP wrk_on 0 "$SCRATCH/tokens.txt" /dev/null
  wait_quiet
  c0=$(ticks "${PIDS[0]}")
  CONNS=$((2 * CONNS)) wrk_on 0 "$SCRATCH/tokens.txt" "$SCRATCH/w-0.json"
  c1=$(ticks "${PIDS[0]}")
  echo "$((c1 - c0))" >"$SCRATCH/cpu"
  report "one process"
done
echo "== revocation across processes: exchanged on 1, revoked on 0, refused on 1?"
T=$(tail -1 "$SCRATCH/tokens-1.txt")
q="appId=$APP&refreshToken=$T"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$H:${PORTS[1]}/api/token?$q")
[ "$code" = 200 ] || { echo "!! process 1 answered $code before the revocation" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "token=$T" "http://$H:${PORTS[0]}/api/revoke")
[ "$code" = 200 ] || { echo "!! process 0 answered $code to the revocation" >&2; exit 1; }
t0=$(date +%s%N)
while :; do
  body=$(curl -s -w ' %{http_code}' "http://$H:${PORTS[1]}/api/token?$q")
  ms=$((($(date +%s%N) - t0) / 1000000))
  if [ "${body##* }" != 200 ]; then break; fi
  [ "$ms" -gt 5000 ] && break
  sleep 0.02
done
if [ "${body##* }" = 400 ] && grep -q '"invalid_grant"' <<<"$body" && [ "$ms" -le 1000 ]; then
  echo "   refused by process 1 ${ms} ms after process 0 answered the revocation (400 invalid_grant)"
else
  echo "!! process 1 still answered ${body##* } ${ms} ms after the revocation: ${body:0:200}" >&2
  exit 1
fi
echo "{\"label\":\"revocation across processes\",\"refused_after_ms\":$ms}" >>"$RESULTS_JSONL"
echo "machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$ROOT" rev-parse --short HEAD)"

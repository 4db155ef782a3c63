#!/usr/bin/env bash
# The refresh exchange at scale: GET /api/token with a random token out of 1,000 grants and out
# of 1,000,000 grants, measured the way bench/run.sh measures (lib/common.sh: wrk -t1, a
# discarded warm-up, a quiet-machine wait, the server's CPU from /proc). Writes
#   bench/results/scale-<date>.jsonl   one JSON object per seeding and per wrk run (git-ignored)
#   docs/performance.md                its own section, between <!-- scale:begin/end --> (REPORT= to skip)
#
# usage: bash bench/scale.sh                     # SQLite, 1k and 1M grants, 2 rounds (~10 min)
#   SCALES="1000 100000" ROUNDS=1 bash bench/scale.sh
#   BACKENDS="sqlite postgresql" bash bench/scale.sh
#   SCALES        grant counts, smallest first (the ratio's base)   (default: "1000 1000000")
#   SAMPLE        token lines in wrk's file at every scale         (default: 20000)
#   BACKENDS      any of: sqlite postgresql                         (default: sqlite)
#   WORKERS       uvicorn worker counts                             (default: 1)
#   CONNS         wrk connections                                   (default: 16)
#   ROUNDS        interleaved rounds, the best reported             (default: 2)
#   CACHE_MS      the server's LEADEXEC_TOKEN_CACHE_MS               (default: 0, off)
#   PG_ADMIN_URL  PostgreSQL to create scratch databases in
#                 (default: postgresql+psycopg://postgres@127.0.0.1:5432/test)
#   SRC_REF       measure src/ of this commit instead of the work tree's
#   KEEP_SCRATCH  1: leave the seeded databases in the scratch directory (printed)
#   QUIET_WAIT_S, QUIET_MAX_CORES, WRK_DURATION, WRK_WARMUP   as in lib/common.sh
#
# Each scale is seeded once by seed_scale.py (bulk inserts through the real tables) and every
# server start gets a fresh copy of it. RSS: the peak (VmHWM) of each server process over its
# whole life, and the largest VmRSS sampled every 0.5 s during the warm-up and the measurement.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
export BENCH_DIR
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"

SCALES=${SCALES:-"1000 1000000"}
SAMPLE=${SAMPLE:-20000}
BACKENDS=${BACKENDS:-sqlite}
WORKERS=${WORKERS:-1}
CONNS=${CONNS:-16}
ROUNDS=${ROUNDS:-2}
# Off by default: at 1,000 grants most random picks repeat within the cache's lifetime, so the
# ratio would compare the cache with the database instead of the database at two sizes.
CACHE_MS=${CACHE_MS:-0}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
REPORT=${REPORT-$ROOT/docs/performance.md}
KEEP_SCRATCH=${KEEP_SCRATCH:-}
PY=$ROOT/.venv/bin/python
LX=$ROOT/.venv/bin/leadexec-signin
H=127.0.0.1
P=18120

log() { printf '\n== %s\n' "$*"; }
json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# check_200 URL grep-pattern: one request, must be 200 and contain pattern (as run.sh)
check_200() {
  local url=$1 pat=$2 body code
  body=$(curl -s -w '\n%{http_code}' "$url")
  code=${body##*$'\n'}; body=${body%$'\n'*}
  if [ "$code" != 200 ] || ! grep -q -- "$pat" <<<"$body"; then
    echo "!! sanity check failed for ${url%%\?*}: HTTP $code: ${body:0:300}" >&2
    return 1
  fi
}

# ---------------------------------------------------------------- memory from /proc
# kb_of FIELD PID: a "kB" field of /proc/PID/status, with builtins only (no fork per sample).
kb_of() {
  local k v _
  while read -r k v _; do
    if [ "$k" = "$1:" ]; then echo "$v"; return 0; fi
  done <"/proc/$2/status" 2>/dev/null
  echo 0
}
SAMPLER_PID=""
# rss_sampler OUT PIDS...: every 0.5 s, "largest total, largest single process" VmRSS so far.
rss_sampler() {
  local out=$1 pid r sum one max_sum=0 max_one=0; shift
  while :; do
    sum=0 one=0
    for pid in "$@"; do
      r=$(kb_of VmRSS "$pid")
      sum=$((sum + r)); [ "$r" -gt "$one" ] && one=$r
    done
    [ "$sum" -gt "$max_sum" ] && max_sum=$sum
    [ "$one" -gt "$max_one" ] && max_one=$one
    echo "$max_sum $max_one" >"$out.tmp" && mv "$out.tmp" "$out"
    sleep 0.5
  done
}
stop_sampler() {
  [ -n "$SAMPLER_PID" ] || return 0
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}

cleanup() {
  stop_sampler
  stop_server
  if [ -n "${PG_CREATED:-}" ]; then
    for db in $PG_CREATED; do "$PY" "$BENCH_DIR/seed.py" dropdb "$PG_ADMIN_URL" "$db" || true; done
  fi
  if [ -n "${SCRATCH:-}" ]; then
    if [ -n "$KEEP_SCRATCH" ]; then echo "scratch kept: $SCRATCH"; else rm -rf "$SCRATCH"; fi
  fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- seeding
# seed B N: a migrated database of N grants for backend B (an SQLite directory or a template
# database), its ids in $SCRATCH/ids-B-N.json, its tokens in $SCRATCH/tokens-B-N.txt.
seed() {
  local backend=$1 n=$2 args=()
  log "seeding $backend: $n grants (seed_scale.py)"
  if [ "$backend" = postgresql ]; then
    local tpl=lx_scale_$$_${n}_tpl
    "$PY" "$BENCH_DIR/seed.py" createdb "$PG_ADMIN_URL" "$tpl"
    PG_CREATED="${PG_CREATED:-} $tpl"
    args=(--database-url "$("$PY" "$BENCH_DIR/seed.py" url "$PG_ADMIN_URL" "$tpl")")
  else
    args=(--data-dir "$SCRATCH/sqlite-$n-tpl")
  fi
  LEADEXEC_LOG_LEVEL=WARNING LEADEXEC_REDIS_URL="" "$PY" "$BENCH_DIR/seed_scale.py" seed \
    --users "$n" --sample "$SAMPLE" "${args[@]}" \
    --out "$SCRATCH/ids-$backend-$n.json" --tokens "$SCRATCH/tokens-$backend-$n.txt"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.update(kind="seed"); print(json.dumps(d))' \
    "$SCRATCH/ids-$backend-$n.json" >>"$RESULTS_JSONL"
}

# ---------------------------------------------------------------- one measured run
DB_NAME=""
start() { # B N W: a fresh copy of the seeded database, then `leadexec-signin serve`
  local backend=$1 n=$2 w=$3
  fresh_database "$backend" "lx_scale_$$_${n}_tpl" "$SCRATCH/sqlite-$n-tpl" "$SCRATCH/run"
  local url=$DB_URL
  start_server "scale-$backend-$n-w$w-r$ROUND" $P env \
    LEADEXEC_DATA_DIR="$SCRATCH/run" LEADEXEC_DATABASE_URL="$url" LEADEXEC_REDIS_URL="" \
    LEADEXEC_NOTICE_INTERVAL=0 LEADEXEC_LOG_LEVEL=WARNING LEADEXEC_TOKEN_CACHE_MS="$CACHE_MS" \
    LEADEXEC_TOKEN_LIMIT_PER_APP=100000000/minute LEADEXEC_TOKEN_LIMIT_PER_IP=100000000/minute \
    "$LX" serve --host $H --port $P --workers "$w"
  wait_http "http://$H:$P/healthz" 60
}

run_one() { # B N W
  local backend=$1 n=$2 w=$3 app tokens url=http://$H:$P pids pid hwm=0 hwm_sum=0 h rss
  app=$(json_get app <"$SCRATCH/ids-$backend-$n.json")
  tokens=$SCRATCH/tokens-$backend-$n.txt
  log "$backend, $n grants, $w worker(s): GET /api/token, a random token per request"
  start "$backend" "$n" "$w"
  check_200 "$url/api/token?appId=$app&refreshToken=$(head -1 "$tokens")" '"authToken"'
  check_200 "$url/api/token?appId=$app&refreshToken=$(tail -1 "$tokens")" '"authToken"'
  # With --workers > 1 uvicorn's workers are up once /healthz answers; the group is fixed.
  pids=$(pgrep -g "$SERVER_PID" | tr '\n' ' ')
  # shellcheck disable=SC2086
  rss_sampler "$LOG_DIR/.rss" $pids &
  SAMPLER_PID=$!
  export WRK_METHOD=GET WRK_BODY="" WRK_HEADERS=""
  export WRK_LUA_DIR=$BENCH_DIR/lib APP_ID=$app TOKENS_FILE=$tokens
  RUN_META="\"kind\":\"run\",\"target\":\"ours\",\"backend\":\"$backend\",\"workers\":$w,\"users\":$n,\"workload\":\"scale-random\"" \
    WRK_LUA=$BENCH_DIR/lib/wrk-tokens.lua run_wrk "$backend, $n grants, w$w" "$CONNS" "$url/api/token"
  stop_sampler
  for pid in $pids; do
    h=$(kb_of VmHWM "$pid")
    hwm_sum=$((hwm_sum + h)); [ "$h" -gt "$hwm" ] && hwm=$h
  done
  read -r rss rss_one <"$LOG_DIR/.rss"
  sed -i '$ s/}$/,"rss_hwm_max_kb":'"$hwm"',"rss_hwm_sum_kb":'"$hwm_sum"',"rss_load_max_kb":'"$rss_one"',"rss_load_sum_kb":'"$rss"',"processes":'"$(wc -w <<<"$pids")"'}/' "$RESULTS_JSONL"
  echo "   RSS: peak per process $((hwm / 1024)) MB (VmHWM), under load $((rss_one / 1024)) MB"
  stop_server
  unset WRK_LUA_DIR APP_ID TOKENS_FILE
}

# ---------------------------------------------------------------- main
[ -x "$LX" ] || { echo "!! $LX missing: run scripts/test or scripts/demo once" >&2; exit 1; }
command -v wrk >/dev/null || { echo "!! wrk missing: bash bench/run.sh installs it (apt)" >&2; exit 1; }
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
mkdir -p "$RESULTS_DIR"
OUT_BASE=$RESULTS_DIR/scale-$(date +%F)
if [ -e "$OUT_BASE.jsonl" ]; then OUT_BASE=$OUT_BASE-$(date +%H%M%S); fi
RESULTS_JSONL=$OUT_BASE.jsonl
LOG_DIR=$WORK/logs/$(basename "$OUT_BASE")
mkdir -p "$LOG_DIR"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/lx-scale.XXXXXX")
source "$BENCH_DIR/lib/snapshot.sh"
take_src_snapshot
: >"$RESULTS_JSONL"
echo "code: $SOURCE"
echo "results -> $RESULTS_JSONL   (server logs: $LOG_DIR, scratch: $SCRATCH)"
echo "scales: $SCALES; sample $SAMPLE token lines; backends $BACKENDS; workers $WORKERS; conns $CONNS; rounds $ROUNDS"

for backend in $BACKENDS; do
  for n in $SCALES; do seed "$backend" "$n"; done
done
for ROUND in $(seq 1 "$ROUNDS"); do
  log "ROUND $ROUND / $ROUNDS"
  export ROUND
  for backend in $BACKENDS; do
    for w in $WORKERS; do
      for n in $SCALES; do run_one "$backend" "$n" "$w"; done
    done
  done
done

COMMAND="bash bench/scale.sh"
for v in SCALES SAMPLE BACKENDS WORKERS CONNS ROUNDS CACHE_MS SRC_REF QUIET_WAIT_S WRK_DURATION WRK_WARMUP; do
  case $v in
    SCALES) d="1000 1000000" ;; SAMPLE) d=20000 ;; BACKENDS) d=sqlite ;; WORKERS) d=1 ;;
    CONNS) d=16 ;; ROUNDS) d=2 ;; CACHE_MS) d=0 ;; SRC_REF) d="" ;; QUIET_WAIT_S) d=45 ;;
    WRK_DURATION) d=10s ;; WRK_WARMUP) d=5s ;;
  esac
  [ "${!v:-}" = "$d" ] || COMMAND="$v=\"${!v}\" $COMMAND"
done
out_args=()
[ -z "${REPORT:-}" ] || out_args=(--out "$REPORT")
"$PY" "$BENCH_DIR/seed_scale.py" report --jsonl "$RESULTS_JSONL" "${out_args[@]}" \
  --command "$COMMAND" --source "$SOURCE" | tee "$OUT_BASE.md"

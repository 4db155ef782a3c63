# Sourced by run.sh and scale.sh: one snapshot of src/ serves a whole run (seed, migrate, every
# server start), so edits made to the work tree while it runs can neither break it half-way
# nor mix two versions. SRC_REF=<commit> takes src/ from that commit instead (git archive:
# reads, changes nothing). Needs ROOT, PY and SCRATCH; sets SOURCE and PYTHONPATH.
take_src_snapshot() {
  local rev changed
  rev=$(git -C "$ROOT" rev-parse --short HEAD)
  if [ -n "${SRC_REF:-}" ]; then
    git -C "$ROOT" archive "$SRC_REF" src | tar -x -C "$SCRATCH"
    SOURCE="src/ of commit \`$(git -C "$ROOT" rev-parse --short "$SRC_REF")\`"
  else
    cp -a "$ROOT/src" "$SCRATCH/src"
    changed=$(GIT_OPTIONAL_LOCKS=0 git -C "$ROOT" status --porcelain -- src | wc -l)
    SOURCE="src/ of the work tree at commit \`$rev\`"
    [ "$changed" = 0 ] || SOURCE="$SOURCE plus $changed uncommitted change(s) under src/"
  fi
  find "$SCRATCH/src" -name __pycache__ -prune -exec rm -rf {} +
  SOURCE="$SOURCE, snapshot sha256 $(cd "$SCRATCH" && find src -type f -name '*.py' | sort | xargs cat | sha256sum | cut -c1-12)"
  export PYTHONPATH=$SCRATCH/src
  "$PY" -c 'import leadexec_signin.web.app' || { echo "!! $SOURCE does not import" >&2; exit 1; }
}

# fresh_database BACKEND PG_TEMPLATE SQLITE_TEMPLATE RUN_DIR: a fresh copy of a seeded database
# for one server start (no run inherits the rows an earlier one wrote): CREATE DATABASE ...
# TEMPLATE on PostgreSQL (named lx_bench_<pid>_run, dropped at exit), a copied directory on
# SQLite. Sets DB_NAME and DB_URL (empty for SQLite: the server's data directory is RUN_DIR).
fresh_database() {
  local backend=$1 pg_template=$2 sqlite_template=$3 run_dir=$4
  rm -rf "$run_dir"
  DB_URL=""
  DB_NAME=""
  if [ "$backend" = postgresql ]; then
    DB_NAME=lx_bench_$$_run
    "$PY" "$BENCH_DIR/seed.py" createdb "$PG_ADMIN_URL" "$DB_NAME" --template "$pg_template"
    [[ " ${PG_CREATED:-} " == *" $DB_NAME "* ]] || PG_CREATED="${PG_CREATED:-} $DB_NAME"
    DB_URL=$("$PY" "$BENCH_DIR/seed.py" url "$PG_ADMIN_URL" "$DB_NAME")
    mkdir -p "$run_dir"
  else
    cp -a "$sqlite_template" "$run_dir"
  fi
}

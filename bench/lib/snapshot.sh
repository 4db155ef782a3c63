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

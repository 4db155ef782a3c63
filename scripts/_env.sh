# Sourced by scripts/demo and scripts/test: makes .venv and installs the project into it,
# again only when pyproject.toml changed. Nothing is installed outside the project folder
# except Debian's chromium for the browser tests (scripts/test).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ]; then
  # The first run (and one after pyproject.toml changed) is otherwise silent for a minute.
  echo "Installing dependencies into .venv, about a minute..." >&2
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"

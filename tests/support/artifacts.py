"""Files the suite leaves in ``artifacts/`` for people to read (screenshots, summaries)."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path


def merge_json(path: Path, entries: dict[str, object]) -> None:
    """Adds ``entries`` to the JSON object in ``path``, under a lock: the modules (and xdist's
    workers) that each write part of one summary neither lose nor half-write each other's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = json.loads(path.read_text()) if path.exists() else {}
        written = path.with_name(path.name + ".tmp")
        written.write_text(json.dumps({**previous, **entries}, indent=1, sort_keys=True))
        written.replace(path)

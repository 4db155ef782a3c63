"""The SDK's weight budget: button.js and button.css together under 6 KB gzipped."""

from __future__ import annotations

import gzip
from pathlib import Path

import leadexec_signin

SDK = Path(leadexec_signin.__file__).resolve().parent / "static" / "signin"
BUDGET = 6 * 1024


def test_sdk_is_under_6_kb_gzipped() -> None:
    sizes = {
        name: len(gzip.compress((SDK / name).read_bytes(), 9))
        for name in ("button.js", "button.css")
    }
    assert sum(sizes.values()) < BUDGET, sizes


def test_sdk_uses_no_third_party_runtime() -> None:
    source = (SDK / "button.js").read_text()
    assert "import " not in source and "require(" not in source
    assert "http://" not in source and "https://" not in source  # everything from its own origin

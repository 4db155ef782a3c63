"""docs/security.md maps every threat to a named test: each name it cites must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
DOC = TESTS.parent / "docs" / "security.md"
_CITED = re.compile(
    r"`((?:security|web|core|browser|storage)/test_[a-z0-9_]+\.py)::(test_[a-z0-9_]+)`"
)
_BARE = re.compile(r"`(test_[a-z0-9_]+)`")


def defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


@pytest.mark.slow  # parses every test module of the suite
def test_every_test_the_threat_model_cites_exists() -> None:
    text = DOC.read_text()
    cited = _CITED.findall(text)
    assert len(cited) >= 60  # the model is not empty
    for file, name in cited:
        path = TESTS / file
        assert path.is_file(), f"docs/security.md cites a missing file {file}"
        assert name in defined(path), f"docs/security.md cites a missing test {file}::{name}"
    everywhere = set().union(*(defined(p) for p in TESTS.rglob("test_*.py")))
    for name in _BARE.findall(text):
        assert name in everywhere, f"docs/security.md cites a missing test {name}"

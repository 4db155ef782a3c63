"""``core/ports.py`` promises that a use case cannot reach a table it did not declare: each use
case takes a ``Store`` of its own transaction type. The promise holds only while a type checker
runs (``scripts/test`` runs mypy on ``src/``); this shows that mypy refuses the reach, and
accepts the same code when it stays inside its ports."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]

USE_CASE = """
from leadexec_signin.core.actions.usage import UsageTx
from leadexec_signin.core.ports import Store


def use_case(store: Store[UsageTx]) -> None:
    with store.transaction() as tx:
        tx.touch_grants({{}})
        {reach}
"""

pytestmark = pytest.mark.slow  # mypy over the core: a few seconds with its cache, more without


def check(tmp_path: Path, reach: str) -> tuple[int, str]:
    source = tmp_path / "use_case.py"
    source.write_text(USE_CASE.format(reach=reach))
    out, err, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            str(source),
        ]
    )
    return status, out + err


def test_a_use_case_cannot_reach_a_table_it_did_not_declare(tmp_path: Path) -> None:
    status, said = check(tmp_path, 'tx.user_by_id("someone")')
    assert status == 1, said
    assert '"UsageTx" has no attribute "user_by_id"  [attr-defined]' in said


def test_a_use_case_inside_its_ports_type_checks(tmp_path: Path) -> None:
    status, said = check(tmp_path, "tx.add_exchanges({})")
    assert status == 0, said

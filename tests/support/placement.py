"""Watching where the placement (``storage/placement.py``) runs a request."""

from __future__ import annotations

import pytest

from leadexec_signin.storage import placement as placement_module


def record_threads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What the placement hands to a thread from now on, in order."""
    handed: list[object] = []
    real = placement_module.in_thread

    async def counted(fn, *args):  # type: ignore[no-untyped-def]
        handed.append(fn)
        return await real(fn, *args)

    monkeypatch.setattr(placement_module, "in_thread", counted)
    return handed

"""``scim2-models``, imported at the first SCIM request instead of at start-up: with pydantic's
models of RFC 7643 it is 0.28 s of a process's start, paid by every server process and
command, and most never answer ``/scim/v2``."""

from __future__ import annotations

import importlib
from typing import Any


class _Lazy:
    """Attribute access on the module, importing it first; the import system's own lock makes
    two first requests on two threads import it once."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("scim2_models"), name)


scim = _Lazy()

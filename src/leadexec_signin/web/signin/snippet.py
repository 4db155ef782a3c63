"""The seed's "LeadExec Application Button Code Block", with this provider's host filled in.

One copy serves the partner console, the demo partner site and the docs' tests. The seed writes
no scheme (the page's own protocol is used) and its copy stops after the stylesheet's href;
appending the stylesheet to the head and the closing lines complete it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent.parent / "templates" / "snippet.txt"


@lru_cache(maxsize=1)
def _template() -> str:
    return TEMPLATE.read_text().rstrip("\n")


def snippet(provider_host: str) -> str:
    """The loader for a provider reached at ``host[:port]``."""
    return _template().replace("PROVIDER_HOST", provider_host)

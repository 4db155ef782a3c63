"""docs/oauth.md prints the JavaScript examples this package runs, byte for byte.

Each example is a fenced block right after ``<!-- example: PATH -->``, PATH from the
repository's root; a block that drifts from its file, or a file the guide stops showing, fails.
"""

from __future__ import annotations

import re

from support.live import ROOT

GUIDE = ROOT / "docs" / "oauth.md"
EXAMPLES = {
    "openid-client (Node)": ["tests/oauth_clients/js/leadexec.mjs"],
    "oidc-client-ts (browser)": [
        "tests/oauth_clients/spa/index.html",
        "tests/oauth_clients/spa/app.js",
    ],
}
BLOCK = re.compile(r"<!-- example: (\S+) -->\n```[a-z]*\n(.*?)```\n", re.S)


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_guide_shows_the_examples_the_tests_run() -> None:
    found = sections(GUIDE.read_text())
    for title, paths in EXAMPLES.items():
        assert title in found, f"docs/oauth.md has no section {title!r}"
        blocks = dict(BLOCK.findall(found[title]))
        assert list(blocks) == paths, f"examples of {title!r}"
        for path, code in blocks.items():
            assert code == (ROOT / path).read_text(), f"docs/oauth.md differs from {path}"

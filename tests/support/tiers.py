"""The suite's tiers: a pytest plugin (``pytest_plugins`` of the root ``conftest.py``).

Markers, listed in ``pyproject.toml``:

- ``browser``: drives Debian's Chromium through Playwright;
- ``cluster``: starts server processes (``leadexec-signin serve``) or shares Redis between them;
- ``node``: runs Node.js (``npm ci``, the JavaScript client libraries, the Node quickstarts);
- ``php``: runs PHP (the PHP quickstarts);
- ``postgresql``: runs on the machine's PostgreSQL;
- ``slow``: takes more than about a second on its own for another reason (fuzzing, many
  property examples, a command line in a subprocess, a live server).

``pytest --fast`` (``bash scripts/test --fast``) runs the tests that carry none of them: core,
storage on SQLite and HTTP. A test gets most markers from the fixtures it uses (``BY_FIXTURE``),
so a new test that asks for ``page`` or ``start_node`` leaves the fast tier by itself; a test
that is slow for another reason is marked by hand (``@pytest.mark.slow``, or
``pytestmark = pytest.mark.slow`` for a whole module). An unmarked test is fast by default, and
every run names, at its end, the unmarked tests that took longer than ``FAST_SECONDS``: mark
them, or make them faster.
"""

from __future__ import annotations

import time

import pytest

TIER_MARKERS = ("browser", "cluster", "node", "php", "postgresql", "slow")
FAST = "not (" + " or ".join(TIER_MARKERS) + ")"
FAST_SECONDS = 1.0
FAST_BUDGET_SECONDS = 60.0

# A test that uses one of these fixtures gets the marker, whether or not its module says so.
BY_FIXTURE = {
    "browser": {"playwright", "browser", "context", "page"},
    "cluster": {"start_node", "live_idp", "redis_url"},
    "node": {"node_modules"},
    "postgresql": {"pg_database"},
    "slow": {"site"},
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help=f"the fast tier: only tests marked none of {', '.join(TIER_MARKERS)}",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("fast"):
        given = config.option.markexpr
        config.option.markexpr = f"({given}) and {FAST}" if given else FAST
    config.pluginmanager.register(SlowUnmarked(config), "leadexec-slow-unmarked")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: before pytest's -m deselection and xdist's loadgroup naming read the markers.
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in BY_FIXTURE.items():
            if used & fixtures:
                item.add_marker(marker)
        # A test run on each backend by a fixture's params (``database_url`` and its kind).
        callspec = getattr(item, "callspec", None)
        if callspec is not None and any(v == "postgresql" for v in callspec.params.values()):
            item.add_marker("postgresql")


class SlowUnmarked:
    """Names the unmarked tests that took longer than the fast tier allows, and the fast
    tier's own time. On xdist's controller too: a worker's report carries the test's markers
    among its keywords."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.monotonic()
        self.found: list[tuple[float, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or report.duration <= FAST_SECONDS:
            return
        if not any(marker in report.keywords for marker in TIER_MARKERS):
            self.found.append((report.duration, report.nodeid))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.found and not hasattr(self.config, "workerinput"):
            terminalreporter.section("unmarked tests slower than the fast tier allows", yellow=True)
            terminalreporter.write_line(
                f"Over {FAST_SECONDS:.0f} s each and no tier marker, so they run in "
                "`scripts/test --fast`: mark them (@pytest.mark.slow, see "
                "tests/support/tiers.py) or make them faster."
            )
            for duration, nodeid in sorted(self.found, reverse=True):
                terminalreporter.write_line(f"{duration:7.2f}s {nodeid}")
        if self.config.getoption("fast"):
            terminalreporter.write_line(
                f"fast tier: {time.monotonic() - self.started:.1f} s in pytest "
                f"(the budget: {FAST_BUDGET_SECONDS:.0f} s with lint and types)"
            )

"""The live provider of the browser suite, for the quickstart examples partners copy."""

from browser.conftest import site  # noqa: F401 - a fixture of this package too

"""Helpers the test modules import: constants, the popup driven over HTTP, the seeded world,
the databases, live servers and the exact refusals. Fixtures stay in the ``conftest.py``
files; anything a test module imports by name lives here."""

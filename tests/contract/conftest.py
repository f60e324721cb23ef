"""Fixtures of the provider contract suite: a served emulator and a config repository per provider."""

from tests.faults.conftest import serve_repo  # noqa: F401 - the fixture, shared with the fault tests

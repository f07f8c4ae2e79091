"""The pytest fixture: `from fakegithub.fixtures import fake_github` in conftest.py makes it available."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakegithub.server import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A running fake GitHub, empty but for the token `test-token` (every permission at write)."""
    with FakeGitHub() as fake:
        yield fake

"""Fixtures for every test module: the fake GitHub, the `dualdeploy` runner, and act for e2e/."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from fakegithub.fixtures import fake_github  # noqa: F401
from runner import dualdeploy, keep_request_count  # noqa: F401


@pytest.fixture(scope="module")
def act() -> Path:
    """The act executable (the test is skipped without it, failed when CI=true)."""
    from e2e.act import act_binary

    return act_binary()


@pytest.fixture
def clock() -> datetime:
    """Now, to the second: for histories dated relative to the real clock."""
    return datetime.now(timezone.utc).replace(microsecond=0)

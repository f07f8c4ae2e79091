"""A stateful fake of GitHub's REST API on loopback, for integration tests (see `server`)."""

from fakegithub.server import DEFAULT_TOKEN, FakeGitHub, RecordedRequest
from fakegithub.state import ChangedFile

__all__ = ["DEFAULT_TOKEN", "ChangedFile", "FakeGitHub", "RecordedRequest"]

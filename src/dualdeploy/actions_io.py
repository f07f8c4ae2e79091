"""The GitHub Actions side of a run: annotations, outputs, the job summary, masking, the event."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# Every command imports this module: importing typing would cost each start a few ms, and the
# names are only needed by type checkers (which treat this constant as typing.TYPE_CHECKING).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_COMMANDS_TO_STDERR = False


def commands_to_stderr(enabled: bool) -> None:
    """Send workflow commands (annotations, masks) to stderr: with `--format json`, stdout holds the
    JSON alone. The runner reads workflow commands from both streams."""
    global _COMMANDS_TO_STDERR
    _COMMANDS_TO_STDERR = enabled


def _command_stream() -> TextIO:
    return sys.stderr if _COMMANDS_TO_STDERR else sys.stdout


def annotate(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Print a workflow command (`::error file=…,line=…::message`) when running in Actions."""
    if not in_actions():
        return
    print(
        workflow_command(level, message, file=file, line=line, title=title),
        file=stream or _command_stream(),
        flush=True,
    )


def workflow_command(
    level: str, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
) -> str:
    """The text of an annotation: `::error file=…,line=…,title=…::message`, escaped for the runner."""
    properties = []
    if file:
        properties.append(f"file={_escape_property(file)}")
    if line:
        properties.append(f"line={line}")
    if title:
        properties.append(f"title={_escape_property(title)}")
    joined = " " + ",".join(properties) if properties else ""
    return f"::{level}{joined}::{_escape_data(message)}"


def mask(value: str) -> None:
    """Ask the runner to hide a secret in every later log line."""
    if in_actions() and value:
        for line in value.splitlines():
            if line.strip():
                print(f"::add-mask::{line}", file=_command_stream(), flush=True)


def set_output(name: str, value: str) -> None:
    """Write a step output; a random delimiter keeps a value from ending the block early."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    import secrets  # only in a workflow: hashlib and random are slow to import

    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    # A blank line at the end: a summary that ends in raw HTML (</details>) would otherwise swallow
    # the next step's heading, since the runner joins the summaries of a job into one document.
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip("\n") + "\n\n")


def load_event() -> tuple[str, dict[str, Any]]:
    """The triggering event's name and payload, or ("", {}) outside Actions."""
    name = os.environ.get("GITHUB_EVENT_NAME", "")
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).is_file():
        return name, {}
    try:
        return name, json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return name, {}


def repo_url() -> str | None:
    """https://github.com/owner/name of the current workflow run, when known."""
    repository = os.environ.get("GITHUB_REPOSITORY")
    if not repository:
        return None
    return f"{os.environ.get('GITHUB_SERVER_URL', 'https://github.com').rstrip('/')}/{repository}"


def run_url() -> str | None:
    """The page of the current workflow run, when known."""
    base, run_id = repo_url(), os.environ.get("GITHUB_RUN_ID")
    return f"{base}/actions/runs/{run_id}" if base and run_id else None


def repository_name() -> str:
    """owner/name of the current repository, for messages."""
    return os.environ.get("GITHUB_REPOSITORY") or "this repository"


def json_object_input(text: str | None, key: str, example: str) -> dict:
    """An input that holds a JSON object ({} when empty); anything else is a usage error naming it."""
    from dualdeploy.errors import DualDeployError

    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise DualDeployError(f"not valid JSON: {error}", key=key) from None
    if not isinstance(value, dict):
        raise DualDeployError(f"must be a JSON object like {example}", key=key)
    return value


def default_branch() -> str | None:
    """The repository's default branch, when the run knows it: DD_DEFAULT_BRANCH, else the event's repository."""
    configured = os.environ.get("DD_DEFAULT_BRANCH", "").strip()
    if configured:
        return configured
    _, event = load_event()
    branch = (event.get("repository") or {}).get("default_branch")
    return branch if isinstance(branch, str) and branch else None

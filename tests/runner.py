"""`dualdeploy` run as a workflow step runs it: a clean environment, outputs, job summary, annotations.

One runner for every test of a command: in this process (`cli.main`, fast) or as `python -m
dualdeploy` (for what only a process shows: stderr, exit status, a second run at the same time).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from dualdeploy import cli, github

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
COMMAND = (sys.executable, "-m", "dualdeploy")
# What a runner or the person running the tests may have set that would steer dualdeploy.
OUTSIDE_PREFIXES = ("GITHUB_", "DD_", "RUNNER_")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    outputs_text: str  # the GITHUB_OUTPUT file as written


def parse_outputs(text: str) -> dict[str, str]:
    """The GITHUB_OUTPUT file as name -> value; every value is written `name<<delimiter` … `delimiter`."""
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        outputs[name] = "\n".join(value)
    return outputs


def annotations(run: Run, level: str) -> list[str]:
    """The workflow commands of `level` (error, warning, notice) that the run printed."""
    return [line for line in run.stdout.splitlines() if line.startswith(f"::{level} ")]


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the GITHUB_*, DD_* and RUNNER_* variables out of this process's environment."""
    for name in list(os.environ):
        if name.startswith(OUTSIDE_PREFIXES):
            monkeypatch.delenv(name)


def process_env(settings: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The environment of a `python -m dualdeploy` child: ours, cleaned, with src importable and `settings`
    on top (None leaves a variable out)."""
    # Bytecode may be written, as on a runner: compiling PyGithub on every start costs seconds.
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(OUTSIDE_PREFIXES) and name != "PYTHONDONTWRITEBYTECODE"
    }
    merged = {**clean, "PYTHONPATH": SRC, **(settings or {})}
    return {name: value for name, value in merged.items() if value is not None}


def run_process(
    *args: str, env: Mapping[str, str | None] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """`python -m dualdeploy *args` in a clean environment plus `env`."""
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=cwd, env=process_env(env))


@dataclass
class Dualdeploy:
    """Runs `dualdeploy` as a workflow step would: Actions environment, outputs and summary files.

    In process by default (importing PyGithub costs a child process about a second on a busy
    machine); `as_process=True` runs `python -m dualdeploy` for real. In process needs the
    test's `monkeypatch` and `capsys`.
    """

    folder: Path
    monkeypatch: pytest.MonkeyPatch | None = None
    capsys: pytest.CaptureFixture[str] | None = None
    repository: str = "octo/mono"

    def __call__(self, *args: str, env: Mapping[str, str | None] | None = None, as_process: bool = False) -> Run:
        output, summary = self.folder / "output", self.folder / "summary"
        output.write_text("")
        summary.write_text("")
        settings = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            **(env or {}),
        }
        if as_process:
            done = run_process(*args, env=settings)
            returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
        else:
            returncode, stdout, stderr = self._in_process(args, settings)
        written = output.read_text()
        return Run(returncode, stdout, stderr, parse_outputs(written), summary.read_text(), written)

    def _in_process(self, args: tuple[str, ...], settings: Mapping[str, str | None]) -> tuple[int, str, str]:
        if self.monkeypatch is None or self.capsys is None:
            raise TypeError("running dualdeploy in this process needs monkeypatch and capsys")
        with self.monkeypatch.context() as patch:
            clean_environment(patch)
            for name, value in settings.items():
                if value is not None:
                    patch.setenv(name, value)
            patch.setattr(github.REQUESTS, "count", 0)  # a fresh count, as in a new process
            self.capsys.readouterr()
            returncode = cli.main(list(args))
            captured = self.capsys.readouterr()
        return returncode, captured.out, captured.err


@pytest.fixture
def dualdeploy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Dualdeploy:
    """The runner for octo/mono, writing its outputs and summary to the test's tmp_path."""
    return Dualdeploy(tmp_path, monkeypatch, capsys)


@pytest.fixture
def keep_request_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub clients a test makes itself count into the process-wide counter: leave it as it was."""
    monkeypatch.setattr(github.REQUESTS, "count", github.REQUESTS.count)


def setup_venv() -> Path:
    """The venv the actions' setup reuses (DD_VENV): the project's .venv, else the one running pytest."""
    project_venv = ROOT / ".venv"
    return project_venv if (project_venv / "pyvenv.cfg").is_file() else Path(sys.prefix)

"""actions/setup/setup.sh: the venv every composite action runs in.

The first build installs requirements/runtime.txt from the package index, once per session
(module-scoped fixture). Later builds run with UV_OFFLINE=1, so they come from uv's cache and
also show that a rebuild needs no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = Path("actions/setup/setup.sh")
MARKER = ".dualdeploy-complete"
# The test run's own PYTHONPATH would hide whether the venv can import something by itself.
NO_PYTHONPATH = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@dataclass(frozen=True)
class SetupRun:
    returncode: int
    stdout: str
    github_env: dict[str, str]

    @property
    def venv(self) -> Path:
        return Path(self.github_env["DD_PYTHON"]).parents[1]


def _runner_env(runner_temp: Path, tools: Path, **extra: str) -> dict[str, str]:
    """A runner's environment: no GITHUB_*/DD_* from outside, uv (when there is one) on PATH."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "DD_", "RUNNER_", "UV_")) and k != "VIRTUAL_ENV"
    }
    return {
        **clean,
        "PATH": f"{tools}{os.pathsep}{clean['PATH']}",
        "RUNNER_TEMP": str(runner_temp),
        "DD_SETUP_PYTHON": sys.executable,
        **extra,
    }


def run_setup(root: Path, env: dict[str, str], github_env: Path) -> SetupRun:
    github_env.write_text("")
    result = subprocess.run(
        ["bash", str(root / SETUP)],
        check=False,
        capture_output=True,
        text=True,
        cwd=github_env.parent,
        env={**env, "GITHUB_ENV": str(github_env)},
    )
    lines = [line.split("=", 1) for line in github_env.read_text().splitlines()]
    return SetupRun(result.returncode, result.stdout + result.stderr, {key: value for key, value in lines})


def suite_copy(destination: Path, version: str) -> Path:
    """The files setup.sh reads, with another suite version in pyproject.toml."""
    (destination / "actions/setup").mkdir(parents=True)
    (destination / "requirements").mkdir()
    shutil.copy(ROOT / SETUP, destination / SETUP)
    shutil.copy(ROOT / "requirements/runtime.txt", destination / "requirements/runtime.txt")
    pyproject = (ROOT / "pyproject.toml").read_text()
    (destination / "pyproject.toml").write_text(pyproject.replace('version = "', f'version = "{version}" #', 1))
    return destination


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PATH entry holding uv: tests/run.sh installs it next to the test interpreter."""
    tools = tmp_path_factory.mktemp("tools")
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv:
        (tools / "uv").symlink_to(uv)
    return tools


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runner_temp")


@pytest.fixture(scope="module")
def first_run(runner_temp: Path, tools: Path) -> SetupRun:
    run = run_setup(ROOT, _runner_env(runner_temp, tools), runner_temp.parent / "first_github_env")
    assert run.returncode == 0, run.stdout
    return run


def test_creates_a_venv_in_runner_temp_and_exports_it(first_run: SetupRun, runner_temp: Path) -> None:
    version = next(
        line.split('"')[1] for line in (ROOT / "pyproject.toml").read_text().splitlines() if line.startswith("version")
    )
    assert first_run.venv.parent == runner_temp
    assert first_run.venv.name.startswith(f"dualdeploy-{version}-")
    assert (first_run.venv / MARKER).is_file()
    assert Path(first_run.github_env["DD_PYTHON"]).is_file()
    assert first_run.github_env["DD_ROOT"] == str(ROOT)


def test_venv_has_the_runtime_dependencies_but_not_the_package(first_run: SetupRun, tmp_path: Path) -> None:
    python = first_run.github_env["DD_PYTHON"]
    imports = subprocess.run(
        [python, "-c", "import github, yaml, jinja2, wcmatch, slack_sdk, fastjsonschema"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=NO_PYTHONPATH,
    )
    assert imports.returncode == 0, imports.stderr
    without_path = subprocess.run(
        [python, "-c", "import dualdeploy"], check=False, capture_output=True, cwd=tmp_path, env=NO_PYTHONPATH
    )
    assert without_path.returncode != 0


def test_run_step_recipe_runs_the_cli_from_the_checkout(first_run: SetupRun, tmp_path: Path) -> None:
    env = {**NO_PYTHONPATH, "PYTHONPATH": f"{first_run.github_env['DD_ROOT']}/src", "PYTHONSAFEPATH": "1"}
    result = subprocess.run(
        [first_run.github_env["DD_PYTHON"], "-m", "dualdeploy", "--version"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dualdeploy ")


def test_second_run_reuses_the_venv(first_run: SetupRun, runner_temp: Path, tools: Path, tmp_path: Path) -> None:
    marker = first_run.venv / MARKER
    site_packages = next(first_run.venv.glob("lib/python3*/site-packages"), first_run.venv / "Lib/site-packages")
    before = (marker.stat().st_mtime_ns, site_packages.stat().st_mtime_ns)
    again = run_setup(ROOT, _runner_env(runner_temp, tools, UV_OFFLINE="1"), tmp_path / "github_env")
    assert again.returncode == 0, again.stdout
    assert "reusing" in again.stdout
    assert again.github_env == first_run.github_env
    assert (marker.stat().st_mtime_ns, site_packages.stat().st_mtime_ns) == before


@pytest.fixture(scope="module")
def other_version(
    first_run: SetupRun, runner_temp: Path, tools: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SetupRun]:
    """The suite at another version, set up in the same job: built from uv's cache, offline."""
    root = suite_copy(tmp_path_factory.mktemp("suite"), "9.9.9")
    run = run_setup(root, _runner_env(runner_temp, tools, UV_OFFLINE="1"), root / "github_env")
    assert run.returncode == 0, run.stdout
    return root, run


def test_another_version_gets_its_own_venv(first_run: SetupRun, other_version: tuple[Path, SetupRun]) -> None:
    root, run = other_version
    assert run.venv != first_run.venv
    assert run.venv.name.startswith("dualdeploy-9.9.9-")
    assert run.github_env["DD_ROOT"] == str(root)
    assert (first_run.venv / MARKER).is_file()


def test_half_built_venv_is_rebuilt(other_version: tuple[Path, SetupRun], runner_temp: Path, tools: Path) -> None:
    root, built = other_version
    (built.venv / MARKER).unlink()
    leftover = built.venv / "left-by-a-cancelled-job"
    leftover.write_text("")
    rebuilt = run_setup(root, _runner_env(runner_temp, tools, UV_OFFLINE="1"), root / "github_env")
    assert rebuilt.returncode == 0, rebuilt.stdout
    assert "reusing" not in rebuilt.stdout and "incomplete" in rebuilt.stdout
    assert rebuilt.venv == built.venv
    assert (built.venv / MARKER).is_file() and not leftover.exists()
    imports = subprocess.run(
        [rebuilt.github_env["DD_PYTHON"], "-c", "import github, slack_sdk"],
        check=False,
        capture_output=True,
        env=NO_PYTHONPATH,
    )
    assert imports.returncode == 0


def test_dd_venv_is_used_as_is(tools: Path, tmp_path: Path) -> None:
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir()
    run = run_setup(ROOT, _runner_env(runner_temp, tools, DD_VENV=sys.prefix), tmp_path / "github_env")
    assert run.returncode == 0, run.stdout
    assert Path(run.github_env["DD_PYTHON"]).parents[1] == Path(sys.prefix)
    assert run.github_env["DD_ROOT"] == str(ROOT)
    assert list(runner_temp.iterdir()) == []


def test_dd_venv_that_is_not_a_venv_fails(tools: Path, tmp_path: Path) -> None:
    run = run_setup(ROOT, _runner_env(tmp_path, tools, DD_VENV=str(tmp_path)), tmp_path / "github_env")
    assert run.returncode == 1
    assert "::error" in run.stdout and "DD_VENV" in run.stdout
    assert run.github_env == {}


def test_python_older_than_3_10_is_refused(tools: Path, tmp_path: Path) -> None:
    old_python = tmp_path / "python3.9"
    old_python.write_text("#!/bin/sh\necho 3.9.18\nexit 1\n")
    old_python.chmod(0o755)
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir()
    run = run_setup(ROOT, _runner_env(runner_temp, tools, DD_SETUP_PYTHON=str(old_python)), tmp_path / "github_env")
    assert run.returncode == 1
    assert "::error" in run.stdout and "3.10 or newer" in run.stdout and "3.9.18" in run.stdout
    assert run.github_env == {} and list(runner_temp.iterdir()) == []


def test_missing_interpreter_is_named(tools: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-python"
    run = run_setup(ROOT, _runner_env(tmp_path, tools, DD_SETUP_PYTHON=str(missing)), tmp_path / "github_env")
    assert run.returncode == 1
    assert f"::error title=Dual Deploy Guard setup::DD_SETUP_PYTHON={missing}" in run.stdout

"""Never pass blind: the sync check in every situation where it cannot see (issue 10's acceptance).

The repository is the issue's: `tenant-agent` was deployed at the first commit and a tenant change
landed two hours before the check. Each blind situation must end in a non-zero exit status and one
line that names the cause; a depth-1 clone must give the very answer a full clone gives.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

from gitrepo import GitRepo, with_example_config
from runner import Dualdeploy, Run

NOW = int(time.time())
TENANT = "server/src/agent-v2/deploy/tenant/index.ts"


@pytest.fixture
def origin(tmp_path: Path) -> GitRepo:
    """The issue's repository: deployed at the first commit, a tenant change two hours ago."""
    repo = with_example_config(
        tmp_path / "origin",
        {"server/src/index.ts": "1", TENANT: "1", "server/src/agent-v2/deploy/support/index.ts": "1"},
        date=f"@{NOW - 86_400} +0000",
    )
    for index in range(5):  # some history between the deploy and the change
        repo.commit(f"API {index}", {"server/src/index.ts": str(index)}, date=f"@{NOW - 80_000 + index} +0000")
    repo.commit("Tenant: answer in French", {TENANT: "2"}, date=f"@{NOW - 7_200} +0000")
    repo.commit("API later", {"server/src/index.ts": "later"}, date=f"@{NOW - 3_600} +0000")
    return repo


def first_sha(repo: GitRepo) -> str:
    return repo.git("rev-list", "--max-parents=0", "HEAD")


def sync_check(dualdeploy: Dualdeploy, repo: Path, *args: str, env: dict | None = None) -> Run:
    return dualdeploy(
        "sync-check",
        "--repo",
        str(repo),
        "--grace-minutes",
        "5",
        "--report",
        str(dualdeploy.folder / "report.json"),
        *args,
        env={"GITHUB_TOKEN": None, **(env or {})},
        as_process=True,
    )


def error_line(run: Run) -> str:
    """The one line a failing run ends with (the request count may follow it)."""
    lines = [line for line in run.stderr.splitlines() if line.startswith("dualdeploy: error: ")]
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nobody listens there


def test_a_typo_in_deployed_shas_is_exit_2_with_did_you_mean(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    given = json.dumps({"tenant-agnt": first_sha(origin)})
    run = sync_check(dualdeploy, origin.path, "--deployed-shas", given, "--components", "tenant-agent")
    assert run.returncode == 2
    line = error_line(run)
    assert "deployed-shas: no component 'tenant-agnt'" in line and "did you mean 'tenant-agent'?" in line


def test_a_typo_in_components_is_exit_2_with_did_you_mean(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    given = json.dumps({"tenant-agent": first_sha(origin)})
    run = sync_check(dualdeploy, origin.path, "--deployed-shas", given, "--components", "tenant-agnt")
    assert run.returncode == 2
    assert "did you mean 'tenant-agent'?" in error_line(run)


def test_a_typo_in_job_results_is_exit_2_with_did_you_mean(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    given = json.dumps({"tenant-agent": first_sha(origin)})
    results = json.dumps({"deploy-tenant-agnt": {"result": "success"}, "build": {"result": "success"}})
    run = dualdeploy(
        "status", "--repo", str(origin.path), "--deployed-shas", given, "--job-results", results, as_process=True
    )
    assert run.returncode == 2
    line = error_line(run)
    assert "job-results: no component 'deploy-tenant-agnt'" in line and "did you mean 'tenant-agent'?" in line
    # A job that is no component's (build, test) is still fine.
    fine = json.dumps({"build": {"result": "success"}, "deploy-api": {"result": "success"}})
    ok = dualdeploy(
        "status",
        "--repo",
        str(origin.path),
        "--deployed-shas",
        given,
        "--job-results",
        fine,
        env={"GITHUB_ACTIONS": None},
    )
    assert ok.returncode == 0, ok.stderr


def test_in_actions_without_a_token_fails_with_the_fix(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    run = sync_check(dualdeploy, origin.path, "--components", "tenant-agent")
    assert run.returncode != 0 and run.returncode == 2
    line = error_line(run)
    assert "no GitHub token" in line and "`github-token`" in line and "`deployed-shas`" in line


def test_without_a_token_on_a_laptop_unknown_fails(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    run = sync_check(dualdeploy, origin.path, "--components", "tenant-agent", env={"GITHUB_ACTIONS": None})
    assert run.returncode == 1
    line = error_line(run)
    assert "cannot tell what tenant-agent runs: no GitHub token" in line and "fix: " in line
    warned = sync_check(
        dualdeploy, origin.path, "--components", "tenant-agent", "--on-unknown", "warn", env={"GITHUB_ACTIONS": None}
    )
    assert warned.returncode == 0, warned.stderr


def test_full_clone_finds_the_pending_commit(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    given = json.dumps({"tenant-agent": first_sha(origin)})
    run = sync_check(dualdeploy, origin.path, "--deployed-shas", given, "--components", "tenant-agent")
    assert run.returncode == 1, run.stderr
    [stale] = json.loads(run.outputs["stale"])
    assert [commit["subject"] for commit in stale["pending_commits"]] == ["Tenant: answer in French"]


def clone(origin: GitRepo, target: Path, *options: str) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", *options, f"file://{origin.path}", str(target)], check=True, capture_output=True
    )
    return target

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

from fakegithub import FakeGitHub
from gitrepo import GitRepo, with_example_config
from runner import COMMAND, Dualdeploy, Run, process_env

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


def test_github_unreachable_is_exit_2_blaming_the_connection(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    env = {"GITHUB_TOKEN": "ghs_token", "GITHUB_API_URL": f"http://127.0.0.1:{closed_port()}"}
    run = sync_check(dualdeploy, origin.path, "--components", "tenant-agent", env=env)
    assert run.returncode == 2
    line = error_line(run)
    assert "cannot connect" in line and "GITHUB_API_URL" in line
    assert "permission" not in line and "deployments: read" not in line


@pytest.mark.parametrize(
    ("token", "repository", "cause"),
    [
        ("ghs_unknown_token", "octo/mono", "the token is invalid or expired"),
        ("ghs_no_deployments", "octo/mono", "the token likely lacks `deployments: read`"),
        ("test-token", "octo/gone", "not found: wrong repository (octo/gone) or name, or the token cannot see it"),
    ],
)
def test_github_errors_name_the_cause(
    dualdeploy: Dualdeploy, origin: GitRepo, fake_github: FakeGitHub, token: str, repository: str, cause: str
) -> None:
    fake_github.add_repo("octo/mono")
    fake_github.add_token("ghs_no_deployments", permissions={"contents": "read"})
    env = {**fake_github.env(token), "GITHUB_REPOSITORY": repository}
    run = sync_check(dualdeploy, origin.path, "--components", "tenant-agent", env=env)
    assert run.returncode == 2
    line = error_line(run)
    assert cause in line, line
    assert "cannot connect" not in line


def test_a_closed_stdout_keeps_the_failure(tmp_path: Path) -> None:
    """`dualdeploy docs --check | head -1`: the reader leaves early, the exit status stays 1."""
    repo = with_example_config(tmp_path / "docs", {})
    command = [*COMMAND, "docs", "--check", "--repo", str(repo.path)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=process_env(), text=True
    ) as process:
        first = process.stdout.readline()
        process.stdout.close()  # what `head -1` does after its line
        stderr = process.stderr.read()
    assert first.startswith("--- ")
    assert process.returncode == 1, stderr
    assert "out of date" in stderr and "Traceback" not in stderr and "BrokenPipe" not in stderr
    shell = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" | head -1 >/dev/null', "bash", *command],
        capture_output=True,
        text=True,
        env=process_env(),
    )
    assert shell.returncode == 1, shell.stderr


def test_sync_check_format_json_is_json_only_on_stdout(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    given = json.dumps({"tenant-agent": first_sha(origin)})
    run = sync_check(
        dualdeploy, origin.path, "--deployed-shas", given, "--components", "tenant-agent", "--format", "json"
    )
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)  # annotations and the text went to stderr
    assert report["in_sync"] is False and report["unknown"] == []
    [tenant] = report["components"]
    assert tenant["status"] == "stale" and tenant["overdue"] is True
    assert "::error " in run.stderr and "tenant-agent: stale (overdue)" in run.stderr


def test_a_depth_1_clone_gives_the_full_clone_answer(dualdeploy: Dualdeploy, origin: GitRepo, tmp_path: Path) -> None:
    given = json.dumps({"tenant-agent": first_sha(origin)})
    full = sync_check(dualdeploy, origin.path, "--deployed-shas", given, "--components", "tenant-agent")
    shallow = clone(origin, tmp_path / "shallow", "--depth", "1", "--no-single-branch")
    assert (shallow / ".git" / "shallow").is_file()
    run = sync_check(dualdeploy, shallow, "--deployed-shas", given, "--components", "tenant-agent")
    assert (run.returncode, full.returncode) == (1, 1), run.stderr
    assert json.loads(run.outputs["stale"]) == json.loads(full.outputs["stale"])
    [stale] = json.loads(run.outputs["stale"])
    assert [commit["subject"] for commit in stale["pending_commits"]] == ["Tenant: answer in French"]


def test_a_partial_clone_stays_partial(dualdeploy: Dualdeploy, origin: GitRepo, tmp_path: Path) -> None:
    origin.git("config", "uploadpack.allowFilter", "true")
    partial = clone(origin, tmp_path / "partial", "--depth", "1", "--filter=blob:none", "--no-single-branch")
    blobs_before = blobs(partial)
    given = json.dumps({"tenant-agent": first_sha(origin)})
    run = sync_check(dualdeploy, partial, "--deployed-shas", given, "--components", "tenant-agent")
    assert run.returncode == 1, run.stderr
    assert [c["subject"] for c in json.loads(run.outputs["stale"])[0]["pending_commits"]] == [
        "Tenant: answer in French"
    ]
    assert blobs(partial) == blobs_before  # history came, file contents did not


def blobs(repo: Path) -> int:
    listing = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return listing.split().count("blob")


def test_a_deployed_commit_nobody_has_is_exit_2_naming_it(
    dualdeploy: Dualdeploy, origin: GitRepo, tmp_path: Path
) -> None:
    shallow = clone(origin, tmp_path / "shallow", "--depth", "1")
    given = json.dumps({"tenant-agent": "0123456789abcdef0123456789abcdef01234567"})
    run = sync_check(dualdeploy, shallow, "--deployed-shas", given, "--components", "tenant-agent")
    assert run.returncode == 2
    line = error_line(run)
    assert "tenant-agent runs 0123456789abcdef0123456789abcdef01234567" in line and "fetch-depth: 0" in line


def metrics(dualdeploy: Dualdeploy, repo: Path, given: dict) -> dict:
    run = dualdeploy(
        "metrics",
        "--repo",
        str(repo),
        "--deployed-shas",
        json.dumps(given),
        "--components",
        ",".join(given),
        "--target-sha",
        "HEAD",
        "--format",
        "json",
        env={"GITHUB_TOKEN": None, "GITHUB_ACTIONS": None},
    )
    assert run.returncode == 0, run.stderr
    return {item["component"]: item for item in json.loads(run.stdout)["components"]}


def test_metrics_with_deployed_commits_given_directly_invent_nothing(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    # Deployed at the target: nothing waits, no open gap, and no lag figure without deploy times.
    at_target = metrics(dualdeploy, origin.path, {"tenant-agent": origin.head()})["tenant-agent"]
    assert at_target["deploy_gaps"] == 0 and at_target["current_lag_seconds"] == 0
    assert at_target["lag_seconds"] == {"median": None, "p90": None, "max": None}
    assert "deployed-shas" in at_target["lag_reason"]
    assert at_target["deployed"] == at_target["commits"] == 2  # the first commit and the change
    # Deployed at the first commit: the tenant change still waits, and that is all that is known.
    behind = metrics(dualdeploy, origin.path, {"tenant-agent": first_sha(origin)})["tenant-agent"]
    assert behind["deploy_gaps"] == 1 and 7_000 < behind["current_lag_seconds"] < 8_000
    assert behind["lag_seconds"]["median"] is None and behind["lag_reason"]


def test_the_dashboard_warns_about_what_it_cannot_see(
    dualdeploy: Dualdeploy, origin: GitRepo, fake_github: FakeGitHub
) -> None:
    fake_github.add_repo("octo/mono")
    run = dualdeploy("status", "--repo", str(origin.path), "--components", "tenant-agent", env=fake_github.env())
    assert run.returncode == 0, run.stderr  # it shows, it does not gate
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning ")]
    assert "cannot tell what tenant-agent runs: no successful deployment" in warning and "fix: " in warning


def test_metrics_of_a_component_nobody_can_see_fail_unless_warned(dualdeploy: Dualdeploy, origin: GitRepo) -> None:
    args = ("metrics", "--repo", str(origin.path), "--components", "tenant-agent", "--format", "json")
    run = dualdeploy(*args, env={"GITHUB_TOKEN": None, "GITHUB_ACTIONS": None}, as_process=True)
    assert run.returncode == 1
    line = error_line(run)
    assert "cannot tell what tenant-agent runs: no GitHub token" in line and "--on-unknown warn" in line
    assert json.loads(run.stdout)["components"][0]["status"] == "unknown", "stdout stays JSON"
    warned = dualdeploy(*args, "--on-unknown", "warn", env={"GITHUB_TOKEN": None, "GITHUB_ACTIONS": None})
    assert warned.returncode == 0, warned.stderr
    given = json.dumps({"tenant-agent": first_sha(origin)})
    seen = dualdeploy(*args, "--deployed-shas", given, env={"GITHUB_TOKEN": None, "GITHUB_ACTIONS": None})
    assert seen.returncode == 0, seen.stderr

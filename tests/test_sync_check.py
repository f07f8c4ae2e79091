"""`dualdeploy sync-check` as a workflow step runs it, against the fake GitHub and a real repo."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fakegithub import FakeGitHub
from gitrepo import T0, GitRepo, at, with_example_config
from runner import Dualdeploy, Run, annotations

REPO = "octo/mono"
LANDED = T0 + 1_000  # when the tenant change reached main
TENANT = "server/src/agent-v2/deploy/tenant/index.ts"
AGENTS = ("tenant-agent", "support-agent", "billing-agent")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = with_example_config(
        tmp_path / "mono",
        {
            "server/src/index.ts": "1",
            TENANT: "1",
            "server/src/agent-v2/deploy/support/index.ts": "1",
            "server/src/agent-v2/deploy/billing/index.ts": "1",
        },
        date=at(0),
    )
    repo.commit("Tenant: answer in French", {TENANT: "2"}, date=f"@{LANDED} +0000", author="Bo <bo@example.com>")
    repo.commit("API only", {"server/src/index.ts": "2"}, date=at(1_100))
    return repo


def seed(fake: FakeGitHub, environment: str, sha: str, state: str = "success") -> None:
    deployment = fake.add_deployment(
        REPO, sha=sha, environment=environment, created_at=datetime.fromtimestamp(T0, timezone.utc)
    )
    fake.add_deployment_status(
        REPO, deployment.id, state, log_url=f"https://github.com/{REPO}/actions/runs/{deployment.id}"
    )


@pytest.fixture
def fake(fake_github: FakeGitHub, repo: GitRepo) -> FakeGitHub:
    fake_github.add_repo(REPO)
    base = repo.git("rev-parse", "HEAD~2")
    for name in AGENTS:
        seed(fake_github, name, base)
    return fake_github


def sync_check(
    dualdeploy: Dualdeploy,
    fake: FakeGitHub | None,
    repo: GitRepo,
    *args: str,
    now: int | str = LANDED + 600,
    as_process: bool = False,
    **env: str,
) -> Run:
    return dualdeploy(
        "sync-check",
        "--repo",
        str(repo.path),
        "--target-sha",
        "main",
        "--now",
        str(now),
        "--report",
        str(dualdeploy.folder / "report.json"),
        *args,
        env={**(fake.env() if fake else {"GITHUB_TOKEN": None}), **env},
        as_process=as_process,
    )


def test_stale_past_grace_fails_and_names_the_agent_and_commit(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    change = repo.git("rev-parse", "HEAD~1")
    result = sync_check(dualdeploy, fake, repo, as_process=True)
    assert result.returncode == 1, result.stderr
    assert "tenant-agent: stale (overdue) - 1 pending commit(s)" in result.stdout
    assert f"{change[:12]} Tenant: answer in French (Bo)" in result.stdout
    [error] = annotations(result, "error")
    assert "title=dualdeploy%3A tenant-agent is stale" in error
    assert "tenant-agent is 1 commit(s) behind production" in error and change[:12] in error
    assert "run deploy-agents.yml to deploy it" in error
    assert not annotations(result, "warning")
    assert result.outputs["in-sync"] == "false"
    [stale] = json.loads(result.outputs["stale"])
    assert stale["component"] == "tenant-agent" and stale["status"] == "stale"
    assert stale["deployed_sha"] == repo.git("rev-parse", "HEAD~2")
    assert stale["source"] == "github-deployment:tenant-agent"
    assert stale["pending_commits"] == [
        {
            "sha": change,
            "subject": "Tenant: answer in French",
            "author": "Bo",
            "authored_at": LANDED,
            "landed_at": LANDED,
            "files": [TENANT],
        }
    ]
    assert "GitHub API requests: 1" in result.stderr  # one GraphQL query for every component
    assert "Post-deploy sync check" in result.summary and "tenant\\-agent: stale, overdue" in result.summary


def test_on_stale_warn_exits_zero_with_a_warning(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    result = sync_check(dualdeploy, fake, repo, "--on-stale", "warn")
    assert result.returncode == 0, result.stderr
    assert not annotations(result, "error")
    [warning] = annotations(result, "warning")
    assert "tenant-agent is 1 commit(s) behind production" in warning
    assert result.outputs["in-sync"] == "false"


def test_within_grace_exits_zero(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    result = sync_check(dualdeploy, fake, repo, "--grace-minutes", "5", now=LANDED + 299)
    assert result.returncode == 0, result.stderr
    [warning] = annotations(result, "warning")
    assert "Still within the grace period." in warning
    assert result.outputs["in-sync"] == "false"
    assert json.loads(result.outputs["stale"])[0]["component"] == "tenant-agent"
    report = json.loads(Path(result.outputs["report"]).read_text())
    assert [c["overdue"] for c in report["components"]] == [False, False, False]


def test_grace_from_the_environment_and_just_past_it(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    assert sync_check(dualdeploy, fake, repo, now=LANDED + 120, DD_GRACE_MINUTES="2").returncode == 0
    assert sync_check(dualdeploy, fake, repo, now=LANDED + 121, DD_GRACE_MINUTES="2").returncode == 1


def test_in_sync_exits_zero(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    result = sync_check(dualdeploy, fake, repo, "--components", "support-agent, billing-agent", as_process=True)
    assert result.returncode == 0, result.stderr
    assert result.outputs["in-sync"] == "true" and json.loads(result.outputs["stale"]) == []
    assert not annotations(result, "warning") and not annotations(result, "error")
    assert "support-agent: in_sync" in result.stdout
    assert "✅ in sync" in result.summary


def test_a_component_deploying_now_is_not_yet_in_sync(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    deployment = fake.add_deployment(REPO, sha=repo.head(), environment="tenant-agent")
    fake.add_deployment_status(REPO, deployment.id, "in_progress")
    result = sync_check(dualdeploy, fake, repo)
    assert result.returncode == 0, result.stdout  # the fix is on its way: nothing to fail
    assert "tenant-agent: deploying" in result.stdout
    assert result.outputs["in-sync"] == "false"
    assert not annotations(result, "error")


def test_unknown_fails_at_once_naming_the_cause_and_the_fix(
    dualdeploy: Dualdeploy, fake_github: FakeGitHub, repo: GitRepo
) -> None:
    fake_github.add_repo(REPO)
    seed(fake_github, "support-agent", repo.git("rev-parse", "HEAD~2"))
    seed(fake_github, "billing-agent", repo.head(), state="failure")
    # Well within the grace period: an unknown component fails at once all the same.
    result = sync_check(
        dualdeploy, fake_github, repo, "--components", "support-agent,billing-agent", now=LANDED, as_process=True
    )
    assert result.returncode == 1, result.stderr
    assert result.outputs["in-sync"] == "false" and json.loads(result.outputs["stale"]) == []
    assert json.loads(result.outputs["unknown"]) == ["billing-agent"]
    [error] = annotations(result, "error")
    assert "cannot tell what billing-agent runs: no successful deployment of environment 'billing-agent'" in error
    assert "fix: record deployments with `record-deployment`" in error
    assert not annotations(result, "warning")
    [line] = result.stderr.splitlines()[:-1] or result.stderr.splitlines()
    assert line.startswith("dualdeploy: error: cannot tell what billing-agent runs: no successful deployment")
    assert "`on-unknown: warn` while adopting" in line
    assert "1 unknown" in result.stdout
    assert "❔ unknown" in result.summary and "Fix: record deployments" in result.summary
    assert "Fails (on-unknown: fail)" in re.sub(r"\\(.)", r"\1", result.summary)


def test_on_unknown_warn_exits_zero_with_a_warning(
    dualdeploy: Dualdeploy, fake_github: FakeGitHub, repo: GitRepo
) -> None:
    fake_github.add_repo(REPO)
    seed(fake_github, "support-agent", repo.git("rev-parse", "HEAD~2"))
    result = sync_check(
        dualdeploy, fake_github, repo, "--components", "support-agent,billing-agent", DD_ON_UNKNOWN="warn"
    )
    assert result.returncode == 0, result.stderr
    assert result.outputs["in-sync"] == "false"
    [warning] = annotations(result, "warning")
    assert "cannot tell what billing-agent runs" in warning and "fix: " in warning
    assert not annotations(result, "error")
    assert sync_check(dualdeploy, fake_github, repo, "--on-unknown", "maybe").returncode == 2


def test_unreadable_deployments_fail_naming_the_permission(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    fake.add_token("nodeploy", permissions={"contents": "read"})
    result = sync_check(dualdeploy, fake, repo, GITHUB_TOKEN="nodeploy")
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert "FORBIDDEN" in line and "`deployments: read`" in line


def test_deployed_shas_input_without_a_token(dualdeploy: Dualdeploy, repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD~2")
    given = json.dumps({"tenant-agent": repo.head(), "support-agent": base})
    result = sync_check(dualdeploy, None, repo, "--deployed-shas", given, "--components", "tenant-agent,support-agent")
    assert result.returncode == 0, result.stderr
    assert "tenant-agent: in_sync" in result.stdout and "support-agent: in_sync" in result.stdout
    assert result.outputs["in-sync"] == "true"
    # On a laptop, billing-agent (neither given nor readable without a token) is unknown: exit 1.
    local = sync_check(dualdeploy, None, repo, "--deployed-shas", given, GITHUB_ACTIONS=None)
    assert local.returncode == 1, local.stderr
    assert "billing-agent: unknown - no GitHub token" in local.stdout
    # In Actions a missing token is a broken workflow: exit 2, the fix in one line.
    actions = sync_check(dualdeploy, None, repo, "--deployed-shas", given)
    assert actions.returncode == 2
    assert "no GitHub token" in actions.stderr and "`github-token`" in actions.stderr


def test_report_file_lists_every_component(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    result = sync_check(dualdeploy, fake, repo)
    assert Path(result.outputs["report"]) == dualdeploy.folder / "report.json"
    report = json.loads(Path(result.outputs["report"]).read_text())
    assert report["target"] == repo.head() and report["checked_at"] == LANDED + 600
    assert report["grace_seconds"] == 300
    assert [(c["component"], c["status"], c["overdue"]) for c in report["components"]] == [
        ("tenant-agent", "stale", True),
        ("support-agent", "in_sync", False),
        ("billing-agent", "in_sync", False),
    ]
    assert report["components"][0]["pending_commits"][0]["files"] == [TENANT]


def test_report_defaults_to_runner_temp(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    runner_temp = dualdeploy.folder / "runner-temp"
    result = dualdeploy(
        "sync-check",
        "--repo",
        str(repo.path),
        "--on-stale",
        "warn",
        env={**fake.env(), "RUNNER_TEMP": str(runner_temp)},
    )
    assert result.returncode == 0, result.stderr
    assert result.outputs["report"] == str(runner_temp / "dualdeploy-sync-check.json")
    assert (runner_temp / "dualdeploy-sync-check.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--grace-minutes", "soon"), "grace-minutes: must be a number of minutes, not 'soon'"),
        (("--grace-minutes", "-1"), "grace-minutes: must not be negative"),
        (("--grace-minutes", "nan"), "grace-minutes: must be a finite number of minutes, not 'nan'"),
        (("--grace-minutes", "inf"), "grace-minutes: must be a finite number of minutes, not 'inf'"),
        (("--on-stale", "explode"), "on-stale: must be 'fail' or 'warn', not 'explode'"),
        (("--components", "tenant-agnet"), "no component 'tenant-agnet'"),
        (("--now", "yesterday"), "--now: must be ISO 8601 or unix seconds"),
        (("--deployed-shas", "{oops"), "deployed-shas: not valid JSON"),
        (("--target-sha", "nope"), "--target-sha 'nope' is not a commit"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo, args: tuple[str, ...], message: str
) -> None:
    result = sync_check(dualdeploy, fake, repo, *args)
    assert result.returncode == 2, result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("dualdeploy: error: ") and message in line, line
    assert annotations(result, "error")


def test_bad_grace_as_a_process_is_one_line_without_traceback(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    result = sync_check(dualdeploy, fake, repo, "--grace-minutes", "soon", as_process=True)
    assert result.returncode == 2
    assert result.stderr == "dualdeploy: error: grace-minutes: must be a number of minutes, not 'soon'\n"


def test_iso_now_is_accepted(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    within = datetime.fromtimestamp(LANDED + 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sync_check(dualdeploy, fake, repo, now=within).returncode == 0
    past = datetime.fromtimestamp(LANDED + 301, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert sync_check(dualdeploy, fake, repo, now=past).returncode == 1


def test_a_diverged_deploy_is_not_in_sync(dualdeploy: Dualdeploy, fake_github: FakeGitHub, repo: GitRepo) -> None:
    fake_github.add_repo(REPO)
    repo.checkout("hotfix", new=True)
    hotfix = repo.commit("support hotfix", {"server/src/agent-v2/deploy/support/index.ts": "hot"}, date=at(1_200))
    repo.checkout("main")
    seed(fake_github, "support-agent", hotfix)
    result = sync_check(dualdeploy, fake_github, repo, "--components", "support-agent")
    # Lacks nothing that matters (exit 0), but runs code main does not have: not in sync.
    assert result.returncode == 0, result.stderr
    assert "support-agent: diverged" in result.stdout
    assert result.outputs["in-sync"] == "false"
    report = json.loads(Path(result.outputs["report"]).read_text())
    assert report["components"][0]["extra_commits"][0]["sha"] == hotfix


def test_requests_stay_few(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    fake.reset_requests()
    sync_check(dualdeploy, fake, repo)
    assert len(fake.requests) == 1  # one GraphQL query reads every component's deployments
    assert [(request.method, request.path) for request in fake.requests] == [("POST", "/graphql")]

"""examples/workflows/monitor-agents.yml end to end: act runs the published example on demand
(workflow_dispatch) against the fake GitHub.

The tenant agent has a change that reached main two hours ago and is still deployed at the commit
before it, so the monitor fails the run and opens the alert issue. Once a deployment of the head
is recorded, the next run passes and closes the issue with a comment.

The workflow pins our action by commit sha; the harness serves that `uses:` from a staged copy of
this checkout, so what runs is the code under test. DD_VENV points the action's setup at the test
venv. The monitor judges by the real clock here (the action has no `now` input), so the commits
are dated relative to it. The fake token has exactly the permissions the workflow's job declares.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from e2e.act import ActResult, run_act, workflow_dispatch_event
from fakegithub import FakeGitHub
from gitrepo import GitRepo, example_monorepo, git_date
from runner import setup_venv

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "workflows" / "monitor-agents.yml"
REPOSITORY = "acme/mono"
JOB = "monitor"
AGENTS = ("tenant-agent", "support-agent", "billing-agent")
TENANT_INDEX = "server/src/agent-v2/deploy/tenant/index.ts"
MERGE_SUBJECT = "Teach the tenant agent about plans (#42)"
MARKER = "<!-- dualdeploy:monitor-alert -->"
# act masks every secret value wherever it appears in its log: a long, distinctive token.
MONITOR_TOKEN = "ghs_e2eMonitorAgentsIssuesWriteToken0123456789"
MONITOR_PERMISSIONS = {
    "contents": "read",
    "issues": "write",
    "pull_requests": "write",
    "deployments": "read",
    "actions": "read",
}


@pytest.fixture
def monorepo(tmp_path: Path, clock: datetime) -> GitRepo:
    """The example, three hours old, plus a tenant agent change that reached main two hours ago."""
    repo = example_monorepo(tmp_path / "mono", date=git_date(clock - timedelta(hours=3)))
    tenant = repo.path / TENANT_INDEX
    repo.commit(
        MERGE_SUBJECT,
        {TENANT_INDEX: tenant.read_text() + 'export const plans = ["free", "pro"];\n'},
        date=git_date(clock - timedelta(hours=2)),
    )
    return repo


@pytest.fixture
def fake(fake_github: FakeGitHub, monorepo: GitRepo, clock: datetime) -> FakeGitHub:
    """acme/mono, where every agent was deployed at the initial commit 150 minutes ago."""
    fake_github.add_token(MONITOR_TOKEN, permissions=MONITOR_PERMISSIONS)
    fake_github.add_repo(REPOSITORY, head_sha=monorepo.head())
    initial = monorepo.git("rev-parse", "HEAD~1")
    for agent in AGENTS:
        record_deployment(fake_github, agent, initial, clock - timedelta(minutes=150))
    fake_github.now = clock
    return fake_github


def record_deployment(fake: FakeGitHub, component: str, sha: str, moment: datetime) -> None:
    """What record-deployment leaves behind: a deployment of the component's environment, succeeded."""
    fake.now = moment
    deployment = fake.add_deployment(REPOSITORY, sha=sha, ref="main", environment=component)
    fake.add_deployment_status(REPOSITORY, deployment.id, "success")


def run_monitor(act: Path, fake: FakeGitHub, monorepo: GitRepo, work: Path) -> ActResult:
    return run_act(
        WORKFLOW,
        "workflow_dispatch",
        workflow_dispatch_event(repository=REPOSITORY),
        monorepo.path,
        action_repo=ROOT,
        env={"GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": REPOSITORY, "DD_VENV": str(setup_venv())},
        secrets={"GITHUB_TOKEN": MONITOR_TOKEN},  # no SLACK_WEBHOOK_URL: the Slack input is empty
        sha=monorepo.head(),
        timeout=120,
        work_dir=work,
    )


def alert_issues(fake: FakeGitHub) -> list:
    issues = []
    number = 1
    while True:
        try:
            issue = fake.issue(REPOSITORY, number)
        except KeyError:
            return issues
        if (issue.body or "").startswith(MARKER):
            issues.append(issue)
        number += 1


def test_overdue_agent_fails_the_run_and_opens_the_issue_until_it_is_deployed(
    act: Path, fake: FakeGitHub, monorepo: GitRepo, clock: datetime, tmp_path: Path
) -> None:
    head = monorepo.head()

    # 1. The tenant agent has been behind production for two hours: the run fails, one issue opens.
    first = run_monitor(act, fake, monorepo, tmp_path / "act-1")
    assert not first.ok and first.returncode != 0, first.describe()
    assert first.job_results == {JOB: "failure"}, first.describe()
    [issue] = alert_issues(fake)
    assert issue.state == "open"
    assert set(issue.labels) == {"deployment", "alert"}
    assert issue.title == "Agent not deployed: tenant-agent"
    assert head[:7] in issue.body and "Teach the tenant agent about plans" in issue.body
    assert f"https://github.com/{REPOSITORY}/actions/workflows/deploy-agents.yml" in issue.body
    assert "@acme/agents-team" in issue.body
    outputs = first.outputs[JOB]
    step = next(name for name, values in outputs.items() if "overdue" in values)
    assert [item["component"] for item in json.loads(outputs[step]["overdue"])] == ["tenant-agent"]
    assert outputs[step]["issue-url"] == f"https://github.com/{REPOSITORY}/issues/{issue.number}"
    assert "tenant-agent" in first.summaries[JOB]
    assert not [a for a in first.annotations if a["level"] == "warning"], first.annotations

    # 2. The deploy is recorded at the head; the next run passes and closes the issue with a comment.
    record_deployment(fake, "tenant-agent", head, clock + timedelta(seconds=1))
    fake.now = clock + timedelta(seconds=2)
    second = run_monitor(act, fake, monorepo, tmp_path / "act-2")
    assert second.ok, second.describe()
    assert second.job_results == {JOB: "success"}, second.describe()
    closed = fake.issue(REPOSITORY, issue.number)
    assert (closed.state, closed.state_reason) == ("closed", "completed")
    closing = fake.comments(REPOSITORY, issue.number)[-1]
    assert "All components are deployed, closing." in closing.body
    assert f"`tenant-agent`: deployed `{head[:7]}`, lag 2 h" in closing.body
    assert len(alert_issues(fake)) == 1  # closed, and no new one

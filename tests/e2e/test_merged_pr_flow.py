"""A pull request's life after the merge, end to end with act and the published examples.

Two pull requests of the example monorepo, #1 changing the tenant agent and #2 the support agent
(the customer-facing one), get their sticky comment from examples/workflows/main-pipeline.yml, are
merged, and the `closed` event turns each comment into "merged, waiting". deploy-agents.yml then
deploys the tenant agent at main with record-deployment: #1 loses `requires-manual-deploy`, #2
keeps it. A deployment of the support agent made by other tooling, then a run of
monitor-agents.yml, clears #2. Each pull request keeps exactly one suite comment, and a person's
comment is never touched.

Each workflow gets a fake token with exactly the `permissions:` its job declares.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from e2e.act import ActResult, pull_request_event, run_act, workflow_dispatch_event
from fakegithub import FakeGitHub
from gitrepo import GitRepo, example_monorepo, git_date
from runner import setup_venv

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "examples" / "workflows"
REPOSITORY = "acme/mono"
MARKER = "<!-- dualdeploy:detect-agent-impact -->"
AGENTS = ("tenant-agent", "support-agent", "billing-agent")
CHANGES = {1: ("tenant", "tenant-agent"), 2: ("support", "support-agent")}
PIPELINE_TOKEN = "ghs_e2ePrLifePipelineToken0123456789"
AGENTS_TOKEN = "ghs_e2ePrLifeDeployAgentsToken0123456789"
MONITOR_TOKEN = "ghs_e2ePrLifeMonitorToken0123456789"
WAITING = {"agent-changes", "requires-manual-deploy"}


@pytest.fixture
def monorepo(tmp_path: Path, clock: datetime) -> GitRepo:
    """The example, three hours old, and one branch per pull request."""
    repo = example_monorepo(tmp_path / "mono", date=git_date(clock - timedelta(hours=3)))
    for number, (folder, _agent) in CHANGES.items():
        repo.checkout(f"pr-{number}", new=True)
        path = f"server/src/agent-v2/deploy/{folder}/index.ts"
        repo.commit(
            f"Change the {folder} agent",
            {path: (repo.path / path).read_text() + f"export const change{number} = true;\n"},
            date=git_date(clock - timedelta(hours=2)),
        )
        repo.checkout("main")
    return repo


@pytest.fixture
def fake(fake_github: FakeGitHub, monorepo: GitRepo, clock: datetime) -> FakeGitHub:
    fake_github.add_token(PIPELINE_TOKEN, permissions={"contents": "read", "pull_requests": "write", "issues": "write"})
    fake_github.add_token(
        AGENTS_TOKEN, permissions={"contents": "read", "deployments": "write", "pull_requests": "write"}
    )
    fake_github.add_token(
        MONITOR_TOKEN,
        permissions={
            "contents": "read",
            "issues": "write",
            "pull_requests": "write",
            "deployments": "read",
            "actions": "read",
        },
    )
    initial = monorepo.head()
    fake_github.add_repo(REPOSITORY, head_sha=initial)
    fake_github.now = clock - timedelta(hours=2, minutes=30)
    for agent in AGENTS:
        deployment = fake_github.add_deployment(REPOSITORY, sha=initial, ref="main", environment=agent)
        fake_github.add_deployment_status(REPOSITORY, deployment.id, "success")
    for number in CHANGES:
        fake_github.add_pull(
            REPOSITORY,
            number,
            head_sha=monorepo.git("rev-parse", f"pr-{number}"),
            head_ref=f"pr-{number}",
            base_sha=initial,
            title=f"Change {number}",
        )
    fake_github.now = clock
    return fake_github


def act_env(fake: FakeGitHub) -> dict[str, str]:
    return {"GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": REPOSITORY, "DD_VENV": str(setup_venv())}


def pipeline(act: Path, fake: FakeGitHub, monorepo: GitRepo, work: Path, number: int, **closed: object) -> ActResult:
    event = pull_request_event(
        number=number,
        base_sha=monorepo.git("rev-parse", "main~0") if not closed else closed.pop("base_sha"),
        head_sha=monorepo.git("rev-parse", f"pr-{number}"),
        head_ref=f"pr-{number}",
        repository=REPOSITORY,
        action="closed" if closed else "opened",
        **closed,
    )
    result = run_act(
        WORKFLOWS / "main-pipeline.yml",
        "pull_request",
        event,
        monorepo.path,
        action_repo=ROOT,
        env=act_env(fake),
        secrets={"GITHUB_TOKEN": PIPELINE_TOKEN},
        sha=closed.get("merge_commit_sha") or monorepo.git("rev-parse", f"pr-{number}"),  # type: ignore[arg-type]
        timeout=120,
        work_dir=work,
    )
    assert result.ok, result.describe()
    return result


def ours(fake: FakeGitHub, number: int) -> list:
    return [comment for comment in fake.comments(REPOSITORY, number) if comment.body.startswith(MARKER)]


def labels(fake: FakeGitHub, number: int) -> set[str]:
    return set(fake.issue(REPOSITORY, number).labels)


def test_merged_pull_requests_follow_their_deploys(
    act: Path, fake: FakeGitHub, monorepo: GitRepo, clock: datetime, tmp_path: Path
) -> None:
    initial = monorepo.head()
    # 1. Both pull requests are opened: one comment each, both labels.
    for number in CHANGES:
        pipeline(act, fake, monorepo, tmp_path / f"act-open-{number}", number)
        assert labels(fake, number) == WAITING
    person = fake.add_issue_comment(REPOSITORY, 1, "Deploying this one after lunch", user="hubot")

    # 2. Both are merged (merge commits on main), and the closed event runs for each.
    merges = {}
    for number in CHANGES:
        monorepo.git("merge", "--no-ff", "-q", "-m", f"Merge pull request #{number}", f"pr-{number}")
        merges[number] = monorepo.head()
        fake.merge_pull(REPOSITORY, number, merges[number])
    fake.set_branch(REPOSITORY, "main", monorepo.head())
    merged_at = fake.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    for number in CHANGES:
        pipeline(
            act,
            fake,
            monorepo,
            tmp_path / f"act-closed-{number}",
            number,
            base_sha=initial,
            merged=True,
            merge_commit_sha=merges[number],
            merged_at=merged_at,
            state="closed",
        )
    [first] = ours(fake, 1)
    assert "Merged, waiting for a deploy of `tenant-agent`" in first.body, first.body
    assert f"https://github.com/{REPOSITORY}/actions/workflows/deploy-agents.yml" in first.body
    assert "Merged, waiting for a deploy of `support-agent`" in ours(fake, 2)[0].body
    assert labels(fake, 1) == labels(fake, 2) == WAITING

    # 3. deploy-agents.yml deploys the tenant agent at main; record-deployment follows the merges.
    fake.now = clock + timedelta(minutes=12)
    dispatch = workflow_dispatch_event(inputs={"agents": '["tenant-agent"]'}, repository=REPOSITORY)
    deployed = run_act(
        WORKFLOWS / "deploy-agents.yml",
        "workflow_dispatch",
        dispatch,
        monorepo.path,
        action_repo=ROOT,
        env=act_env(fake),
        secrets={"GITHUB_TOKEN": AGENTS_TOKEN},
        sha=monorepo.head(),
        timeout=120,
        work_dir=tmp_path / "act-deploy",
    )
    assert deployed.ok and deployed.job_results == {"deploy": "success"}, deployed.describe()
    assert not [a for a in deployed.annotations if a["level"] in ("error", "warning")], deployed.annotations
    assert labels(fake, 1) == {"agent-changes"}
    assert labels(fake, 2) == WAITING
    [first] = ours(fake, 1)
    assert "Merged and deployed" in first.body and "12 min after merge" in first.body, first.body

    # 4. The support agent is deployed by other tooling; the monitor catches up.
    fake.now = clock + timedelta(minutes=20)
    deployment = fake.add_deployment(REPOSITORY, sha=monorepo.head(), ref="main", environment="support-agent")
    fake.add_deployment_status(REPOSITORY, deployment.id, "success")
    monitor = run_act(
        WORKFLOWS / "monitor-agents.yml",
        "workflow_dispatch",
        workflow_dispatch_event(repository=REPOSITORY),
        monorepo.path,
        action_repo=ROOT,
        env=act_env(fake),
        secrets={"GITHUB_TOKEN": MONITOR_TOKEN},
        timeout=120,
        work_dir=tmp_path / "act-monitor",
    )
    assert monitor.ok, monitor.describe()
    assert labels(fake, 2) == {"agent-changes"}
    assert "20 min after merge" in ours(fake, 2)[0].body

    # One suite comment per pull request throughout; the person's comment is as it was.
    for number in CHANGES:
        assert len(ours(fake, number)) == 1
    [kept] = [c for c in fake.comments(REPOSITORY, 1) if c.id == person.id]
    assert (kept.body, kept.user) == ("Deploying this one after lunch", "hubot")

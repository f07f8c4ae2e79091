"""The deploy loop end to end, with act running the published example workflows.

A merge to main changes the tenant agent; examples/workflows/deploy-production.yml deploys the API
and the client, then its sync check fails and names the agent and the commit. Somebody runs
examples/workflows/deploy-agents.yml for that agent (its deploy step is a no-op echo), which
records the deployment in the fake GitHub; deploy-production.yml run again then passes.

The workflows pin our actions by commit sha; the harness serves those `uses:` from a staged copy of
this checkout, so what runs is the code under test. DD_VENV points the actions' setup at the test
venv, so a run needs no package index and takes a few seconds.

On GitHub each job gets a GITHUB_TOKEN with the `permissions:` it declares; here each workflow gets
a fake token with exactly those, so a missing entry in an example fails this test as it would fail
a real run.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from e2e.act import ActResult, push_event, run_act, workflow_dispatch_event
from fakegithub import FakeGitHub
from gitrepo import GitRepo, example_monorepo, git_date
from runner import setup_venv

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "examples" / "workflows"
REPOSITORY = "acme/mono"
AGENTS = ("tenant-agent", "support-agent", "billing-agent")
TENANT_INDEX = "server/src/agent-v2/deploy/tenant/index.ts"
MERGE_SUBJECT = "Teach the tenant agent about plans (#42)"
# act masks every secret value wherever it appears in its log, outputs included: tokens must be
# long and distinctive, or a short one would also mask pieces of ordinary words.
PRODUCTION_TOKEN = "ghs_e2eDeployProductionReadToken0123456789"  # agents-in-sync's permissions
AGENTS_TOKEN = "ghs_e2eDeployAgentsWriteToken0123456789"  # deploy's permissions
PRODUCTION_JOBS = {"deploy-api": "success", "deploy-client": "success"}


@pytest.fixture
def monorepo(tmp_path: Path, clock: datetime) -> GitRepo:
    """The bundled example on main, three hours old (the agents are deployed from this commit)."""
    return example_monorepo(tmp_path / "mono", date=git_date(clock - timedelta(hours=3)))


@pytest.fixture
def fake(fake_github: FakeGitHub, monorepo: GitRepo, clock: datetime) -> FakeGitHub:
    """acme/mono, where every agent was deployed two hours ago at the initial commit."""
    fake_github.add_token(PRODUCTION_TOKEN, permissions={"contents": "read", "deployments": "read", "actions": "read"})
    fake_github.add_token(
        AGENTS_TOKEN, permissions={"contents": "read", "deployments": "write", "pull_requests": "write"}
    )
    initial = monorepo.head()
    fake_github.add_repo(REPOSITORY, head_sha=initial)
    fake_github.now = clock - timedelta(hours=2)
    for agent in AGENTS:
        deployment = fake_github.add_deployment(REPOSITORY, sha=initial, ref="main", environment=agent)
        fake_github.add_deployment_status(REPOSITORY, deployment.id, "success")
    return fake_github


def run_workflow(
    act: Path,
    name: str,
    event_name: str,
    event: dict,
    monorepo: GitRepo,
    fake: FakeGitHub,
    work: Path,
    *,
    token: str,
    sha: str,
) -> ActResult:
    return run_act(
        WORKFLOWS / name,
        event_name,
        event,
        monorepo.path,
        action_repo=ROOT,
        env={"GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": REPOSITORY, "DD_VENV": str(setup_venv())},
        secrets={"GITHUB_TOKEN": token},
        sha=sha,
        timeout=120,
        work_dir=work,
    )


def deploy_production(act: Path, monorepo: GitRepo, fake: FakeGitHub, work: Path, *, before: str) -> ActResult:
    after = monorepo.head()
    event = push_event(after=after, before=before, ref="refs/heads/main", repository=REPOSITORY)
    return run_workflow(
        act, "deploy-production.yml", "push", event, monorepo, fake, work, token=PRODUCTION_TOKEN, sha=after
    )


def test_agent_change_fails_sync_check_until_deploy_agents_records_it(
    act: Path, fake: FakeGitHub, monorepo: GitRepo, clock: datetime, tmp_path: Path
) -> None:
    initial = monorepo.head()
    tenant = monorepo.path / TENANT_INDEX
    merge = monorepo.commit(
        MERGE_SUBJECT,
        {TENANT_INDEX: tenant.read_text() + 'export const plans = ["free", "pro"];\n'},
        date=git_date(clock - timedelta(hours=1)),
    )
    fake.set_branch(REPOSITORY, "main", merge)
    fake.now = clock
    fake.reset_requests()

    # 1. Production deploys the merge; the tenant agent is an hour behind it, past the 5-minute grace.
    first = deploy_production(act, monorepo, fake, tmp_path / "act-production-1", before=initial)
    assert not first.ok and first.returncode != 0, first.describe()
    assert first.job_results == {**PRODUCTION_JOBS, "agents-in-sync": "failure"}, first.describe()
    assert first.step_results["agents-in-sync"]["sync"] == "failure", first.describe()
    assert all(request.reads_only for request in fake.requests)  # the check only reads

    errors = [a for a in first.annotations if a["level"] == "error"]
    assert len(errors) == 1, first.annotations
    [error] = errors
    assert error["title"] == "dualdeploy: tenant-agent is stale", error
    assert error["message"].startswith("tenant-agent is 1 commit(s) behind production"), error
    assert f"{merge[:12]} {MERGE_SUBJECT}" in error["message"], error
    assert "run deploy-agents.yml" in error["message"], error
    assert not [a for a in first.annotations if a["level"] == "warning"], first.annotations

    sync = first.outputs["agents-in-sync"]["sync"]
    assert sync["in-sync"] == "false"
    [stale] = json.loads(sync["stale"])
    assert (stale["component"], stale["status"], stale["deployed_sha"]) == ("tenant-agent", "stale", initial)
    assert [(c["sha"], c["subject"], c["files"]) for c in stale["pending_commits"]] == [
        (merge, MERGE_SUBJECT, [TENANT_INDEX])
    ]

    # The job summary: the dashboard (every component), then the sync check's table (the agents).
    dashboard, sync_table = summary_tables(first.summaries["agents-in-sync"])
    assert list(dashboard) == ["api", "client", *AGENTS] and list(sync_table) == list(AGENTS), first.summaries
    assert "stale (1 behind for 1 h" in dashboard["tenant-agent"], dashboard
    assert "stale, overdue (1 behind for 1 h" in sync_table["tenant-agent"], sync_table
    for row in (dashboard["tenant-agent"], sync_table["tenant-agent"]):
        assert f"1: {MERGE_SUBJECT}" in row, row  # pending count and the newest pending subject
        assert f"https://github.com/{REPOSITORY}/actions/workflows/deploy-agents.yml" in row, row
    for agent in ("support-agent", "billing-agent"):
        for row in (dashboard[agent], sync_table[agent]):
            assert "in sync" in row and "stale" not in row, row
    # The dashboard shows this run's deploys of the automatic components (from toJSON(needs)).
    assert "deployed by this run" in dashboard["api"] and "deployed by this run" in dashboard["client"], dashboard

    # 2. Somebody runs deploy-agents.yml for the tenant agent at the merge.
    before_deploy = {deployment.id for deployment in fake.deployments(REPOSITORY)}
    dispatch = workflow_dispatch_event(inputs={"agents": '["tenant-agent"]'}, repository=REPOSITORY)
    agents = run_workflow(
        act,
        "deploy-agents.yml",
        "workflow_dispatch",
        dispatch,
        monorepo,
        fake,
        tmp_path / "act-agents",
        token=AGENTS_TOKEN,
        sha=merge,
    )
    assert agents.ok, agents.describe()
    assert agents.job_results == {"deploy": "success"}, agents.describe()
    assert "deployed tenant-agent" in agents.log, agents.describe()

    new = [deployment for deployment in fake.deployments(REPOSITORY) if deployment.id not in before_deploy]
    assert len(new) == 1, new
    [recorded] = new
    assert (recorded.environment, recorded.sha, recorded.task) == ("tenant-agent", merge, "deploy")
    assert recorded.payload["component"] == "tenant-agent", recorded.payload
    assert [status.state for status in recorded.statuses] == ["in_progress", "success"], recorded.statuses
    # Only the tenant agent was deployed: the others still have their one deployment each.
    assert sorted(d.environment for d in fake.deployments(REPOSITORY)) == sorted([*AGENTS, "tenant-agent"])

    # 3. Production's sync check, run again, finds every agent in sync.
    second = deploy_production(act, monorepo, fake, tmp_path / "act-production-2", before=initial)
    assert second.ok, second.describe()
    assert second.job_results == {**PRODUCTION_JOBS, "agents-in-sync": "success"}, second.describe()
    assert second.outputs["agents-in-sync"]["sync"]["in-sync"] == "true"
    assert json.loads(second.outputs["agents-in-sync"]["sync"]["stale"]) == []
    assert not [a for a in second.annotations if a["level"] in ("error", "warning")], second.annotations
    dashboard, sync_table = summary_tables(second.summaries["agents-in-sync"])
    for agent in AGENTS:
        for row in (dashboard[agent], sync_table[agent]):
            assert "in sync" in row and "stale" not in row, row
    assert merge[:7] in sync_table["tenant-agent"]  # the deployed commit is now the merge
    assert initial[:7] in sync_table["support-agent"]

    for result in (first, agents, second):
        assert result.duration < 60, result.describe()


def summary_tables(summary: str) -> tuple[dict[str, str], dict[str, str]]:
    """The component rows of the dashboard's table and of the sync check's, each by component name.

    Markdown's backslash escapes are removed first, so rows read as they render.
    """
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", summary)
    dashboard, _, sync_check = text.partition("## Post-deploy sync check")
    assert dashboard.startswith("## Deployment status") and sync_check, summary
    return table_rows(dashboard), table_rows(sync_check)


def table_rows(section: str) -> dict[str, str]:
    return {line.split("`")[1]: line for line in section.splitlines() if line.startswith("| `")}

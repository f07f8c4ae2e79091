"""The monitor job against the fake GitHub: when a component is overdue, and the one alert issue.

The repository is the bundled example monorepo. Every agent was deployed at its first commit five
hours before T0; each test then adds agent changes with commit dates it chooses and runs
`dualdeploy monitor --now ...`, so whether something is overdue never depends on the clock.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fakegithub import DEFAULT_TOKEN, FakeGitHub
from gitrepo import GitRepo, example_monorepo
from runner import COMMAND, Dualdeploy, Run, process_env

CONFIG = ".github/dual-deploy.yml"
REPO = "acme/mono"
REPO_URL = f"https://github.com/{REPO}"
DEPLOY_LINK = f"{REPO_URL}/actions/workflows/deploy-agents.yml"
MARKER = "<!-- dualdeploy:monitor-alert -->"
AGENTS = ("tenant-agent", "support-agent", "billing-agent")
TENANT = "server/src/agent-v2/deploy/tenant/index.ts"
BILLING = "server/src/agent-v2/deploy/billing/index.ts"
T0 = datetime(2024, 1, 15, 9, 0, tzinfo=timezone.utc)
GITHUB_BODY_LIMIT = 65_536


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def plain(markdown: str) -> str:
    """Markdown without the backslash escapes, as a reader sees it."""
    return re.sub(r"\\(.)", r"\1", markdown)


def change(repo: GitRepo, path: str, subject: str, moment: datetime) -> str:
    """Commit a change to `path` on main, dated `moment` (when it lands on the target)."""
    current = (repo.path / path).read_text()
    return repo.commit(subject, {path: current + f"// {subject}\n"}, date=moment.isoformat())


def deploy(fake: FakeGitHub, component: str, sha: str, moment: datetime) -> None:
    """A successful GitHub deployment of `component` at `sha`, finished at `moment`."""
    fake.now = moment
    deployment = fake.add_deployment(REPO, sha=sha, ref="main", environment=component)
    fake.add_deployment_status(REPO, deployment.id, "success")


def alert_issues(fake: FakeGitHub, state: str = "open") -> list:
    issues = []
    for number in itertools.count(1):
        try:
            issue = fake.issue(REPO, number)
        except KeyError:
            return issues
        if issue.state == state and "alert" in issue.labels and (issue.body or "").startswith("<!-- dualdeploy:"):
            issues.append(issue)


def writes(fake: FakeGitHub) -> list[tuple[str, str]]:
    """Requests that change something (GraphQL queries are reads, though sent as POST)."""
    return [(request.method, request.path) for request in fake.requests if not request.reads_only]


class MonitorRun(Run):
    """A run of `dualdeploy monitor`, with the components it found overdue."""

    @property
    def overdue(self) -> list[str]:
        return [item["component"] for item in json.loads(self.outputs["overdue"])]


def run_process(
    fake: FakeGitHub, repo: GitRepo, folder: Path, *args: str, token: str = DEFAULT_TOKEN, command: str = "monitor"
) -> MonitorRun:
    """`dualdeploy monitor` as its own process, for what only a process shows (stderr, exit status)."""
    run = Dualdeploy(folder, repository=REPO)(
        command,
        "--repo",
        str(repo.path),
        *args,
        env={"GITHUB_ACTIONS": "true" if command == "monitor" else "", "GITHUB_SERVER_URL": None, **fake.env(token)},
        as_process=True,
    )
    return MonitorRun(**vars(run))


@pytest.fixture
def mono(tmp_path: Path) -> GitRepo:
    """The example monorepo, first committed six hours before T0."""
    return example_monorepo(tmp_path / "mono", date=at(hours=-6).isoformat())


@pytest.fixture
def fake(fake_github: FakeGitHub, mono: GitRepo) -> FakeGitHub:
    """acme/mono, where every agent was deployed at the first commit five hours before T0."""
    fake_github.add_repo(REPO, head_sha=mono.head())
    for agent in AGENTS:
        deploy(fake_github, agent, mono.head(), at(hours=-5))
    fake_github.now = T0
    return fake_github


@pytest.fixture
def monitor(
    fake: FakeGitHub, mono: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> Callable[..., MonitorRun]:
    """`dualdeploy monitor` in this process, as the action runs it (env, outputs, summary)."""
    dualdeploy = Dualdeploy(tmp_path, monkeypatch, capsys, repository=REPO)

    def run(*args: str, now: datetime = T0, token: str = DEFAULT_TOKEN, command: str = "monitor") -> MonitorRun:
        moment = str(int(now.timestamp()))
        done = dualdeploy(command, "--repo", str(mono.path), "--now", moment, *args, env=fake.env(token))
        return MonitorRun(**vars(done))

    return run


# --- when a component is overdue ---------------------------------------------------------------


@pytest.mark.parametrize(("after", "overdue"), [(-1, False), (0, False), (1, True)])
def test_overdue_once_the_oldest_pending_commit_is_past_the_max_age(
    mono: GitRepo, fake: FakeGitHub, monitor, after: int, overdue: bool
) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    run = monitor("--max-age-minutes", "120", now=at(hours=0, seconds=after))
    assert run.returncode == (1 if overdue else 0), run.stderr
    assert run.overdue == (["tenant-agent"] if overdue else [])
    assert len(alert_issues(fake)) == (1 if overdue else 0)
    assert ("tenant-agent: stale OVERDUE" in run.stdout) is overdue


def test_max_age_defaults_to_the_config_then_to_60_minutes(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    change(mono, TENANT, "Tenant plans", at(minutes=-61))
    assert monitor("--no-fail-on-overdue", now=at()).overdue == ["tenant-agent"]  # 61 min > 60
    config = (mono.path / CONFIG).read_text() + "monitor:\n  max-age-minutes: 90\n"
    mono.commit("Give agents 90 minutes", {CONFIG: config}, date=at(minutes=-30).isoformat())
    assert monitor(now=at()).overdue == []
    assert monitor("--max-age-minutes", "0.5", "--no-fail-on-overdue", now=at()).overdue == ["tenant-agent"]


def test_a_stale_component_within_the_max_age_and_an_untouched_one_are_not_overdue(
    mono: GitRepo, fake: FakeGitHub, monitor
) -> None:
    change(mono, TENANT, "Tenant plans", at(minutes=-30))
    change(mono, "server/src/routes/hello.ts", "API only", at(hours=-3))  # no agent path
    run = monitor(now=at())
    assert run.returncode == 0 and run.overdue == []
    assert "tenant-agent: stale, 1 pending" in run.stdout and "support-agent: in_sync" in run.stdout
    assert writes(fake) == [] and run.outputs["issue-url"] == ""


def test_target_is_what_the_auto_components_run(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    """API and client still run a commit before the agent change: production lacks it, nobody is behind."""
    production = mono.head()
    deploy(fake, "api", production, at(hours=-4))
    deploy(fake, "client", production, at(hours=-4))
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    run = monitor(now=at())
    assert run.returncode == 0 and run.overdue == [], run.stdout
    assert f"monitor at {production[:12]}" in run.stdout
    # The API deploys the head: now production has the change, and the agent is behind it.
    deploy(fake, "api", mono.head(), at(hours=-1))
    run = monitor(now=at())
    assert run.returncode == 1 and run.overdue == ["tenant-agent"]
    assert f"monitor at {mono.head()[:12]}" in run.stdout


# --- exit statuses, outputs and errors ---------------------------------------------------------


def test_exit_statuses_and_outputs(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    nothing = monitor(now=at())
    assert nothing.returncode == 0
    assert nothing.outputs == {"overdue": "[]", "unknown": "[]", "issue-url": ""}

    merge = change(mono, TENANT, "Tenant plans (#42)", at(hours=-2))
    overdue = monitor(now=at())
    assert overdue.returncode == 1
    assert overdue.outputs["issue-url"] == f"{REPO_URL}/issues/1"
    [item] = json.loads(overdue.outputs["overdue"])
    assert item["component"] == "tenant-agent" and item["status"] == "stale"
    assert item["deployed_sha"] == mono.git("rev-list", "--max-parents=0", "HEAD")
    assert [commit["sha"] for commit in item["pending_commits"]] == [merge]
    assert item["pending_commits"][0]["files"] == [TENANT]

    warned = monitor("--no-fail-on-overdue", now=at(minutes=5))
    assert warned.returncode == 0 and warned.overdue == ["tenant-agent"]
    assert warned.outputs["issue-url"] == f"{REPO_URL}/issues/1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-age-minutes", "an hour"], "max-age-minutes: must be a number of minutes, not 'an hour'"),
        (["--max-age-minutes", "-5"], "max-age-minutes: must not be negative"),
        (["--issue-mode", "every"], "argument --issue-mode: invalid choice: 'every'"),
        (["--now", "yesterday"], "--now: must be ISO 8601 or unix seconds, not 'yesterday'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(fake: FakeGitHub, mono: GitRepo, tmp_path: Path, args, message) -> None:
    result = run_process(fake, mono, tmp_path, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("dualdeploy: error: ") and message in line, line
    [annotation] = [text for text in result.stdout.splitlines() if text.startswith("::error")]
    assert "dualdeploy" in annotation
    assert writes(fake) == []


def test_read_only_token_warns_in_one_line_naming_issues_write(mono: GitRepo, fake: FakeGitHub, tmp_path: Path) -> None:
    fake.add_token("ghs_read_only", write=False)
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    now = ("--now", T0.isoformat())
    run = run_process(fake, mono, tmp_path, *now, token="ghs_read_only")
    # The check itself still runs: exit status by fail-on-overdue, outputs and summary written.
    assert run.returncode == 1 and run.overdue == ["tenant-agent"]
    assert run.outputs["issue-url"] == ""
    [warning] = [text for text in run.stdout.splitlines() if text.startswith("::warning")]
    assert "title=dualdeploy%3A monitor lacks issues%3A write" in warning
    assert "HTTP 403" in warning and "`issues: write`" in warning, warning
    assert "the alert issue was not updated" in run.summary
    assert "Traceback" not in run.stderr and "dualdeploy: error" not in run.stderr
    assert alert_issues(fake) == [] and writes(fake) == [("POST", f"/repos/{REPO}/labels")]
    assert run_process(fake, mono, tmp_path, *now, "--no-fail-on-overdue", token="ghs_read_only").returncode == 0


def test_without_a_token_it_is_a_dry_run(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    given = json.dumps(dict.fromkeys(AGENTS, mono.git("rev-parse", "HEAD~1")))
    # Production's commit given too: nothing needs GitHub, so no token is no problem.
    run = monitor("--deployed-shas", given, "--target-sha", "HEAD", token="")
    assert run.returncode == 1 and run.overdue == ["tenant-agent"]
    assert "dry run (no token)" in run.stdout
    assert fake.requests == []


def metrics_json(fake: FakeGitHub, mono: GitRepo, folder: Path) -> tuple[Run, dict]:
    """`dualdeploy metrics --format json` on a terminal; the report is the JSON document that starts stdout."""
    run = run_process(fake, mono, folder, "--format", "json", "--now", T0.isoformat(), command="metrics")
    assert run.returncode == 0, run.stderr
    report, _ = json.JSONDecoder().raw_decode(run.stdout)
    return run, report


def test_metrics_json_shape(mono: GitRepo, fake: FakeGitHub, tmp_path: Path) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    _, report = metrics_json(fake, mono, tmp_path)
    assert report["target"] == mono.head()
    assert [item["component"] for item in report["components"]] == list(AGENTS)
    tenant = report["components"][0]
    assert tenant == {
        "component": "tenant-agent",
        "window_days": 30,
        "commits": 2,  # the first commit (deployed an hour later) and the pending change
        "deployed": 1,
        "deploys": 1,
        "deploy_gaps": 1,  # the ongoing one: two hours without a deploy
        "lag_seconds": {"median": 3600, "p90": 3600, "max": 3600},
        "current_lag_seconds": 7200,
    }
    support = report["components"][1]
    assert (support["commits"], support["deploy_gaps"], support["current_lag_seconds"]) == (1, 0, 0)
    assert writes(fake) == []


def test_metrics_json_stdout_is_only_json(mono: GitRepo, fake: FakeGitHub, tmp_path: Path) -> None:
    run, report = metrics_json(fake, mono, tmp_path)
    assert json.loads(run.stdout) == report


def test_metrics_count_every_deployment_in_the_window_however_many(
    mono: GitRepo, fake: FakeGitHub, tmp_path: Path
) -> None:
    # 150 more deploys of the tenant agent in the 30 days (GitHub pages them 100 at a time), one before.
    deploy(fake, "tenant-agent", mono.head(), at(days=-31))
    for index in range(150):
        deploy(fake, "tenant-agent", mono.head(), at(days=-29, hours=4 * index))
    fake.now = T0
    fake.reset_requests()

    run, report = metrics_json(fake, mono, tmp_path)

    tenant, support, billing = report["components"]
    assert tenant["deploys"] == 151  # the 150 and the fixture's deploy five hours ago
    assert (support["deploys"], billing["deploys"]) == (1, 1)
    # Every environment in one read, the window in two pages, whatever the number of deployments;
    # then the merged pull requests: those still waiting, and those labelled in the window.
    assert [request.path for request in fake.requests] == ["/graphql"] * 3 + ["/repos/acme/mono/issues"] * 2
    assert f"GitHub API requests: {len(fake.requests)}" in run.stderr


def test_a_component_never_deployed_has_unknown_metrics_with_the_reason(
    mono: GitRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.add_repo(REPO, head_sha=mono.head())
    for agent in AGENTS[:2]:
        deploy(fake_github, agent, mono.head(), at(hours=-5))
    fake_github.now = T0
    change(mono, BILLING, "Billing plans", at(hours=-2))

    blind = run_process(fake_github, mono, tmp_path, "--format", "json", "--now", T0.isoformat(), command="metrics")
    assert blind.returncode == 1, "a component nobody can see fails the metrics (on-unknown: fail)"
    assert "cannot tell what billing-agent runs" in blind.stderr
    report, _ = json.JSONDecoder().raw_decode(blind.stdout)
    text = run_process(fake_github, mono, tmp_path, "--now", T0.isoformat(), "--on-unknown", "warn", command="metrics")
    assert text.returncode == 0, text.stderr

    billing = report["components"][2]
    assert billing["status"] == "unknown"
    assert billing["reason"] == "no successful deployment of environment 'billing-agent' yet"
    assert billing["deploys"] == 0 and billing["lag_seconds"] == {"median": None, "p90": None, "max": None}
    assert "billing-agent: unknown: no successful deployment of environment 'billing-agent' yet" in text.stdout
    assert "status" not in report["components"][0]  # measured components keep their shape


def test_current_lag_of_a_change_older_than_the_window(mono: GitRepo, fake: FakeGitHub, tmp_path: Path) -> None:
    change(mono, TENANT, "Tenant plans", at(days=-40))
    _, report = metrics_json(fake, mono, tmp_path)
    tenant = report["components"][0]
    assert tenant["current_lag_seconds"] >= 40 * 86400 and tenant["deploy_gaps"] == 1


# --- the alert issue ---------------------------------------------------------------------------


def test_first_alert_issue_says_what_to_deploy(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    deployed = mono.head()
    merge = change(mono, TENANT, "Teach the tenant agent plans (#42)", at(hours=-2))
    run = monitor(now=at())
    assert run.returncode == 1, run.stderr

    [issue] = alert_issues(fake)
    assert issue.title == "Agent not deployed: tenant-agent"
    assert issue.body.startswith(MARKER + "\n")
    assert set(issue.labels) == {"deployment", "alert"}
    colours = {label.name: label.color for label in fake.labels(REPO)}
    assert colours == {"deployment": "0e8a16", "alert": "d73a4a"}
    assert issue.assignees == []  # the owner is a team: mentioned, not assigned
    body = plain(issue.body)
    assert "### `tenant-agent`: 1 commit waiting for 2 h" in body
    assert f"Deployed: [`{deployed[:7]}`]({REPO_URL}/commit/{deployed}) at 2024-01-15 04:00 UTC" in body
    assert f"[**Run deploy-agents.yml**]({DEPLOY_LINK})" in body
    assert "Owners: @acme/agents-team" in body
    [row] = [line for line in body.splitlines() if line.startswith("| [`")]
    assert row.startswith(f"| [`{merge[:7]}`]")
    assert f"{REPO_URL}/commit/{merge}" in row and "Teach the tenant agent plans (#42)" in row
    assert "Ada Tester" in row and f"[#42]({REPO_URL}/pull/42)" in row and "2024-01-15 07:00 UTC" in row
    assert "billing-agent" not in body
    assert "Deploy lag over the last 30 days" in body
    assert "`dualdeploy explain --commit <sha>` (or `--pr <number>`)" in body
    assert fake.comments(REPO, issue.number) == []
    assert run.outputs["issue-url"] == f"{REPO_URL}/issues/{issue.number}"
    assert "Agent monitor" in run.summary and "Deploy lag over the last 30 days" in run.summary
    assert "opened alert issue #1" in run.stdout


def test_users_are_assigned_and_teams_mentioned(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    config = (mono.path / CONFIG).read_text()
    config = config.replace('owners: ["@acme/agents-team"]', 'owners: ["@alice", "@acme/agents-team"]', 1)
    config += "monitor:\n  assignees: [carol]\n"
    mono.commit("Name the tenant agent's owners", {CONFIG: config}, date=at(hours=-3).isoformat())
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    change(mono, BILLING, "Billing plans", at(hours=-2))
    assert monitor(now=at()).returncode == 1

    [issue] = alert_issues(fake)
    assert issue.title == "Agents not deployed: tenant-agent, billing-agent"
    assert issue.assignees == ["alice", "carol"]
    assert "Owners: @alice @acme/agents-team" in issue.body
    assert "Owners: @acme/billing-team" in issue.body


def test_create_update_comment_on_change_then_close(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    assert monitor(now=at()).returncode == 1
    [issue] = alert_issues(fake)
    first_body = issue.body

    # Ten minutes on: same overdue set, so the body is edited in place (the waiting time) and no comment.
    fake.reset_requests()
    run = monitor(now=at(minutes=10))
    assert run.returncode == 1 and "updated alert issue #1" in run.stdout
    [same] = alert_issues(fake)
    assert same.number == issue.number and same.body != first_body
    assert "waiting for 2 h 10 min" in same.body
    assert fake.comments(REPO, issue.number) == []
    assert writes(fake) == [("PATCH", f"/repos/{REPO}/issues/1")]

    # The same run again: nothing to write at all.
    fake.reset_requests()
    assert "alert issue #1 unchanged" in monitor(now=at(minutes=10)).stdout
    assert writes(fake) == []

    # Billing becomes overdue too: one comment that says so.
    change(mono, BILLING, "Billing plans", at(minutes=20))
    run = monitor(now=at(hours=1, minutes=30))
    assert run.overdue == ["tenant-agent", "billing-agent"]
    [same] = alert_issues(fake)
    assert same.number == issue.number and "billing-agent" in same.body
    [comment] = fake.comments(REPO, issue.number)
    assert "The overdue components changed: now `billing-agent`, `tenant-agent`." in comment.body
    assert "Newly overdue: `billing-agent`" in comment.body

    # Tenant deployed: the set shrinks, another comment.
    deploy(fake, "tenant-agent", mono.head(), at(hours=1, minutes=40))
    run = monitor(now=at(hours=1, minutes=45))
    assert run.overdue == ["billing-agent"]
    comments = fake.comments(REPO, issue.number)
    assert len(comments) == 2 and "Deployed since: `tenant-agent`" in comments[1].body
    assert "### `tenant-agent`" not in alert_issues(fake)[0].body

    # Everything deployed: a closing comment with each deploy and its lag, then closed as completed.
    head = mono.head()
    deploy(fake, "billing-agent", head, at(hours=2))
    run = monitor(now=at(hours=2, minutes=5))
    assert run.returncode == 0 and run.overdue == []
    assert alert_issues(fake) == []
    closed = fake.issue(REPO, issue.number)
    assert (closed.state, closed.state_reason) == ("closed", "completed")
    closing = fake.comments(REPO, issue.number)[-1]
    assert "All components are deployed, closing." in closing.body
    assert f"`billing-agent`: deployed `{head[:7]}`, lag 1 h 40 min" in closing.body  # landed 09:20, deployed 11:00
    assert run.outputs["issue-url"] == f"{REPO_URL}/issues/1"

    # Nothing overdue and no open issue: nothing is written.
    fake.reset_requests()
    assert monitor(now=at(hours=3)).returncode == 0
    assert writes(fake) == []
    assert len(fake.comments(REPO, issue.number)) == 3

    # Overdue again later: a new issue, which does not claim to follow the resolved one.
    change(mono, TENANT, "More tenant plans", at(hours=3))
    assert monitor(now=at(hours=5)).returncode == 1
    [new] = alert_issues(fake)
    assert new.number == 2 and "This follows" not in new.body


def test_issue_closed_by_a_person_while_overdue_is_followed_by_a_new_one(
    mono: GitRepo, fake: FakeGitHub, monitor
) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    monitor(now=at())
    [first] = alert_issues(fake)
    fake.add_token("ghp_alice_token", login="alice")
    fake.client("ghp_alice_token").get_repo(REPO).get_issue(first.number).edit(state="closed")

    run = monitor(now=at(minutes=30))
    assert run.returncode == 1
    [second] = alert_issues(fake)
    assert second.number != first.number
    assert "This follows #1, which @alice closed while components were still overdue." in plain(second.body)
    old = fake.issue(REPO, first.number)
    assert old.state == "closed" and old.closed_by == "alice"
    assert old.body == first.body and fake.comments(REPO, first.number) == []  # never reopened or edited
    assert run.outputs["issue-url"] == f"{REPO_URL}/issues/{second.number}"

    # Later runs keep editing the new issue, which keeps its link to the old one.
    monitor(now=at(hours=1))
    [same] = alert_issues(fake)
    assert same.number == second.number and "This follows #1" in same.body
    assert fake.issue(REPO, first.number).state == "closed"


def test_per_component_issues_open_and_close_on_their_own(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    change(mono, BILLING, "Billing plans", at(hours=-2))
    run = monitor("--issue-mode", "per-component", now=at())
    assert run.returncode == 1
    issues = {issue.title: issue for issue in alert_issues(fake)}
    assert set(issues) == {"Agent not deployed: tenant-agent", "Agent not deployed: billing-agent"}
    tenant, billing = issues["Agent not deployed: tenant-agent"], issues["Agent not deployed: billing-agent"]
    assert tenant.body.startswith("<!-- dualdeploy:monitor-alert component=tenant-agent -->")
    assert billing.body.startswith("<!-- dualdeploy:monitor-alert component=billing-agent -->")
    assert "billing-agent" not in tenant.body.split("<details>")[0]

    deploy(fake, "tenant-agent", mono.head(), at(minutes=10))
    run = monitor("--issue-mode", "per-component", now=at(minutes=15))
    assert run.overdue == ["billing-agent"]
    assert fake.issue(REPO, tenant.number).state == "closed"
    assert "All components are deployed" in fake.comments(REPO, tenant.number)[-1].body
    assert fake.issue(REPO, billing.number).state == "open"
    assert fake.comments(REPO, billing.number) == []

    deploy(fake, "billing-agent", mono.head(), at(minutes=20))
    assert monitor("--issue-mode", "per-component", now=at(minutes=25)).returncode == 0
    assert alert_issues(fake) == []
    assert fake.issue(REPO, billing.number).state_reason == "completed"
    assert len(fake.comments(REPO, tenant.number)) == 1  # closed once, left alone after


def test_issues_it_does_not_own_are_never_touched(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    quoting = fake.add_issue(
        REPO,
        title="Why does the bot write this?",
        body=f"It writes\n```\n{MARKER}\n```\nin its issues.",
        labels=["alert"],
    )
    trailing = fake.add_issue(
        REPO, title="Agent not deployed: tenant-agent", body=f"Copied by hand:\n{MARKER}", labels=["alert"]
    )
    change(mono, TENANT, "Tenant plans", at(hours=-2))

    assert monitor(now=at()).returncode == 1
    [ours] = alert_issues(fake)
    assert ours.number not in (quoting.number, trailing.number)
    deploy(fake, "tenant-agent", mono.head(), at(minutes=10))
    assert monitor(now=at(minutes=15)).returncode == 0
    assert fake.issue(REPO, ours.number).state == "closed"
    for human in (quoting, trailing):
        now = fake.issue(REPO, human.number)
        assert (now.state, now.body, now.title) == ("open", human.body, human.title)
        assert fake.comments(REPO, human.number) == []
    edited = {request.path for request in fake.requests if request.method in ("PATCH", "POST")}
    assert not [path for path in edited if f"/issues/{quoting.number}" in path or f"/issues/{trailing.number}" in path]


def test_a_persons_copy_of_the_alert_issue_is_theirs(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    """Someone opened a team follow-up by pasting the alert's source: it starts with the marker, but
    the monitor keeps its own issue and never edits or closes theirs."""
    change(mono, TENANT, "Tenant plans", at(hours=-3))
    assert monitor("--max-age-minutes", "60").returncode == 1
    [alert] = alert_issues(fake)
    copied = alert.body + "\n\nTeam notes: deploy on Friday"
    copy = fake.add_issue(REPO, title="Team follow-up", body=copied, labels=["alert"], user="hubot")
    deploy(fake, "tenant-agent", mono.head(), at(minutes=5))
    assert monitor("--max-age-minutes", "60", now=at(minutes=10)).returncode == 0
    assert fake.issue(REPO, alert.number).state == "closed"
    theirs = fake.issue(REPO, copy.number)
    assert (theirs.state, theirs.title, theirs.body) == ("open", "Team follow-up", copied)
    assert fake.comments(REPO, copy.number) == []


# --- big overdue sets --------------------------------------------------------------------------


def import_commits(repo: GitRepo, subjects: list[str], start: datetime, step: timedelta) -> list[str]:
    """Append one commit per subject to main, each changing the tenant agent (fast-import: no work tree)."""
    head = repo.head()
    chunks = []
    for index, subject in enumerate(subjects):
        moment = int((start + step * index).timestamp())
        message = subject.encode()
        content = f"export const step = {index};\n".encode()
        chunks += [
            b"commit refs/heads/main\n",
            f"author Ada Tester <ada@example.com> {moment} +0000\n".encode(),
            f"committer Ada Tester <ada@example.com> {moment} +0000\n".encode(),
            b"data %d\n" % len(message),
            message + b"\n",
            *([f"from {head}\n".encode()] if index == 0 else []),
            f"M 100644 inline {TENANT}\n".encode(),
            b"data %d\n" % len(content),
            content + b"\n",
        ]
    subprocess.run(
        ["git", "-C", str(repo.path), "fast-import", "--quiet"], input=b"".join(chunks), check=True, capture_output=True
    )
    repo.git("reset", "--quiet", "--hard", "main")
    return repo.git("rev-list", f"{head}..main").split()


def test_fifty_pending_commits_are_all_listed(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    subjects = [f"Tenant step {index} (#{100 + index})" for index in range(50)]
    shas = import_commits(mono, subjects, at(hours=-3), timedelta(minutes=1))
    assert monitor(now=at()).returncode == 1
    [issue] = alert_issues(fake)
    assert len(issue.body) <= GITHUB_BODY_LIMIT
    assert "50 commits waiting for 3 h" in issue.body
    for sha in shas:
        assert f"[`{sha[:7]}`]({REPO_URL}/commit/{sha})" in issue.body
    assert f"[#149]({REPO_URL}/pull/149)" in issue.body
    assert "more commits" not in issue.body


def test_three_thousand_long_commits_are_cut_with_a_count(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    filler = "Rework the tenant agent's prompt, tools & memory (see docs/agents.md); " * 25  # ~1,800 chars
    subjects = [f"{index}: {filler}" for index in range(3000)]
    import_commits(mono, subjects, at(hours=-4), timedelta(seconds=1))
    run = monitor(now=at())
    assert run.returncode == 1, run.stderr
    [issue] = alert_issues(fake)
    assert len(issue.body) <= GITHUB_BODY_LIMIT
    assert "3000 commits waiting for 4 h" in issue.body
    rows = [line for line in issue.body.splitlines() if line.startswith("| [`")]
    assert 0 < len(rows) < 50
    assert f"…and {3000 - len(rows)} more commits." in issue.body
    # The newest commits come first, and the monitor's state survives the cut.
    assert rows[0].startswith("| [`" + mono.head()[:7])
    assert '"overdue":["tenant-agent"]' in issue.body


# --- two runs at once --------------------------------------------------------------------------


def test_two_runs_at_the_same_moment_leave_one_open_issue(mono: GitRepo, fake: FakeGitHub) -> None:
    """Both runs look for the issue, find none and create one; creating takes a while, so each
    run's re-check before creating comes too early to see the other's issue."""
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    fake.slow_next("POST", rf"^/repos/{REPO}/issues$", 1.5, times=2)
    env = process_env({**fake.env(), "GITHUB_REPOSITORY": REPO})
    command = [*COMMAND, "monitor", "--repo", str(mono.path), "--now", T0.isoformat()]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    results = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [1, 1], results
    creates = [request for request in fake.requests if request.method == "POST" and request.path.endswith("/issues")]
    assert len(creates) == 2  # the race did happen: both runs created an issue
    [issue] = alert_issues(fake)
    assert issue.number == 1  # the older one stays open
    duplicate = fake.issue(REPO, 2)
    assert duplicate.state == "closed"
    assert "#1" in fake.comments(REPO, 2)[-1].body  # the duplicate points at the survivor

    # The next run keeps the survivor and does not call the closed duplicate a person's close.
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    [same] = alert_issues(fake)
    assert same.number == 1 and "This follows" not in same.body


# --- what the monitor cannot see ---------------------------------------------------------------


def hide_billing(mono: GitRepo) -> None:
    """billing-agent reads an environment nobody deploys to: the monitor cannot tell what it runs."""
    config = (mono.path / CONFIG).read_text()
    config = config.replace(
        'owners: ["@acme/billing-team"]',
        'owners: ["@acme/billing-team"]\n    deployed: {github-deployment: billing-prod}',
    )
    mono.commit("billing-agent deploys to billing-prod", {CONFIG: config}, date=at(hours=-4).isoformat())


def test_unknown_fails_and_has_its_own_section_in_the_alert(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    hide_billing(mono)
    run = monitor(now=at())
    assert run.returncode == 1 and run.overdue == []
    assert json.loads(run.outputs["unknown"]) == ["billing-agent"]
    assert "dualdeploy: error: cannot tell what billing-agent runs: no successful deployment of environment " in (
        run.stderr
    )
    [issue] = alert_issues(fake)
    assert issue.title == "Cannot tell what runs: billing-agent"
    body = plain(issue.body)
    assert "## ❔ Cannot tell what runs" in body and "overdue for a manual deploy" not in body
    assert "### `billing-agent`: cannot tell what runs" in body
    assert "- Why: no successful deployment of environment 'billing-prod' yet" in body
    assert "- Fix: record deployments with `record-deployment`" in body

    # Something overdue as well: both sections, one issue.
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    both = monitor(now=at(minutes=5))
    assert both.returncode == 1 and both.overdue == ["tenant-agent"]
    [issue] = alert_issues(fake)
    assert issue.title == "Agent not deployed: tenant-agent; cannot tell what runs: billing-agent"
    assert "overdue for a manual deploy" in plain(issue.body) and "## ❔ Cannot tell what runs" in plain(issue.body)
    assert "Cannot tell what runs: `billing-agent`" in plain(fake.comments(REPO, issue.number)[-1].body)

    # Once the monitor can see it and the agents are deployed, the issue closes.
    deploy(fake, "billing-prod", mono.head(), at(minutes=6))
    deploy(fake, "tenant-agent", mono.head(), at(minutes=6))
    fake.now = at(minutes=10)
    done = monitor(now=at(minutes=10))
    assert done.returncode == 0 and alert_issues(fake) == []


def test_on_unknown_warn_keeps_it_out_of_the_issue(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    hide_billing(mono)
    run = monitor("--on-unknown", "warn", now=at())
    assert run.returncode == 0 and alert_issues(fake) == []
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert "cannot tell what billing-agent runs" in warning and "fix: " in warning


def test_format_json_is_json_only_on_stdout(mono: GitRepo, fake: FakeGitHub, tmp_path: Path) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    run = run_process(fake, mono, tmp_path, "--format", "json", "--now", T0.isoformat())
    assert run.returncode == 1
    document = json.loads(run.stdout)  # nothing before or after it
    assert document["overdue"] == ["tenant-agent"] and document["unknown"] == []
    assert "monitor at" in run.stderr and "::add-mask::" in run.stderr


def test_a_run_for_some_components_leaves_the_single_issue_of_the_others_open(
    mono: GitRepo, fake: FakeGitHub, monitor
) -> None:
    """`--components tenant-agent` checks tenant-agent only: billing-agent, still overdue, keeps its alert."""
    change(mono, BILLING, "Billing invoices", at(hours=-3))
    change(mono, TENANT, "Tenant plans", at(hours=-3))
    assert monitor("--max-age-minutes", "60").returncode == 1
    deploy(fake, "tenant-agent", mono.head(), at(minutes=5))
    run = monitor("--max-age-minutes", "60", "--components", "tenant-agent", now=at(minutes=10))
    assert run.returncode == 0, run.stderr
    assert run.overdue == []
    [issue] = alert_issues(fake)
    assert "billing-agent" in plain(issue.title) and "tenant-agent" not in plain(issue.title)
    assert fake.issue(REPO, issue.number).state == "open"

"""A merged pull request follows its deploy: record-deployment and the monitor update its comment
and remove `requires-manual-deploy` once every impacted manual component runs the merge commit;
`dualdeploy metrics` gives merge-to-deploy per pull request. Against the fake GitHub, on a git
repository and a timeline the tests build (times known to the minute)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dualdeploy.drift import Deployment
from dualdeploy.markers import read_hidden_state
from dualdeploy.pull_requests import (
    ComponentDeploy,
    PullRequestLife,
    pull_request_metrics,
    settle,
    waiting_by_component,
)
from fakegithub import FakeGitHub
from gitrepo import GitRepo, git_date
from runner import Dualdeploy

REPO = "octo/mono"
MARKER = "<!-- dualdeploy:detect-agent-impact -->"
CONFIG = """\
version: 1
components:
  tenant-agent:
    deploy: manual
    paths: ["agents/tenant/**"]
    deploy-workflow: deploy-agents.yml
    owners: ["@octo/agents"]
  customer-agent:
    deploy: manual
    paths: ["agents/customer/**"]
    deploy-workflow: deploy-agents.yml
monitor:
  lag-target-minutes: 30
"""
T0 = datetime(2024, 1, 15, 9, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("keep_request_count")


def minutes(count: int) -> datetime:
    return T0 + timedelta(minutes=count)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# --- the pure part --------------------------------------------------------------------------------


def test_metrics_on_a_timeline() -> None:
    merged = [(1, 0, {"a": 10}), (2, 5, {"a": 20, "b": 65}), (3, 10, {"a": 100}), (4, 20, {})]
    lives = [
        PullRequestLife(
            number,
            manual=("a", "b") if number == 2 else ("a",),
            merged_at=epoch(minutes(start)),
            merge_commit=f"{number:040d}",
            deployed={name: ComponentDeploy("f" * 40, epoch(minutes(at))) for name, at in deploys.items()},
        )
        for number, start, deploys in merged
    ]
    result = pull_request_metrics(lives, now=epoch(minutes(120)), target_minutes=30)
    # #1: 10 min, #2: 60 min (its last component), #3: 90 min; #4 waits 100 min (> target).
    assert (result.merged, result.deployed, result.waiting) == (4, 3, 1)
    assert result.median == 3600 and result.p90 == 5400
    assert result.within_target == 1 and result.share_within_target == 0.25
    assert [p["merge_to_deploy_seconds"] for p in result.pulls] == [600, 3600, 5400, None]


def test_a_pull_request_waiting_less_than_the_target_is_not_decided_yet() -> None:
    life = PullRequestLife(1, manual=("a",), merged_at=epoch(T0), merge_commit="1" * 40)
    result = pull_request_metrics([life], now=epoch(minutes(10)), target_minutes=30)
    assert result.waiting == 1 and result.share_within_target is None and result.median is None


def test_unknown_containment_never_counts_as_deployed() -> None:
    life = PullRequestLife(1, manual=("a",), merged_at=epoch(T0), merge_commit="1" * 40)
    deploys = {"a": [Deployment("a", "2" * 40, epoch(minutes(5)))]}
    settled, unknown = settle(life, deploys, lambda deployed, merge: None)
    assert settled.waiting == ("a",) and unknown == ["a"]
    settled, unknown = settle(life, deploys, lambda deployed, merge: True)
    assert settled.fully_deployed and settled.merge_to_deploy == 300 and unknown == []


def test_waiting_lists_are_per_component_oldest_first() -> None:
    lives = [
        PullRequestLife(2, manual=("a",), merged_at=epoch(minutes(5)), merge_commit="2" * 40, title="second"),
        PullRequestLife(1, manual=("a", "b"), merged_at=epoch(T0), merge_commit="1" * 40, title="first"),
    ]
    waiting = waiting_by_component(lives, epoch(minutes(65)))
    assert [(p.number, p.age) for p in waiting["a"]] == [(1, 3900), (2, 3600)]
    assert [p.number for p in waiting["b"]] == [1]


# --- against the fake GitHub ---------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """main: base, then the merges of #1 (tenant) and #2 (customer), as merge commits."""
    repo = GitRepo(tmp_path / "mono")
    repo.commit(
        "base",
        {".github/dual-deploy.yml": CONFIG, "agents/tenant/a.ts": "1", "agents/customer/a.ts": "1"},
        date=git_date(minutes(-60)),
    )
    for number, path, at in ((1, "agents/tenant/a.ts", 0), (2, "agents/customer/a.ts", 5)):
        repo.checkout(f"pr{number}", new=True)
        repo.commit(f"change {number}", {path: "2"}, date=git_date(minutes(at - 1)))
        repo.checkout("main")
        repo.git(
            "merge", "--no-ff", "-q", "-m", f"Merge pull request #{number}", f"pr{number}", date=git_date(minutes(at))
        )
    return repo


def merge_of(repo: GitRepo, number: int) -> str:
    return repo.git("log", "--format=%H", f"--grep=Merge pull request #{number}$", "main").split()[0]


def seed_pull(fake: FakeGitHub, repo: GitRepo, number: int, manual: list[str], merged_minute: int) -> None:
    """A merged pull request as the suite leaves it after its closed event: labels and the comment."""
    from dualdeploy.config import load_config
    from dualdeploy.pull_requests import render_comment

    merge = merge_of(repo, number)
    fake.add_pull(
        REPO,
        number,
        head_sha=repo.git("rev-parse", f"pr{number}"),
        title=f"Change {number}",
        labels=["agent-changes", "requires-manual-deploy", "bug"],
        state="closed",
        merged_at=minutes(merged_minute),
        merge_commit_sha=merge,
    )
    life = PullRequestLife(number, manual=tuple(manual), merged_at=epoch(minutes(merged_minute)), merge_commit=merge)
    state = life.to_state({"labels_added": ["agent-changes", "requires-manual-deploy"]})
    config = load_config(repo.path / ".github/dual-deploy.yml")
    fake.add_issue_comment(REPO, number, render_comment(life, config, f"https://github.com/{REPO}", state))
    fake.add_issue_comment(REPO, number, "Please deploy soon", user="hubot")


@pytest.fixture
def fake(fake_github: FakeGitHub, repo: GitRepo) -> FakeGitHub:
    fake_github.add_repo(REPO, head_sha=repo.head())
    fake_github.now = minutes(30)
    seed_pull(fake_github, repo, 1, ["tenant-agent"], 0)
    seed_pull(fake_github, repo, 2, ["customer-agent"], 5)
    return fake_github


def ours(fake: FakeGitHub, number: int):
    return [comment for comment in fake.comments(REPO, number) if comment.body.startswith(MARKER)]


def labels(fake: FakeGitHub, number: int) -> set[str]:
    return set(fake.issue(REPO, number).labels)


def run(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo, *args: str, **env: str):
    return dualdeploy(
        args[0],
        "--repo",
        str(repo.path),
        *args[1:],
        env={**fake.env(), "GITHUB_RUN_ID": "77", "GITHUB_SHA": repo.head(), "DD_DEFAULT_BRANCH": "main", **env},
    )


def test_record_then_monitor_clear_each_pull_request_once_its_components_run_it(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    # The deploy workflow deploys tenant-agent at main (which carries both merges) at minute 30.
    result = run(dualdeploy, fake, repo, "record", "--component", "tenant-agent")
    assert result.returncode == 0, result.stderr
    assert labels(fake, 1) == {"agent-changes", "bug"}
    assert labels(fake, 2) == {"agent-changes", "requires-manual-deploy", "bug"}
    [first] = ours(fake, 1)
    assert "Merged and deployed" in first.body
    assert "deployed in [`" in first.body and "actions/runs/77" in first.body and "30 min after merge" in first.body
    assert read_hidden_state(first.body)["deployed"]["tenant-agent"]["at"] == epoch(minutes(30))
    [second] = ours(fake, 2)
    assert "Merged, waiting for a deploy of `customer-agent`" in second.body

    # customer-agent is deployed by other tooling at minute 50; the monitor catches up.
    fake.now = minutes(50)
    deployment = fake.add_deployment(REPO, sha=repo.head(), ref="main", environment="customer-agent")
    fake.add_deployment_status(REPO, deployment.id, "success")
    fake.now = minutes(55)
    monitor = run(dualdeploy, fake, repo, "monitor", "--now", str(epoch(minutes(55))))
    assert monitor.returncode == 0, monitor.stderr
    assert labels(fake, 2) == {"agent-changes", "bug"}
    [second] = ours(fake, 2)
    assert "45 min after merge" in second.body
    for number in (1, 2):
        assert len(ours(fake, number)) == 1
        assert [c.body for c in fake.comments(REPO, number) if c.user == "hubot"] == ["Please deploy soon"]

    # A rerun of either changes nothing.
    fake.reset_requests()
    again = run(dualdeploy, fake, repo, "monitor", "--now", str(epoch(minutes(56))))
    assert again.returncode == 0, again.stderr
    assert not [r for r in fake.requests if r.method != "GET" and "/issues/" in r.path], fake.requests


def test_metrics_json_pins_merge_to_deploy_per_pull_request(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    fake.now = minutes(20)
    deployment = fake.add_deployment(REPO, sha=merge_of(repo, 1), ref="main", environment="tenant-agent")
    fake.add_deployment_status(REPO, deployment.id, "success")
    # customer-agent was never deployed: its deploy metrics are unknown, which fails unless warned.
    args = ("metrics", "--format", "json", "--now", str(epoch(minutes(60))))
    assert run(dualdeploy, fake, repo, *args).returncode == 1
    result = run(dualdeploy, fake, repo, *args, "--on-unknown", "warn")
    assert result.returncode == 0, result.stderr
    shown = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("::add-mask::"))
    pulls = json.loads(shown)["pull_requests"]
    assert (pulls["merged"], pulls["deployed"], pulls["waiting"]) == (2, 1, 1)
    assert pulls["merge_to_deploy_seconds"] == {"median": 1200, "p90": 1200}
    assert pulls["target_minutes"] == 30 and pulls["within_target"] == 1
    assert pulls["share_within_target"] == 0.5  # #2 waits 55 min, past the 30 min target
    assert [(p["number"], p["merge_to_deploy_seconds"]) for p in pulls["pull_requests"]] == [(1, 1200), (2, None)]
    assert labels(fake, 1) == {"agent-changes", "requires-manual-deploy", "bug"}  # metrics only read


def test_shallow_knowledge_keeps_the_pull_request_waiting(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    """record-deployment of a commit that does not carry the merge leaves the pull request alone."""
    base = repo.git("rev-list", "--max-parents=0", "HEAD")
    result = run(dualdeploy, fake, repo, "record", "--component", "tenant-agent", "--sha", base)
    assert result.returncode == 0, result.stderr
    assert labels(fake, 1) == {"agent-changes", "requires-manual-deploy", "bug"}
    assert "Merged, waiting for a deploy of `tenant-agent`" in ours(fake, 1)[0].body


def test_the_dashboard_and_the_alert_issue_list_who_still_waits(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    base = repo.git("rev-list", "--max-parents=0", "HEAD")
    fake.now = minutes(-30)
    for agent in ("tenant-agent", "customer-agent"):
        deployment = fake.add_deployment(REPO, sha=base, ref="main", environment=agent)
        fake.add_deployment_status(REPO, deployment.id, "success")
    fake.now = minutes(65)
    now = str(epoch(minutes(65)))
    status = run(dualdeploy, fake, repo, "status", "--format", "markdown", "--now", now)
    assert status.returncode == 0, status.stderr
    text = status.stdout.replace("\\", "")
    waiting = text[text.index("Merged pull requests waiting for a deploy") :]
    assert waiting.index("`customer-agent`") < waiting.index("`tenant-agent`")
    assert "/pull/2) Change 2 (merged 1 h ago)" in waiting and "/pull/1) Change 1 (merged 1 h 5 min ago)" in waiting

    monitor = run(dualdeploy, fake, repo, "monitor", "--max-age-minutes", "30", "--now", now)
    assert monitor.returncode == 1, monitor.stdout  # both agents overdue
    [issue] = [issue for issue in fake.repo(REPO).issues.values() if issue.pull is None]
    body = issue.body.replace("\\", "")
    assert "Merged pull requests waiting for a deploy" in body and "/pull/1) Change 1 (merged 1 h 5 min ago)" in body
    assert "Merge to deploy, per pull request" in body and "2 merged, 0 deployed, 2 waiting" in body


def test_a_pull_request_whose_closed_event_never_ran_is_asked_for_its_merge(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    """Its comment is still the open one (manual components, no merge): GitHub has the merge commit."""
    fake.add_pull(
        REPO,
        3,
        head_sha=repo.git("rev-parse", "pr1"),
        labels=["agent-changes", "requires-manual-deploy"],
        state="closed",
        merged_at=minutes(0),
        merge_commit_sha=merge_of(repo, 1),
    )
    state = '{"labels_added":["agent-changes","requires-manual-deploy"],"manual":["tenant-agent"]}'
    fake.add_issue_comment(REPO, 3, f"{MARKER}\n<!-- dualdeploy:state {state} -->\n## 🚦 Manual deploy needed")
    fake.reset_requests()
    result = run(dualdeploy, fake, repo, "record", "--component", "tenant-agent")
    assert result.returncode == 0, result.stderr
    assert [r.path for r in fake.requests if r.path.endswith("/pulls/3")] == [f"/repos/{REPO}/pulls/3"]
    assert labels(fake, 3) == {"agent-changes"}
    [comment] = ours(fake, 3)
    assert "Merged and deployed" in comment.body and "30 min after merge" in comment.body


def test_a_merged_pull_request_github_gives_no_merge_commit_for_keeps_waiting(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    """GitHub says merged but names no merge commit: unknown, never 'closed without merging'."""
    fake.add_pull(
        REPO,
        3,
        head_sha=repo.git("rev-parse", "pr1"),
        labels=["agent-changes", "requires-manual-deploy"],
        state="closed",
        merged_at=minutes(0),
        merge_commit_sha=None,
    )
    state = '{"labels_added":["agent-changes","requires-manual-deploy"],"manual":["tenant-agent"]}'
    body = f"{MARKER}\n<!-- dualdeploy:state {state} -->\n## 🚦 Manual deploy needed"
    fake.add_issue_comment(REPO, 3, body)
    result = run(dualdeploy, fake, repo, "record", "--component", "tenant-agent")
    assert result.returncode == 0, result.stderr
    assert "#3 is merged but GitHub gives no merge commit" in result.stdout + result.stderr
    assert labels(fake, 3) == {"agent-changes", "requires-manual-deploy"}
    assert [c.body for c in ours(fake, 3)] == [body]
    assert labels(fake, 1) == {"agent-changes", "bug"}  # the others are still followed


def test_a_rebase_merged_pull_request_with_a_comment_from_before_the_hidden_state_keeps_waiting(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    """Rebased onto main as two commits, the agent change in the first: the last commit alone (what
    GitHub calls its merge commit) changes no agent, yet tenant-agent was never deployed."""
    repo.commit("Tenant change", {"agents/tenant/a.ts": "9"})
    last = repo.commit("Docs", {"README.md": "x"})
    fake.add_pull(
        REPO,
        3,
        head_sha=last,
        labels=["agent-changes", "requires-manual-deploy"],
        state="closed",
        merged_at=minutes(0),
        merge_commit_sha=last,
        files=["agents/tenant/a.ts", "README.md"],
    )
    fake.add_issue_comment(REPO, 3, f"{MARKER}\n## 🚦 Manual deploy needed after merge\n")  # an older version's
    now = str(epoch(minutes(30)))
    result = run(dualdeploy, fake, repo, "monitor", "--on-unknown", "warn", "--now", now)
    assert result.returncode == 0, result.stderr
    assert labels(fake, 3) == {"agent-changes", "requires-manual-deploy"}
    [comment] = ours(fake, 3)
    assert "Merged, waiting for a deploy of `tenant-agent`" in comment.body


def test_metrics_name_a_pull_request_they_could_not_read_and_fail_unless_warned(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    """Figures that silently leave a merged pull request out would look complete."""
    fake.now = minutes(20)
    for agent in ("tenant-agent", "customer-agent"):
        deployment = fake.add_deployment(REPO, sha=repo.head(), ref="main", environment=agent)
        fake.add_deployment_status(REPO, deployment.id, "success")
    fake.add_pull(REPO, 3, head_sha=repo.git("rev-parse", "pr1"), labels=["agent-changes", "requires-manual-deploy"])
    fake.merge_pull(REPO, 3, "", merged_at=minutes(10))  # GitHub names no merge commit
    state = '{"labels_added":["agent-changes","requires-manual-deploy"],"manual":["tenant-agent"]}'
    fake.add_issue_comment(REPO, 3, f"{MARKER}\n<!-- dualdeploy:state {state} -->\n## 🚦 Manual deploy needed")
    now = str(epoch(minutes(60)))
    result = run(dualdeploy, fake, repo, "metrics", "--format", "json", "--now", now)
    assert result.returncode == 1, result.stderr
    pulls = json.loads(result.stdout)["pull_requests"]
    assert [item["number"] for item in pulls["unknown"]] == [3] and pulls["merged"] == 2
    assert "pull request #3 left out: #3 is merged but GitHub gives no merge commit" in result.stderr
    warned = run(dualdeploy, fake, repo, "metrics", "--now", now, "--on-unknown", "warn")
    assert warned.returncode == 0, warned.stderr
    assert "2 merged, 2 deployed, 0 waiting" in warned.stdout and "1 unknown, left out" in warned.stdout


def test_the_status_page_shows_who_waits_and_the_per_pr_metrics(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    fake.now = minutes(20)
    deployment = fake.add_deployment(REPO, sha=merge_of(repo, 1), ref="main", environment="tenant-agent")
    fake.add_deployment_status(REPO, deployment.id, "success")
    now = str(epoch(minutes(60)))
    result = dualdeploy(
        "docs",
        "--repo",
        str(repo.path),
        "--only",
        "status",
        "--github-token",
        "test-token",
        "--repository",
        REPO,
        env={**fake.env(), "DD_NOW": now},
    )
    assert result.returncode == 0, result.stderr
    page = (repo.path / "docs/DEPLOYMENT_STATUS.md").read_text().replace("\\", "")
    assert "Merged pull requests waiting for a deploy" in page and "Change 2 (merged 55 min ago)" in page
    assert "Merge to deploy, per pull request" in page
    assert "2 merged, 1 deployed, 1 waiting; median 20 min, p90 20 min; 50% within 30 min" in page

"""The monitor with Slack: against the fake GitHub and a loopback Slack receiver, as processes.

At most one message a run: the alert when its content changed since the last one (the fingerprint
kept in the issue), the all-clear when the monitor closes the issue. A Slack failure never costs
the issue, and the webhook URL never shows anywhere.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fakegithub import FakeGitHub
from gitrepo import GitRepo, example_monorepo
from runner import Dualdeploy, Run
from slackreceiver import SERVER_ERROR, SlackReceiver, slack_receiver  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
REPO = "acme/mono"
SECRET = "SECRETxyz0123456789"
TENANT = "server/src/agent-v2/deploy/tenant/index.ts"
BILLING = "server/src/agent-v2/deploy/billing/index.ts"
AGENTS = ("tenant-agent", "support-agent", "billing-agent")
T0 = datetime(2024, 1, 15, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def scene(tmp_path: Path, fake_github: FakeGitHub, slack_receiver: SlackReceiver):  # noqa: F811
    repo = example_monorepo(tmp_path / "mono", date=(T0 - timedelta(hours=6)).isoformat())
    first = repo.head()
    fake_github.add_repo(REPO, head_sha=first)
    for agent in AGENTS:
        deploy(fake_github, agent, first, T0 - timedelta(hours=5))
    fake_github.now = T0
    return repo, fake_github, slack_receiver


def deploy(fake: FakeGitHub, component: str, sha: str, moment: datetime) -> None:
    fake.now = moment
    deployment = fake.add_deployment(REPO, sha=sha, ref="main", environment=component)
    fake.add_deployment_status(REPO, deployment.id, "success")


def change(repo: GitRepo, path: str, subject: str, hours_before_t0: float) -> str:
    current = (repo.path / path).read_text()
    moment = T0 - timedelta(hours=hours_before_t0)
    return repo.commit(subject, {path: current + f"// {subject}\n"}, date=moment.isoformat())


def monitor(repo: GitRepo, fake: FakeGitHub, folder: Path, webhook: str | None, *args: str) -> Run:
    return Dualdeploy(folder, repository=REPO)(
        "monitor",
        "--repo",
        str(repo.path),
        "--now",
        str(int(T0.timestamp())),
        *args,
        env={**fake.env(), "DD_SLACK_WEBHOOK_URL": webhook or None},
        as_process=True,
    )


def texts(payload: dict) -> str:
    return json.dumps(payload["blocks"], ensure_ascii=False)


def assert_secret_nowhere(runs: list[Run], fake: FakeGitHub) -> None:
    for run in runs:
        shown = [line for line in (run.stdout + run.stderr).splitlines() if not line.startswith("::add-mask::")]
        for place, text in (
            ("stdout/stderr", "\n".join(shown)),
            ("summary", run.summary),
            ("outputs", run.outputs_text),
        ):
            assert SECRET not in text and "/services/T000/B000" not in text, place
    for request in fake.requests:
        assert SECRET not in json.dumps(request.body), request.path
    for number in range(1, 5):
        try:
            issue = fake.issue(REPO, number)
        except KeyError:
            break
        assert SECRET not in (issue.body or "")
        assert all(SECRET not in comment.body for comment in fake.comments(REPO, number))


def test_create_update_changed_set_and_close_send_one_message_each_time_it_matters(scene, tmp_path: Path) -> None:
    repo, fake, slack = scene
    webhook = slack.webhook_url(SECRET)
    change(repo, TENANT, "Teach the tenant agent plans (#42)", 2)

    created = monitor(repo, fake, tmp_path, webhook)
    assert created.returncode == 1, created.stderr
    assert len(slack.posts) == 1
    alert = slack.posts[0].body
    assert "tenant-agent" in texts(alert) and "Teach the tenant agent plans (#42)" in texts(alert)
    assert "https://github.com/acme/mono/issues/1|" in texts(alert)
    assert "Slack: alert sent" in created.stdout

    unchanged = monitor(repo, fake, tmp_path, webhook)
    assert unchanged.returncode == 1 and len(slack.posts) == 1  # nothing changed: no message
    assert "nothing changed since the last alert" in unchanged.stdout

    change(repo, BILLING, "Bill per seat (#43)", 2)
    grown = monitor(repo, fake, tmp_path, webhook)
    assert grown.returncode == 1 and len(slack.posts) == 2
    assert "billing-agent" in texts(slack.posts[1].body)
    assert len(fake.comments(REPO, 1)) == 1  # the changed-set comment

    for agent in AGENTS:
        deploy(fake, agent, repo.head(), T0 - timedelta(minutes=5))
    fake.now = T0
    closed = monitor(repo, fake, tmp_path, webhook)
    assert closed.returncode == 0, closed.stderr
    assert fake.issue(REPO, 1).state == "closed"
    assert len(slack.posts) == 3 and "in sync" in texts(slack.posts[2].body)
    assert_secret_nowhere([created, unchanged, grown, closed], fake)


def test_slack_failure_keeps_the_issue_and_the_next_run_sends_again(scene, tmp_path: Path) -> None:
    repo, fake, slack = scene
    webhook = slack.webhook_url(SECRET)
    change(repo, TENANT, "Tenant plans", 2)
    slack.answer(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR)

    failed = monitor(repo, fake, tmp_path, webhook)
    assert failed.returncode == 1  # overdue, as without Slack: the failure is only a warning
    assert fake.issue(REPO, 1).state == "open"
    assert "::warning title=dualdeploy%3A Slack::" in failed.stdout
    assert "Slack notification not sent" in failed.summary
    assert len(slack.posts) == 3  # one try and two retries

    recovered = monitor(repo, fake, tmp_path, webhook)
    assert recovered.returncode == 1 and len(slack.posts) == 4  # the alert that did not go out goes now
    assert "Slack: alert sent" in recovered.stdout
    assert_secret_nowhere([failed, recovered], fake)


def test_fail_on_notify_error_fails_the_run_after_the_issue_is_written(scene, tmp_path: Path) -> None:
    repo, fake, slack = scene
    change(repo, TENANT, "Tenant plans", 2)
    slack.answer(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR)
    run = monitor(repo, fake, tmp_path, slack.webhook_url(SECRET), "--no-fail-on-overdue", "--fail-on-notify-error")
    assert run.returncode == 1
    assert fake.issue(REPO, 1).state == "open"
    assert "Slack notification not sent" in run.stderr
    assert_secret_nowhere([run], fake)


def test_slack_disabled_sends_nothing(scene, tmp_path: Path) -> None:
    repo, fake, slack = scene
    change(repo, TENANT, "Tenant plans", 2)
    run = monitor(repo, fake, tmp_path, None)
    assert run.returncode == 1 and fake.issue(REPO, 1).state == "open"
    assert slack.posts == [] and "Slack" not in run.stdout

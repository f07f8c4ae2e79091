"""`dualdeploy announce`: one discussion (or pinned issue), kept in place, against the fake GitHub's GraphQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakegithub import FakeGitHub
from gitrepo import CONFIG_PATH, GitRepo, example_monorepo
from runner import Dualdeploy, Run
from slackreceiver import SERVER_ERROR, SlackReceiver, slack_receiver  # noqa: F401  (fixture)

REPO = "octo/mono"
MARKER = "<!-- dualdeploy:announcement -->"
TITLE = "Dual deployment: read this if you modify agent code"
SECRET = "SECRETannounce0123"


@pytest.fixture
def mono(tmp_path: Path) -> GitRepo:
    return example_monorepo(tmp_path / "mono")


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(REPO)
    fake_github.add_discussion_category(REPO, "General")
    fake_github.add_discussion_category(REPO, "Announcements")
    return fake_github


def announce(dualdeploy: Dualdeploy, fake: FakeGitHub, mono: GitRepo, *args: str, **env: str | None) -> Run:
    return dualdeploy("announce", "--repo", str(mono.path), *args, env={**fake.env(), **env})


def ours(fake: FakeGitHub) -> list:
    return [found for found in fake.discussions(REPO) if found.body.startswith(MARKER)]


def graphql_mutations(fake: FakeGitHub, since: int = 0) -> list[str]:
    return [
        name
        for request in fake.requests[since:]
        if request.path.endswith("/graphql")
        for name in ("createDiscussion", "updateDiscussion", "pinIssue")
        if name in json.dumps(request.body)
    ]


def test_created_once_then_unchanged_then_updated_in_place(
    dualdeploy: Dualdeploy, fake: FakeGitHub, mono: GitRepo
) -> None:
    fake.add_discussion(REPO, "General", title="Welcome", body="Say hello here.")

    first = announce(dualdeploy, fake, mono)
    assert first.returncode == 0, first.stderr
    [discussion] = ours(fake)
    assert discussion.title == TITLE
    url = f"https://github.com/{REPO}/discussions/{discussion.number}"
    assert f"announcement discussion created: {url}" in first.stdout
    assert "GitHub's API cannot pin a discussion" in first.stdout and url in first.stdout
    assert first.outputs["announcement-url"] == url
    categories = {category.id: category.name for category in fake.discussion_categories(REPO)}
    assert categories[discussion.category_id] == "Announcements"
    body = discussion.body
    assert "## Read this if you modified agent code" in body
    assert "`gh workflow run deploy-agents.yml --ref main -f 'agents=[\"tenant-agent\"]'`" in body
    assert f"(https://github.com/{REPO}/blob/main/docs/DEPLOYMENT_RUNBOOK.md)" in body
    assert f"(https://github.com/{REPO}/blob/main/docs/DEPLOYMENT_STATUS.md)" in body
    assert f"[`deploy-agents.yml`](https://github.com/{REPO}/actions/workflows/deploy-agents.yml)" in body
    assert "](../" not in body and "](docs/" not in body, "a discussion resolves no relative link"
    assert [found.body for found in fake.discussions(REPO) if not found.body.startswith(MARKER)] == ["Say hello here."]

    before = len(fake.requests)
    again = announce(dualdeploy, fake, mono)
    assert again.returncode == 0
    assert f"announcement discussion unchanged: {url}" in again.stdout
    assert len(ours(fake)) == 1, "no duplicate when run twice"
    assert graphql_mutations(fake, before) == [], "nothing new: nothing written"

    config = mono.path / CONFIG_PATH
    config.write_text(config.read_text().replace("tenant-agent", "tenant-bot"))
    changed = announce(dualdeploy, fake, mono)
    assert changed.returncode == 0, changed.stderr
    assert f"announcement discussion updated: {url}" in changed.stdout
    [updated] = ours(fake)
    assert updated.number == discussion.number
    assert "tenant-bot" in updated.body and "tenant-agent" not in updated.body


def test_a_missing_category_is_a_clear_exit_2_listing_the_categories(
    dualdeploy: Dualdeploy, fake: FakeGitHub, mono: GitRepo
) -> None:
    run = announce(dualdeploy, fake, mono, "--category", "News")
    assert run.returncode == 2
    assert "no discussion category 'News' in octo/mono; its categories are: 'General', 'Announcements'" in run.stderr
    assert "Traceback" not in run.stderr
    assert ours(fake) == []

    run = announce(dualdeploy, fake, mono, "--category", "general")
    assert run.returncode == 0, "a category is found whatever its letter case"


def test_a_repository_without_discussions_says_how_to_enable_them(
    dualdeploy: Dualdeploy, fake_github: FakeGitHub, mono: GitRepo
) -> None:
    fake_github.add_repo(REPO)
    run = announce(dualdeploy, fake_github, mono)
    assert run.returncode == 2
    assert "it has no discussion categories: enable Discussions" in run.stderr and "--pin-issue" in run.stderr


def test_a_new_category_moves_the_announcement(dualdeploy: Dualdeploy, fake: FakeGitHub, mono: GitRepo) -> None:
    announce(dualdeploy, fake, mono)
    moved = announce(dualdeploy, fake, mono, "--category", "General")
    assert "updated" in moved.stdout
    [discussion] = ours(fake)
    categories = {category.id: category.name for category in fake.discussion_categories(REPO)}
    assert categories[discussion.category_id] == "General"


def test_a_discussion_that_quotes_the_marker_later_is_not_ours(
    dualdeploy: Dualdeploy, fake: FakeGitHub, mono: GitRepo
) -> None:
    fake.add_discussion(REPO, "General", title="Question", body=f"Why does it say {MARKER}?")
    announce(dualdeploy, fake, mono)
    bodies = [found.body for found in fake.discussions(REPO)]
    assert bodies[0] == f"Why does it say {MARKER}?"
    assert len(ours(fake)) == 1


def test_without_a_token_it_says_what_it_needs(dualdeploy: Dualdeploy, fake: FakeGitHub, mono: GitRepo) -> None:
    run = announce(dualdeploy, fake, mono, GITHUB_TOKEN=None)
    assert run.returncode == 2 and "announce writes to GitHub: pass --github-token" in run.stderr


def test_a_token_without_discussions_write_names_the_permission(
    dualdeploy: Dualdeploy, fake: FakeGitHub, mono: GitRepo
) -> None:
    fake.add_token("read-discussions", permissions={"contents": "read", "discussions": "read"})
    run = announce(dualdeploy, fake, mono, GITHUB_TOKEN="read-discussions")
    assert run.returncode == 2
    assert "discussions: write" in run.stderr and "Traceback" not in run.stderr


# --- the pinned issue instead -------------------------------------------------------------------------


def test_pin_issue_keeps_one_pinned_issue(dualdeploy: Dualdeploy, fake: FakeGitHub, mono: GitRepo) -> None:
    fake.add_issue(REPO, title="Someone else's issue", body="not ours")
    first = announce(dualdeploy, fake, mono, "--pin-issue")
    assert first.returncode == 0, first.stderr
    issues = [fake.issue(REPO, number) for number in (1, 2)]
    [issue] = [found for found in issues if (found.body or "").startswith(MARKER)]
    assert issue.title == TITLE and issue.pinned
    assert f"announcement issue created: https://github.com/{REPO}/issues/{issue.number} (pinned)" in first.stdout
    assert ours(fake) == [], "an issue instead of a discussion"

    again = announce(dualdeploy, fake, mono, "--pin-issue")
    assert "announcement issue unchanged" in again.stdout
    assert [found.number for found in (fake.issue(REPO, n) for n in (1, 2)) if found.pinned] == [issue.number]
    assert not fake.issue(REPO, 1).pinned


# --- Slack ------------------------------------------------------------------------------------------


def test_slack_gets_the_link_once_per_change(
    dualdeploy: Dualdeploy,
    fake: FakeGitHub,
    mono: GitRepo,
    slack_receiver: SlackReceiver,  # noqa: F811
) -> None:
    config = mono.path / CONFIG_PATH
    config.write_text(config.read_text() + "notify:\n  slack:\n    webhook-secret: TEAM_SLACK_URL\n")
    webhook = {"TEAM_SLACK_URL": slack_receiver.webhook_url(SECRET)}

    first = announce(dualdeploy, fake, mono, **webhook)
    assert first.returncode == 0, first.stderr
    [discussion] = ours(fake)
    url = f"https://github.com/{REPO}/discussions/{discussion.number}"
    assert len(slack_receiver.posts) == 1
    posted = json.dumps(slack_receiver.posts[0].body)
    assert url in posted and "Dual deployment" in posted

    announce(dualdeploy, fake, mono, **webhook)
    assert len(slack_receiver.posts) == 1, "the same announcement is posted once"

    config.write_text(config.read_text().replace("billing-agent", "invoice-agent"))
    announce(dualdeploy, fake, mono, **webhook)
    assert len(slack_receiver.posts) == 2, "a changed announcement is posted again"
    assert "changed" in json.dumps(slack_receiver.posts[1].body)
    assert len(ours(fake)) == 1

    # Slack fails: the mark is taken back, so the next run posts it.
    config.write_text(config.read_text().replace("support-agent", "helpdesk-agent"))
    slack_receiver.answer(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR)  # one try and two retries
    failed = announce(dualdeploy, fake, mono, **webhook)
    assert failed.returncode == 0, "a Slack failure is a warning"
    assert "::warning title=dualdeploy%3A Slack::" in failed.stdout
    failures = len(slack_receiver.posts)
    assert failures == 2 + 3
    retried = announce(dualdeploy, fake, mono, **webhook)
    assert retried.returncode == 0
    assert len(slack_receiver.posts) == failures + 1
    assert "helpdesk-agent" in ours(fake)[0].body
    for run in (first, failed, retried):
        shown = [line for line in (run.stdout + run.stderr).splitlines() if not line.startswith("::add-mask::")]
        assert SECRET not in "\n".join(shown)
    assert SECRET not in ours(fake)[0].body

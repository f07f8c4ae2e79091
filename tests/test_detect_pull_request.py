"""The detect job on a pull request, against the fake GitHub: sticky comment, labels, rights."""

import json
from pathlib import Path

import pytest

from fakegithub import FakeGitHub
from gitrepo import GitRepo, example_feature_branch
from runner import Dualdeploy, Run
from slackreceiver import SlackReceiver, slack_receiver  # noqa: F401  (the fixture)

REPO = "octo/mono"
MARKER = "<!-- dualdeploy:detect-agent-impact -->"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = example_feature_branch(tmp_path / "mono")
    repo.commit("agent change", {"server/src/agent-v2/deploy/tenant/index.ts": "2"})
    return repo


@pytest.fixture
def fake(fake_github: FakeGitHub, repo: GitRepo) -> FakeGitHub:
    fake_github.add_repo(REPO)
    fake_github.add_pull(REPO, 7, head_sha=repo.head(), base_sha=repo.git("rev-parse", "main"))
    return fake_github


def run_detect(
    fake: FakeGitHub,
    repo: GitRepo,
    tmp_path: Path,
    *,
    token: str = "test-token",
    head_repo: str = REPO,
    closed: dict | None = None,
    **env: str,
) -> tuple[Run, dict[str, str], str]:
    """`dualdeploy detect` as its own process, on pull request #7 from `head_repo` (its `closed`
    event when `closed` gives the pull request's merge fields)."""
    event = {
        "action": "closed" if closed is not None else "synchronize",
        "pull_request": {
            "number": 7,
            "base": {"sha": repo.git("rev-parse", "main"), "ref": "main", "repo": {"full_name": REPO}},
            "head": {"sha": repo.head(), "ref": "feature", "repo": {"full_name": head_repo}},
            **(closed or {}),
        },
        "repository": {"full_name": REPO},
    }
    (tmp_path / "event.json").write_text(json.dumps(event))
    result = Dualdeploy(tmp_path, repository=REPO)(
        "detect",
        "--repo",
        str(repo.path),
        env={
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
            **fake.env(token),
            **env,
        },
        as_process=True,
    )
    return result, result.outputs, result.summary


def ours(fake: FakeGitHub) -> list:
    return [comment for comment in fake.comments(REPO, 7) if comment.body.startswith(MARKER)]


def label_names(fake: FakeGitHub) -> set[str]:
    return set(fake.issue(REPO, 7).labels)


def test_first_run_comments_and_labels(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    result, outputs, summary = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert "Manual deploy needed after merge" in comment.body and "`tenant-agent`" in comment.body
    assert "https://github.com/octo/mono/actions/workflows/deploy-agents.yml" in comment.body
    assert outputs["comment-url"].endswith(f"/pull/7#issuecomment-{comment.id}")
    assert outputs["requires-manual-deploy"] == "true"
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}
    colours = {label.name: label.color for label in fake.labels(REPO)}
    assert colours == {"agent-changes": "8250df", "requires-manual-deploy": "f0883e"}
    assert "Manual deploy needed after merge" in summary


def test_rerun_keeps_one_comment_with_at_most_six_requests(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    run_detect(fake, repo, tmp_path)
    fake.reset_requests()
    result, outputs, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(ours(fake)) == 1 and len(fake.comments(REPO, 7)) == 1
    assert len(fake.requests) <= 6, [(r.method, r.path) for r in fake.requests]
    assert not [r for r in fake.requests if r.method != "GET"]  # nothing changed, nothing written
    assert f"GitHub API requests: {len(fake.requests)}" in result.stderr
    assert len(fake.requests) == 2  # the comments and the labels: the README says so


def test_later_push_without_agent_changes_edits_the_same_comment(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    run_detect(fake, repo, tmp_path)
    [first] = ours(fake)
    repo.commit("revert agent change", {"server/src/agent-v2/deploy/tenant/index.ts": "1", "apps/web/a.tsx": "2"})
    result, outputs, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert comment.id == first.id and "No manual deploy needed" in comment.body
    assert label_names(fake) == set()
    assert outputs["requires-manual-deploy"] == "false"


def test_existing_label_with_another_colour_is_used_as_it_is(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    fake.add_label(REPO, "agent-changes", "000000", "chosen by the team")
    result, _, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}
    existing = next(label for label in fake.labels(REPO) if label.name == "agent-changes")
    assert (existing.color, existing.description) == ("000000", "chosen by the team")


def test_labels_a_person_added_are_left_alone(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    fake.add_label(REPO, "bug")
    run_detect(fake, repo, tmp_path)
    fake.add_issue_comment(REPO, 7, "adding bug")
    from github import Github  # noqa: F401  (the fake answers PyGithub; a person labels through it)

    fake.client().get_repo(REPO).get_issue(7).add_to_labels("bug")
    repo.commit("no agents any more", {"server/src/agent-v2/deploy/tenant/index.ts": "1"})
    run_detect(fake, repo, tmp_path)
    assert label_names(fake) == {"bug"}


def test_a_human_comment_quoting_the_marker_is_not_ours(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    human = fake.add_issue_comment(REPO, 7, f"Why does the bot write this?\n```\n{MARKER}\n```")
    run_detect(fake, repo, tmp_path)
    comments = fake.comments(REPO, 7)
    assert len(comments) == 2
    assert comments[0].id == human.id and comments[0].body == human.body


def test_a_persons_comment_that_starts_with_the_marker_is_never_edited_or_deleted(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    """Someone pasted the comment's source to discuss it: it starts with the marker, but it is theirs."""
    run_detect(fake, repo, tmp_path)
    [first] = ours(fake)
    pasted = f"{MARKER}\nCopied from the bot: is tenant-agent really manual?"
    person = fake.add_issue_comment(REPO, 7, pasted, user="hubot")
    repo.commit("another agent change", {"server/src/agent-v2/deploy/tenant/index.ts": "3"})
    result, outputs, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    comments = {comment.id: comment for comment in fake.comments(REPO, 7)}
    assert list(comments) == [first.id, person.id]
    assert comments[person.id].body == pasted and comments[person.id].user == "hubot"
    assert outputs["comment-url"].endswith(f"#issuecomment-{first.id}")


def test_duplicates_of_the_sticky_comment_are_deleted(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    # Two runs that raced each other once left two comments of ours; the next run keeps the first.
    run_detect(fake, repo, tmp_path)
    [first] = ours(fake)
    human = fake.add_issue_comment(REPO, 7, "Deploying after lunch")
    fake.add_issue_comment(REPO, 7, first.body, user=first.user)
    fake.add_issue_comment(REPO, 7, first.body.replace("tenant-agent", "an older list"), user=first.user)
    assert len(ours(fake)) == 3
    result, outputs, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert [comment.id for comment in ours(fake)] == [first.id]
    assert [comment.id for comment in fake.comments(REPO, 7)] == [first.id, human.id]
    assert outputs["comment-url"].endswith(f"#issuecomment-{first.id}")


def test_slack_notice_once_per_change_of_the_comment_not_per_rerun(
    fake: FakeGitHub,
    repo: GitRepo,
    tmp_path: Path,
    slack_receiver: SlackReceiver,  # noqa: F811
) -> None:
    webhook = {"DD_SLACK_WEBHOOK_URL": slack_receiver.webhook_url()}
    result, _, _ = run_detect(fake, repo, tmp_path, **webhook)
    assert result.returncode == 0, result.stderr
    assert len(slack_receiver.posts) == 1
    assert "tenant-agent" in json.dumps(slack_receiver.posts[0].body)
    for _ in range(2):  # reruns of the same commit: the comment is unchanged, nobody is pinged again
        result, _, _ = run_detect(fake, repo, tmp_path, **webhook)
        assert result.returncode == 0, result.stderr
    assert len(slack_receiver.posts) == 1
    repo.commit("billing change", {"server/src/agent-v2/deploy/billing/index.ts": "1"})
    result, _, _ = run_detect(fake, repo, tmp_path, **webhook)
    assert result.returncode == 0, result.stderr
    assert len(slack_receiver.posts) == 2  # a push that changes what needs a deploy is news
    assert "billing-agent" in json.dumps(slack_receiver.posts[1].body)


def test_read_only_token_writes_the_summary_and_a_warning(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    fake.add_token("read-only", write=False)
    result, outputs, summary = run_detect(fake, repo, tmp_path, token="read-only")
    assert result.returncode == 0, result.stderr
    assert fake.comments(REPO, 7) == []
    assert "::warning title=dualdeploy%3A read-only token::" in result.stdout
    assert "pull-requests: write" in result.stdout
    assert "Manual deploy needed after merge" in summary and "[!WARNING]" in summary
    assert outputs["requires-manual-deploy"] == "true" and outputs["comment-url"] == ""


def test_fork_pull_request_makes_no_write_attempt(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    result, _, summary = run_detect(fake, repo, tmp_path, head_repo="someone/mono")
    assert result.returncode == 0, result.stderr
    assert fake.requests == []
    assert "fork someone/mono" in result.stdout and "Manual deploy needed" in summary


def test_502_then_success(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    fake.fail_next("POST", r"/issues/7/comments$", 502)
    result, _, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(ours(fake)) == 1
    # the run's own count includes the failed attempt, as the server saw it
    assert f"GitHub API requests: {len(fake.requests)}" in result.stderr


def test_secondary_rate_limit_then_success(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    fake.secondary_rate_limit("GET", r"/issues/7/comments", retry_after=1)
    result, _, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(ours(fake)) == 1
    assert f"GitHub API requests: {len(fake.requests)}" in result.stderr


def test_persistent_failure_is_one_line_naming_the_call(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    fake.fail_next("GET", r"/issues/7/comments", 500, times=20)
    result, _, _ = run_detect(fake, repo, tmp_path, DD_GITHUB_BUDGET_SECONDS="3")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "could not list the comments of #7: HTTP 500" in result.stderr


def test_finds_its_comment_among_hundreds(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    for index in range(120):
        fake.add_issue_comment(REPO, 7, f"chatter {index}")
    run_detect(fake, repo, tmp_path)
    for index in range(120):
        fake.add_issue_comment(REPO, 7, f"more chatter {index}")
    result, _, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(ours(fake)) == 1 and len(fake.comments(REPO, 7)) == 241
    pages = [r for r in fake.requests if r.method == "GET" and r.path.endswith("/issues/7/comments")]
    assert len(pages) >= 5  # two runs, each walking every page (100 per page)


# --- labels: the suite removes only what it added ------------------------------------------------


def person_adds_label(fake: FakeGitHub, name: str) -> None:
    fake.add_token("ghp_alice_labels", login="alice")
    fake.client("ghp_alice_labels").get_repo(REPO).get_issue(7).add_to_labels(name)


def test_a_label_the_suite_added_goes_once_it_is_no_longer_true(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    run_detect(fake, repo, tmp_path)
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}
    [comment] = ours(fake)
    assert "labels_added" in comment.body and "added by hand" not in comment.body
    repo.commit("no agents any more", {"server/src/agent-v2/deploy/tenant/index.ts": "1"})
    result, _, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert label_names(fake) == set()
    [comment] = ours(fake)
    assert "added by hand" not in comment.body


def test_a_label_a_person_added_stays_and_the_comment_says_so_once(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("no agents any more", {"server/src/agent-v2/deploy/tenant/index.ts": "1"})
    run_detect(fake, repo, tmp_path)
    person_adds_label(fake, "requires-manual-deploy")
    for _ in range(2):
        result, outputs, _ = run_detect(fake, repo, tmp_path)
        assert result.returncode == 0, result.stderr
        assert outputs["requires-manual-deploy"] == "false"
        assert label_names(fake) == {"requires-manual-deploy"}
        [comment] = ours(fake)
        assert len(fake.comments(REPO, 7)) == 1
        assert comment.body.count("`requires-manual-deploy` was added by hand; the suite leaves it.") == 1


def test_a_label_a_person_added_before_the_suite_wanted_it_stays_after(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    person_adds_label(fake, "requires-manual-deploy")
    run_detect(fake, repo, tmp_path)  # the suite adds only agent-changes: the other was there already
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}
    repo.commit("no agents any more", {"server/src/agent-v2/deploy/tenant/index.ts": "1"})
    run_detect(fake, repo, tmp_path)
    assert label_names(fake) == {"requires-manual-deploy"}
    [comment] = ours(fake)
    assert "`requires-manual-deploy` was added by hand; the suite leaves it." in comment.body
    assert "`agent-changes` was added by hand" not in comment.body


def test_without_the_comment_the_suite_never_removes_a_label(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    run_detect(fake, repo, tmp_path, DD_COMMENT="false")
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}
    repo.commit("no agents any more", {"server/src/agent-v2/deploy/tenant/index.ts": "1"})
    result, _, _ = run_detect(fake, repo, tmp_path, DD_COMMENT="false")
    assert result.returncode == 0, result.stderr
    assert fake.comments(REPO, 7) == []
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}


def merged_fields(repo: GitRepo, merged_at: str = "2024-01-15T09:30:00Z") -> dict:
    """The pull request's fields in its `closed` event when it was merged (as a merge commit on main)."""
    head, base = repo.head(), repo.git("rev-parse", "main")
    repo.checkout("main")
    repo.git("merge", "--no-ff", "-q", "-m", "Merge pull request #7", head)
    merge = repo.head()
    repo.checkout("feature")
    return {
        "merged": True,
        "merge_commit_sha": merge,
        "merged_at": merged_at,
        "state": "closed",
        "base": {"sha": base, "ref": "main", "repo": {"full_name": REPO}},  # the base before the merge
    }


def test_merge_turns_the_comment_into_merged_waiting_and_keeps_the_label(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    run_detect(fake, repo, tmp_path)
    [opened] = ours(fake)
    human = fake.add_issue_comment(REPO, 7, "LGTM, ship it")
    fields = merged_fields(repo)
    result, _, _ = run_detect(fake, repo, tmp_path, closed=fields)
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert comment.id == opened.id
    body = comment.body
    assert body.startswith(MARKER)
    assert "Merged, waiting for a deploy of `tenant-agent`" in body
    assert "since 2024-01-15 09:30 UTC" in body
    assert "https://github.com/octo/mono/actions/workflows/deploy-agents.yml" in body
    assert "`@acme/agents-team`" in body  # the owners, named without pinging them
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}
    assert [c.body for c in fake.comments(REPO, 7) if c.id == human.id] == ["LGTM, ship it"]
    from dualdeploy.markers import read_hidden_state

    state = read_hidden_state(body)
    assert state["manual"] == ["tenant-agent"] and state["merge_commit"] == fields["merge_commit_sha"]

    fake.reset_requests()
    run_detect(fake, repo, tmp_path, closed=fields)  # a rerun of the closed event changes nothing
    assert [r for r in fake.requests if r.method != "GET"] == []
    assert [c.body for c in ours(fake)] == [body]


@pytest.mark.parametrize("missing", ["merge_commit_sha", "merged_at"])
def test_a_merge_whose_event_lacks_its_commit_or_time_is_an_error_not_closed(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path, missing: str
) -> None:
    """`merged: true` without the merge commit (or time) is not 'closed without merging': the label stays."""
    run_detect(fake, repo, tmp_path)
    [before] = ours(fake)
    fields = merged_fields(repo)
    fields[missing] = None
    result, _, _ = run_detect(fake, repo, tmp_path, closed=fields)
    assert result.returncode == 2, result.stderr
    assert f"#7 is merged but its closed event has no {missing}" in result.stderr
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}
    assert [c.body for c in ours(fake)] == [before.body]


def test_closed_without_merging_needs_no_deploy_and_loses_the_label(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    fake.add_label(REPO, "bug")
    run_detect(fake, repo, tmp_path)
    fake.client().get_repo(REPO).get_issue(7).add_to_labels("bug")
    result, _, _ = run_detect(fake, repo, tmp_path, closed={"merged": False, "merge_commit_sha": None})
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert "Closed without merging: no deploy needed" in comment.body
    assert label_names(fake) == {"agent-changes", "bug"}


def test_labels_of_a_comment_from_before_the_hidden_state_are_the_suites(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    fake.add_issue_comment(REPO, 7, f"{MARKER}\n## 🚦 Manual deploy needed after merge\n")  # an older version's
    fake.client().get_repo(REPO).get_issue(7).add_to_labels("agent-changes", "requires-manual-deploy")
    repo.commit("no agents any more", {"server/src/agent-v2/deploy/tenant/index.ts": "1"})
    result, _, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert label_names(fake) == set()
    [comment] = ours(fake)
    assert "added by hand" not in comment.body


def test_closed_event_without_the_branch_in_the_clone_uses_the_impact_the_comment_recorded(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    run_detect(fake, repo, tmp_path)
    fields = merged_fields(repo)
    fields["head"] = {"sha": "f" * 40, "ref": "feature", "repo": {"full_name": REPO}}  # squashed, branch gone
    result, _, _ = run_detect(fake, repo, tmp_path, closed=fields)
    assert result.returncode == 0, result.stderr
    assert "the impact recorded in the pull request's comment is used" in result.stderr
    [comment] = ours(fake)
    assert "Merged, waiting for a deploy of `tenant-agent`" in comment.body
    assert label_names(fake) == {"agent-changes", "requires-manual-deploy"}


def test_closed_event_without_the_commits_or_a_recorded_impact_fails(
    fake: FakeGitHub, repo: GitRepo, tmp_path: Path
) -> None:
    fields = merged_fields(repo)
    fields["head"] = {"sha": "f" * 40, "ref": "feature", "repo": {"full_name": REPO}}
    result, _, _ = run_detect(fake, repo, tmp_path, closed=fields)
    assert result.returncode == 2, result.stderr
    assert "records no impact" in result.stderr and "fetch-depth: 0" in result.stderr
    assert ours(fake) == []


def test_the_comment_tells_how_to_check_this_very_pull_request(fake: FakeGitHub, repo: GitRepo, tmp_path: Path) -> None:
    """The comment knows its pull request: `dualdeploy explain --pr 7` runs as printed, where
    `--pr <number>` would be a shell redirection from a file named "number"."""
    result, _, _ = run_detect(fake, repo, tmp_path)
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert "`dualdeploy explain --pr 7`" in comment.body and "<number>" not in comment.body

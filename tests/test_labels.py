"""`dualdeploy labels` against the fake GitHub: create, correct, leave other labels alone, idempotent."""

from __future__ import annotations

import pytest

from dualdeploy import cli
from dualdeploy.github import SUITE_LABELS
from fakegithub import FakeGitHub
from runner import clean_environment

REPO = "acme/mono"


@pytest.fixture
def fake(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    clean_environment(monkeypatch)
    monkeypatch.setenv("GITHUB_API_URL", fake_github.url)
    fake_github.add_repo(REPO)
    return fake_github


def labels(*args: str) -> int:
    return cli.main(["labels", "--github-token", "test-token", "--repository", REPO, *args])


def by_name(fake: FakeGitHub) -> dict[str, tuple[str, str | None]]:
    return {label.name: (label.color, label.description) for label in fake.labels(REPO)}


def test_creates_every_suite_label_with_its_colour(fake: FakeGitHub, capsys) -> None:
    assert labels() == 0
    assert by_name(fake) == {label.name: (label.color, label.description) for label in SUITE_LABELS.values()}
    assert by_name(fake)["agent-changes"][0] == "8250df"  # purple
    assert by_name(fake)["requires-manual-deploy"][0] == "f0883e"  # orange
    out = capsys.readouterr().out
    assert "created   agent-changes (#8250df: " in out


def test_fixes_colour_and_description_and_leaves_other_labels_alone(fake: FakeGitHub, capsys) -> None:
    fake.add_label(REPO, "Agent-Changes", "ffffff", "someone's own words")
    fake.add_label(REPO, "alert", SUITE_LABELS["alert"].color.upper(), SUITE_LABELS["alert"].description)
    fake.add_label(REPO, "bug", "d73a4a", "Something isn't working")
    assert labels() == 0
    after = by_name(fake)
    assert after["Agent-Changes"] == (SUITE_LABELS["agent-changes"].color, SUITE_LABELS["agent-changes"].description)
    assert "agent-changes" not in after, "the repository's spelling of the name is kept"
    assert after["bug"] == ("d73a4a", "Something isn't working")
    out = capsys.readouterr().out
    assert "updated   Agent-Changes" in out and "unchanged alert" in out
    edits = [r for r in fake.requests if r.method == "PATCH"]
    assert [r.path for r in edits] == [f"/repos/{REPO}/labels/Agent-Changes"]


def test_second_run_only_reads(fake: FakeGitHub, capsys) -> None:
    fake.add_label(REPO, "deployment", "000000")
    assert labels() == 0
    first = by_name(fake)
    fake.reset_requests()
    assert labels() == 0
    assert by_name(fake) == first
    assert fake.requests and {request.method for request in fake.requests} == {"GET"}
    assert capsys.readouterr().out.count("unchanged") == len(SUITE_LABELS)


def test_without_rights_says_which_permission(fake: FakeGitHub, capsys) -> None:
    fake.add_token("read-only", write=False)
    status = cli.main(["labels", "--github-token", "read-only", "--repository", REPO])
    assert status == 2
    err = capsys.readouterr().err
    assert "could not create the label 'agent-changes': HTTP 403" in err and "issues: write" in err


def test_needs_a_repository(fake: FakeGitHub, capsys) -> None:
    assert cli.main(["labels", "--github-token", "test-token"]) == 2
    assert "pass --repository owner/name" in capsys.readouterr().err


def test_without_a_token_it_is_a_dry_run_listing_what_it_would_create(fake: FakeGitHub, capsys) -> None:
    assert cli.main(["labels", "--repository", REPO]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"dry run (no token): would create or update these labels in {REPO}:")
    for label in SUITE_LABELS.values():
        assert f"  {label.name} (#{label.color}: {label.description})" in out
    assert fake.requests == [] and fake.labels(REPO) == []
    assert cli.main(["labels"]) == 0  # no repository either: still only a list

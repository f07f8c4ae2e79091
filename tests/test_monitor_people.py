# ruff: noqa: F811  (the fixtures `mono`, `fake` and `monitor` come from test_monitor)
"""The monitor never fights a person: what people see on the alert issues after they changed them.

Found by the marker alone (a person may retitle it or take its labels off), its labels put back
while the alert is open, the other mode's issues closed with a link when `issue-mode` changes, and
owners assigned as the config changes, unassigning only whom the suite itself assigned.
"""

from __future__ import annotations

from fakegithub import FakeGitHub
from gitrepo import GitRepo
from test_monitor import BILLING, CONFIG, REPO, TENANT, at, change, deploy, fake, monitor, mono  # noqa: F401

PERSON = "ghp_person_edits_alerts"


def person(fake: FakeGitHub):
    """The repository as a person sees it through the API (their own token)."""
    fake.add_token(PERSON, login="dana")
    return fake.client(PERSON).get_repo(REPO)


def open_issues(fake: FakeGitHub) -> list:
    return [issue for issue in fake.repo(REPO).issues.values() if issue.state == "open" and not issue.pull]


def set_owners(repo: GitRepo, owners: str, moment) -> None:
    config = (repo.path / CONFIG).read_text()
    start = config.index("  tenant-agent:")
    block_end = config.index("  support-agent:")
    block = config[start:block_end]
    lines = [line for line in block.splitlines() if not line.strip().startswith("owners:")]
    new_block = "\n".join([*lines, f"    owners: [{owners}]"]) + "\n"
    repo.commit(
        "Tenant agent owners", {CONFIG: config[:start] + new_block + config[block_end:]}, date=moment.isoformat()
    )


def test_an_alert_issue_a_person_retitled_and_unlabelled_is_still_the_one_and_gets_its_labels_back(
    mono: GitRepo, fake: FakeGitHub, monitor
) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    assert monitor(now=at()).returncode == 1
    [issue] = open_issues(fake)
    theirs = person(fake).get_issue(issue.number)
    theirs.edit(title="tenant deploy — dana is on it")
    theirs.remove_from_labels("alert")
    theirs.remove_from_labels("deployment")
    theirs.add_to_labels("triaged")

    run = monitor(now=at(minutes=30))
    assert run.returncode == 1
    [same] = open_issues(fake)
    assert same.number == issue.number
    assert set(same.labels) == {"deployment", "alert", "triaged"}
    assert "put the labels deployment, alert back on alert issue #1" in run.stdout

    # Once everything is deployed it closes that same issue, whatever it is called now.
    deploy(fake, "tenant-agent", mono.head(), at(minutes=40))
    person(fake).get_issue(issue.number).remove_from_labels("alert")
    assert monitor(now=at(minutes=45)).returncode == 0
    closed = fake.issue(REPO, issue.number)
    assert closed.state == "closed" and open_issues(fake) == []


def test_a_person_closing_the_unlabelled_issue_stays_final(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    monitor(now=at())
    [issue] = open_issues(fake)
    theirs = person(fake).get_issue(issue.number)
    theirs.remove_from_labels("alert")
    theirs.edit(state="closed")
    assert monitor(now=at(minutes=30)).returncode == 1
    assert fake.issue(REPO, issue.number).state == "closed"
    assert fake.issue(REPO, issue.number).labels == ["deployment"]
    [new] = open_issues(fake)
    assert new.number != issue.number and f"This follows #{issue.number}" in new.body


def test_changing_issue_mode_closes_the_other_modes_issues_with_a_link(
    mono: GitRepo, fake: FakeGitHub, monitor
) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    change(mono, BILLING, "Billing plans", at(hours=-2))
    monitor(now=at())
    [single] = open_issues(fake)

    run = monitor("--issue-mode", "per-component", now=at(minutes=10))
    assert run.returncode == 1
    per_component = sorted(issue.number for issue in open_issues(fake))
    assert len(per_component) == 2 and single.number not in per_component
    old = fake.issue(REPO, single.number)
    assert (old.state, old.state_reason) == ("closed", "not_planned")
    [comment] = fake.comments(REPO, single.number)
    assert "one alert issue per component (`issue-mode: per-component`)" in comment.body
    assert f"The alert continues in #{per_component[0]}, #{per_component[1]}." in comment.body

    # Again in the same mode: nothing more happens to the closed one.
    monitor("--issue-mode", "per-component", now=at(minutes=20))
    assert len(fake.comments(REPO, single.number)) == 1

    # And back: the per-component issues close, each linking the one new single issue.
    monitor("--issue-mode", "single", now=at(minutes=30))
    [back] = open_issues(fake)
    assert back.number not in (single.number, *per_component)
    assert back.body.startswith("<!-- dualdeploy:monitor-alert -->")
    assert "This follows" not in back.body
    for number in per_component:
        assert fake.issue(REPO, number).state == "closed"
        last = fake.comments(REPO, number)[-1]
        assert f"The alert continues in #{back.number}." in last.body


def test_issue_mode_change_with_nothing_overdue_closes_the_old_issue(mono: GitRepo, fake: FakeGitHub, monitor) -> None:
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    monitor("--issue-mode", "per-component", now=at())
    [tenant] = open_issues(fake)
    deploy(fake, "tenant-agent", mono.head(), at(minutes=5))
    # Deployed and the mode switched in the same run: the old issue is closed once, saying so.
    assert monitor("--issue-mode", "single", now=at(minutes=10)).returncode == 0
    assert fake.issue(REPO, tenant.number).state == "closed"
    [comment] = fake.comments(REPO, tenant.number)
    assert "Nothing is overdue now" in comment.body
    assert open_issues(fake) == []


def test_owners_follow_the_config_and_only_the_suites_assignees_are_removed(
    mono: GitRepo, fake: FakeGitHub, monitor
) -> None:
    set_owners(mono, '"@alice", "@acme/agents-team"', at(hours=-3))
    change(mono, TENANT, "Tenant plans", at(hours=-2))
    monitor(now=at())
    [issue] = open_issues(fake)
    assert issue.assignees == ["alice"]
    person(fake).get_issue(issue.number).add_to_assignees("bob")  # a person's choice

    # Carol joins the owners, Alice leaves: Carol is assigned, Alice (the suite's) unassigned, Bob stays.
    set_owners(mono, '"@carol"', at(minutes=5))
    run = monitor(now=at(minutes=10))
    assert run.returncode == 1
    assert sorted(fake.issue(REPO, issue.number).assignees) == ["bob", "carol"]
    assert "assigned carol to alert issue #1" in run.stdout
    assert "unassigned alice from alert issue #1" in run.stdout

    # Bob becomes an owner and then leaves again: a person assigned him, so he stays.
    set_owners(mono, '"@carol", "@bob"', at(minutes=15))
    monitor(now=at(minutes=20))
    set_owners(mono, '"@carol"', at(minutes=25))
    monitor(now=at(minutes=30))
    assert sorted(fake.issue(REPO, issue.number).assignees) == ["bob", "carol"]

    # A person unassigns Carol: the suite does not assign her again while she stays an owner.
    person(fake).get_issue(issue.number).remove_from_assignees("carol")
    fake.reset_requests()
    monitor(now=at(minutes=40))
    assert fake.issue(REPO, issue.number).assignees == ["bob"]
    assert not [r for r in fake.requests if r.path.endswith("/assignees")]

"""The alert about overdue components: what its issue shows of each one, and its title."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dualdeploy.config import Component, Config
from dualdeploy.drift import Drift

PULL_NUMBER = re.compile(r"\(#(\d+)\)\s*$|^Merge pull request #(\d+)")


@dataclass(frozen=True)
class AlertItem:
    name: str
    sha: str | None
    deployed_at: int | None
    commit_url: str | None
    repo_url: str | None
    deploy_url: str | None
    workflow: str | None
    owners: object
    waited: str
    pending: tuple
    pr_numbers: dict = field(default_factory=dict)
    pr_links: dict = field(default_factory=dict)
    deploy_command: str | None = None  # the `gh workflow run` line, with the config's deploy-inputs


def owners_markdown(component: Component):
    """Owners as real mentions: they come from the repository's own config, validated as @handles."""
    from dualdeploy.render import SafeMarkdown

    return SafeMarkdown(" ".join(component.owners)) if component.owners else ""


def alert_item(config: Config, drift: Drift, *, waited: str, repo_url: str | None, branch: str = "main") -> AlertItem:
    """What the alert issue (and the stale-agent issue template) shows of one overdue component."""
    component = config.component(drift.component)
    numbers, links = {}, {}
    for pending in drift.pending:
        match = PULL_NUMBER.search(pending.commit.subject)
        if match:
            numbers[pending.commit.sha] = match.group(1) or match.group(2)
            if repo_url:
                links[pending.commit.sha] = f"{repo_url}/pull/{numbers[pending.commit.sha]}"
    sha = drift.deployment.sha
    return AlertItem(
        name=component.name,
        sha=sha,
        deployed_at=drift.deployment.deployed_at,
        commit_url=f"{repo_url}/commit/{sha}" if repo_url and sha else None,
        repo_url=repo_url,
        deploy_url=component.deploy_url(repo_url),
        workflow=component.deploy_workflow,
        owners=owners_markdown(component),
        waited=waited,
        pending=drift.pending,
        pr_numbers=numbers,
        pr_links=links,
        deploy_command=component.deploy_command(branch),
    )


@dataclass(frozen=True)
class BlindItem:
    """A component whose deployed commit cannot be established: why, and what makes it known."""

    name: str
    source: str
    reason: str
    fix: str
    owners: object


def blind_item(config: Config, drift: Drift) -> BlindItem:
    """What the alert issue's "cannot tell what runs" section shows of one unknown component."""
    component = config.component(drift.component)
    return BlindItem(
        name=component.name,
        source=drift.deployment.source,
        reason=drift.reason,
        fix=drift.fix,
        owners=owners_markdown(component),
    )


def issue_title(overdue: list[Drift], unknown: list[Drift] = ()) -> str:
    """The alert issue's title follows the overdue (and unknown) set; the issue is found by its marker."""
    names = ", ".join(drift.component for drift in overdue)
    blind = ", ".join(drift.component for drift in unknown)
    if not overdue:
        return "Cannot tell what runs: " + blind
    title = ("Agents not deployed: " if len(overdue) > 1 else "Agent not deployed: ") + names
    return f"{title}; cannot tell what runs: {blind}" if unknown else title


# The monitor's issues are found by the marker their body starts with, whatever their labels or
# title now are; the marker also says which issue mode opened them.
ALERT_MARKER = "<!-- dualdeploy:monitor-alert -->"
COMPONENT_MARKER = "<!-- dualdeploy:monitor-alert component={component} -->"
ALERT_LABELS = ("deployment", "alert")
ISSUE_MODES = ("single", "per-component")


def alert_marker(component: str | None) -> str:
    """The marker of the single alert issue (None), or of one component's issue."""
    return ALERT_MARKER if component is None else COMPONENT_MARKER.format(component=component)


def issue_mode_of(body: str | None) -> str | None:
    """The issue mode whose marker starts `body`, or None for an issue the monitor does not own."""
    text = (body or "").lstrip("\ufeff")
    if text.startswith(ALERT_MARKER):
        return "single"
    if text.startswith(COMPONENT_MARKER.split("{", 1)[0]) and text.split("\n", 1)[0].endswith(" -->"):
        return "per-component"
    return None


def missing_labels(present: set[str]) -> list[str]:
    """The alert labels a person took off an open alert issue (compared without case)."""
    have = {name.lower() for name in present}
    return [name for name in ALERT_LABELS if name not in have]


@dataclass(frozen=True)
class AssigneePlan:
    """Who to assign and unassign on an open alert issue, and whom the suite then counts as its own."""

    to_assign: tuple[str, ...]
    to_unassign: tuple[str, ...]
    assigned: tuple[str, ...]  # kept in the issue's hidden state as `assigned`


def plan_assignees(desired: list[str], current: set[str], assigned_before: set[str]) -> AssigneePlan:
    """Assign wanted owners the suite has not assigned yet; unassign only people the suite assigned
    who are no longer wanted. A person's assignee stays; an owner a person unassigned is not
    assigned again (the suite remembers it assigned them) until the config drops and re-adds them."""
    current_lower = {login.lower() for login in current}
    before = {login.lower() for login in assigned_before}
    wanted = {login.lower() for login in desired}
    to_assign = tuple(login for login in desired if login.lower() not in current_lower | before)
    to_unassign = tuple(sorted(login for login in current if login.lower() in before and login.lower() not in wanted))
    assigned = tuple(login for login in desired if login.lower() in before or login in to_assign)
    return AssigneePlan(to_assign=to_assign, to_unassign=to_unassign, assigned=assigned)


def read_assigned(state: dict) -> set[str]:
    value = state.get("assigned")
    return {login for login in value if isinstance(login, str)} if isinstance(value, list) else set()

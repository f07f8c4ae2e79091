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

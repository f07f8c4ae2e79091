"""The dashboard: one row per component (deployed commit, when, pending commits, status, deploy
link), as Markdown for job summaries and the status page, and as a text table for a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dualdeploy.config import Config
from dualdeploy.drift import DEPLOYING, DIVERGED, IN_SYNC, STALE, UNKNOWN, Deployment, Drift, PendingCommit

ICONS = {IN_SYNC: "✅", STALE: "🟠", DIVERGED: "🔀", UNKNOWN: "❔", DEPLOYING: "🔄"}
OVERDUE_ICON = "🔴"
RUN_RESULTS = {
    "success": "deployed by this run",
    "failure": "deploy failed in this run",
    "cancelled": "deploy cancelled in this run",
    "skipped": "not deployed by this run",
}
PENDING_BUDGETS = (20, 5, 1, 0)
LIST_ALL_UP_TO = 300  # pending commits (over all rows) that the first, most detailed rendering may hold


def budgets_for(rows: list[DashboardRow]) -> tuple[int, ...]:
    """Skip the detailed rendering when it cannot fit anyway: each try renders the whole page."""
    listed = sum(min(row.pending_count, PENDING_BUDGETS[0]) for row in rows)
    return PENDING_BUDGETS if listed <= LIST_ALL_UP_TO else PENDING_BUDGETS[1:]


@dataclass(frozen=True)
class DashboardRow:
    name: str
    deploy: str
    sha: str | None
    when: str
    run_url: str | None
    commit_url: str | None
    repo_url: str | None
    pending: tuple[PendingCommit, ...]
    icon: str
    status_text: str
    reason: str
    deploy_url: str | None
    deploy_label: str
    fix: str = ""  # what makes an unknown component known

    @property
    def pending_count(self) -> int:
        return len(self.pending)

    @property
    def newest_subject(self) -> str:
        return self.pending[0].commit.subject if self.pending else ""


def status_text(drift: Drift, *, now: int, grace_seconds: int | None) -> tuple[str, str]:
    """Icon and words for a drift; a stale one past the grace period is overdue."""
    from dualdeploy.render import format_duration

    if drift.status in (STALE, DIVERGED) and drift.pending:
        waited = format_duration(drift.waiting_seconds(now))
        if grace_seconds is not None and drift.overdue(now, grace_seconds):
            return OVERDUE_ICON, f"{drift.status}, overdue ({len(drift.pending)} behind for {waited})"
        return ICONS[drift.status], f"{drift.status} ({len(drift.pending)} behind for {waited})"
    return ICONS[drift.status], drift.status.replace("_", " ")


def build_rows(
    config: Config,
    drifts: tuple[Drift, ...],
    *,
    repo_url: str | None,
    now: int,
    grace_seconds: int | None = None,
    run_results: Mapping[str, str] | None = None,
) -> list[DashboardRow]:
    from dualdeploy.render import SafeMarkdown, format_time

    rows = []
    for drift in drifts:
        component = config.component(drift.component)
        deployment = drift.deployment
        icon, text = status_text(drift, now=now, grace_seconds=grace_seconds)  # our own words and numbers
        result = (run_results or {}).get(component.name)
        if result:
            text = f"{text}; {RUN_RESULTS.get(result, result)}"
        rows.append(
            DashboardRow(
                name=component.name,
                deploy=component.deploy,
                sha=deployment.sha,
                when=format_time(deployment.deployed_at),
                run_url=deployment.url,
                commit_url=f"{repo_url}/commit/{deployment.sha}" if repo_url and deployment.sha else None,
                repo_url=repo_url,
                pending=drift.pending,
                icon=icon,
                status_text=SafeMarkdown(text),  # the suite's own words and numbers
                reason=drift.reason,
                fix=drift.fix,
                deploy_url=component.deploy_url(repo_url),
                deploy_label=f"Run {component.deploy_workflow}"
                if component.deploy_workflow
                else ("deploys on merge" if component.deploy == "auto" else "Actions"),
            )
        )
    return rows


def render_dashboard(
    title: str,
    target: str,
    rows: list[DashboardRow],
    *,
    repo_url: str | None,
    notes: list[str] | None = None,
    waiting_pulls: dict | None = None,
    pull_metrics=None,
) -> str:
    """The dashboard as Markdown; `title` is the suite's own words (not escaped), all else is data.
    `waiting_pulls`: merged pull requests still waiting, per component (pull_requests.waiting_by_component)."""
    from dualdeploy.render import GITHUB_COMMENT_LIMIT, SafeMarkdown, render, render_within

    return render_within(
        GITHUB_COMMENT_LIMIT,
        lambda budget: render(
            "dashboard.md.j2",
            title=SafeMarkdown(title),
            target=target,
            rows=rows,
            budget=budget,
            target_url=f"{repo_url}/commit/{target}" if repo_url else None,
            notes=notes or [],
            waiting_pulls=waiting_pulls or {},
            pull_metrics=pull_metrics,
        ),
        budgets_for(rows),
    )


def deployed_by_this_run(
    config: Config,
    drifts: tuple[Drift, ...],
    results: Mapping[str, str],
    target: str,
    now: int,
    run_url: str | None = None,
) -> tuple[Drift, ...]:
    """An automatic component this run deployed successfully runs the target, whatever was recorded."""
    updated = []
    for drift in drifts:
        if results.get(drift.component) == "success" and config.component(drift.component).deploy == "auto":
            deployment = Deployment(drift.component, target, now, source="this run", url=run_url)
            drift = Drift(drift.component, IN_SYNC, deployment)
        updated.append(drift)
    return tuple(updated)


def format_table(target: str, rows: list[DashboardRow]) -> str:
    header = ("COMPONENT", "DEPLOYS", "DEPLOYED", "WHEN", "PENDING", "STATUS")
    table = [header] + [
        (row.name, row.deploy, (row.sha or "-")[:7], row.when, str(row.pending_count), row.status_text) for row in rows
    ]
    widths = [max(len(line[index]) for line in table) for index in range(len(header))]
    lines = [f"target {target[:12]}"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    for row in rows:
        if row.reason:
            lines.append(f"{row.name}: {row.reason}" + (f"; fix: {row.fix}" if row.fix else ""))
    return "\n".join(lines)

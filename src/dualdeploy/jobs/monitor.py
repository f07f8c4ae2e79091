"""`dualdeploy monitor` / monitor-agents: the scheduled safety net.

Finds the commit production runs, the manual components behind it for longer than
`max-age-minutes`, and keeps exactly one open alert issue about them (or one per component):
created when something is overdue, edited in place after, commented only when the overdue set
changes, closed with a comment once everything is deployed. Its state lives in the issue body.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field

from dualdeploy import actions_io
from dualdeploy.alerts import (
    ALERT_LABELS,
    ALERT_MARKER,
    ISSUE_MODES,
    alert_item,
    alert_marker,
    blind_item,
    issue_mode_of,
    issue_title,
    missing_labels,
    plan_assignees,
    read_assigned,
)
from dualdeploy.assessment import assess, blind_line, production_target, unknown_drifts, unknown_line
from dualdeploy.config import Config
from dualdeploy.dashboard import build_rows, render_dashboard
from dualdeploy.drift import Drift
from dualdeploy.errors import EXIT_GAP, DualDeployError
from dualdeploy.jobs import common
from dualdeploy.markers import hidden_state, read_hidden_state, replace_hidden_state
from dualdeploy.metrics import compute_metrics, metrics_markdown

MARKER = ALERT_MARKER
ISSUE_BUDGETS = (50, 20, 5, 0)
OUTPUT_COMMITS = 50  # pending commits listed per component in the step output (GitHub caps outputs at 1 MB)
CLOSED_SCAN = 300  # recently updated closed issues searched for the one a new alert follows


def marker_for(component: str | None) -> str:
    return alert_marker(component)


@dataclass
class Outcome:
    """What the monitor did to the issues, for the log, the summary and the outputs."""

    issue_urls: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    slack: str | None = None  # fingerprint of this run's Slack alert, stored in the issue state
    previous_slack: set = field(default_factory=set)  # fingerprints the issues held before this run
    slack_reverts: list = field(default_factory=list)  # undo the stored fingerprint if sending fails
    closed: list = field(default_factory=list)  # components deployed since the alert the monitor closed


def run(args: argparse.Namespace) -> int:
    on_unknown = common.parse_on_unknown(args.on_unknown)
    git, config = common.open_config(args)
    max_age = common.parse_minutes(args.max_age_minutes, config.monitor.max_age_minutes)
    now = common.now_from(args)
    reader = common.deployment_reader(args, git, config, token_required_in_actions=True)
    target = production_target(git, config, reader, args.target_sha)
    manual = common.select_components(config, args.components)
    state = assess(git, config, manual, target, reader)
    overdue = [drift for drift in state.drifts if drift.overdue(now, max_age)]
    unknown = unknown_drifts(state.drifts)
    blind = unknown if on_unknown == "fail" else []  # alerted like an overdue one, in its own section
    drifts = {drift.component: drift for drift in state.drifts}
    metrics = compute_metrics(git, config, manual, target, reader, now, max_age, drifts) if args.metrics else []
    repo_url = actions_io.repo_url()

    # With --format json, stdout is the JSON alone: what people read goes to stderr.
    human = sys.stderr if args.format == "json" else sys.stdout
    print(
        f"monitor at {target[:12]}: {len(manual)} manual component(s), {len(overdue)} overdue "
        f"(older than {max_age // 60} min), {len(unknown)} unknown",
        file=human,
    )
    for drift in state.drifts:
        mark = " OVERDUE" if drift in overdue else ""
        detail = f" - {unknown_line(drift)}" if drift in unknown else ""
        print(f"  {drift.component}: {drift.status}{mark}, {len(drift.pending)} pending{detail}", file=human)
    common.annotate_unknown(unknown, "error" if blind else "warning")

    outcome = Outcome()
    webhook = common.slack_webhook(config)
    alert = slack_alert(config, overdue, now=now, repo_url=repo_url) if overdue and webhook else None
    outcome.slack = fingerprint_of(alert)
    repo = common.github_repo(args)
    pulls = common.pull_request_report(
        repo, git, config, reader, state.drifts, now, write=args.pull_requests, metrics=args.metrics
    )
    waiting_pulls = pulls.waiting if pulls else {}
    pull_metrics = pulls.metrics if pulls and args.metrics else None
    if pulls is not None:
        report_pull_requests(pulls, outcome, human)
    if repo is None:
        print("dry run (no token): no issue is opened, updated or closed", file=human)
    else:
        keeper = IssueKeeper(
            repo,
            config,
            target=target,
            repo_url=repo_url,
            now=now,
            max_age=max_age,
            metrics=metrics,
            outcome=outcome,
            drifts={d.component: d for d in state.drifts},
            waiting_pulls=waiting_pulls,
            pull_metrics=pull_metrics,
        )
        mode = args.issue_mode or config.monitor.issue_mode
        if mode not in ISSUE_MODES:
            raise DualDeployError(f"must be 'single' or 'per-component', not {mode!r}", key="issue-mode")
        from dualdeploy.github import PermissionMissing

        try:
            if mode == "per-component":
                for drift in state.drifts:
                    keeper.sync(
                        marker_for(drift.component),
                        [drift] if drift in overdue else [],
                        [drift] if drift in blind else [],
                    )
            else:
                single_overdue, single_blind = overdue, blind
                everyone = config.manual_components()
                if {c.name for c in everyone} - {c.name for c in manual}:
                    # The one issue is about every manual component: a run asked about some of them
                    # (--components) must not close or shrink it for the others, so it looks at them too.
                    whole = assess(git, config, everyone, target, reader)
                    keeper.drifts = {d.component: d for d in whole.drifts}
                    single_overdue = [d for d in whole.drifts if d.overdue(now, max_age)]
                    single_blind = unknown_drifts(whole.drifts) if on_unknown == "fail" else []
                keeper.sync(MARKER, single_overdue, single_blind)
            keeper.retire_other_mode(mode)
        except PermissionMissing as error:
            # Without `issues: write` the run still reports, in the summary, a warning and its exit status.
            message = f"the alert issue was not updated: {error.message}"
            actions_io.annotate("warning", message, title="dualdeploy: monitor lacks issues: write")
            outcome.actions.append(message)

    notified = notify_slack(webhook, alert, outcome, config, overdue, now=now, repo_url=repo_url)

    actions_io.set_output("overdue", json.dumps([drift.to_json(limit=OUTPUT_COMMITS) for drift in overdue]))
    actions_io.set_output("unknown", json.dumps([drift.component for drift in unknown]))
    actions_io.set_output("issue-url", outcome.issue_urls[0] if outcome.issue_urls else "")
    if actions_io.in_actions():
        rows = build_rows(config, state.drifts, repo_url=repo_url, now=now, grace_seconds=max_age)
        notes = common.unknown_notes(unknown, blind=bool(blind), on_unknown=on_unknown)
        summary = render_dashboard(
            "Agent monitor",
            target,
            rows,
            repo_url=repo_url,
            notes=notes + outcome.actions,
            waiting_pulls=waiting_pulls,
            pull_metrics=pull_metrics,
        )
        actions_io.append_summary(summary + metrics_markdown(metrics))
    for line in outcome.actions:
        print(line, file=human)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "target": target,
                    "overdue": [d.component for d in overdue],
                    "unknown": [{"component": d.component, "reason": d.reason, "fix": d.fix} for d in unknown],
                    "on_unknown": on_unknown,
                    "metrics": [m.to_json() for m in metrics],
                    "pull_requests": pull_requests_json(pulls, pull_metrics),
                },
                indent=2,
            )
        )
    if notified is not None and not notified.sent and notified.error and args.fail_on_notify_error:
        raise DualDeployError(notified.error, key="slack", exit_status=EXIT_GAP)
    if blind:
        print(f"dualdeploy: error: {blind_line(blind)}", file=sys.stderr)
        return EXIT_GAP
    return EXIT_GAP if overdue and args.fail_on_overdue else 0


def report_pull_requests(pulls, outcome: Outcome, human=None) -> None:
    """What following the merged pull requests did, in the log; what it could not tell, as warnings."""
    if pulls.problem:
        actions_io.annotate(
            "warning",
            f"merged pull requests were not followed: {pulls.problem}",
            title="dualdeploy: monitor could not read pull requests",
        )
        outcome.actions.append(f"merged pull requests not followed: {pulls.problem}")
        return
    outcome.actions.extend(pulls.outcome.actions)
    for warning in pulls.outcome.warnings:
        actions_io.annotate("warning", warning, title="dualdeploy: monitor")
    waiting = sum(len(items) for items in pulls.waiting.values())
    print(
        f"merged pull requests: {len(pulls.outcome.lives)} followed, {waiting} (pull request, component) waiting",
        file=human or sys.stdout,
    )


def pull_requests_json(pulls, pull_metrics) -> dict | None:
    """The pull requests' part of --format json: who waits per component, the per-PR metrics."""
    if pulls is None:
        return None
    from dualdeploy.pull_requests import waiting_json

    return {
        "problem": pulls.problem or None,
        "waiting": waiting_json(pulls.waiting),
        "metrics": pull_metrics.to_json() if pull_metrics else None,
    }


def slack_alert(
    config: Config, overdue: list[Drift], *, now: int, repo_url: str | None, issue_url: str | None = None
) -> dict:
    from dualdeploy.notify import SlackComponent, render_slack

    branch = actions_io.default_branch() or "main"
    items = [
        SlackComponent.from_drift(
            drift,
            now=now,
            deploy_url=config.component(drift.component).deploy_url(repo_url),
            deploy_command=config.component(drift.component).deploy_command(branch),
        )
        for drift in overdue
    ]
    return render_slack(
        "slack/monitor_alert.json.j2",
        repo=actions_io.repository_name(),
        overdue=items,
        issue_url=issue_url,
        mention=config.slack.mention if config.slack and config.slack.mention else "",
    )


def fingerprint_of(payload: dict | None) -> str | None:
    if payload is None:
        return None
    from dualdeploy.notify import fingerprint

    return fingerprint(payload)


def notify_slack(
    webhook: str | None,
    alert: dict | None,
    outcome: Outcome,
    config: Config,
    overdue: list[Drift],
    *,
    now: int,
    repo_url: str | None,
):
    """At most one Slack message a run: the alert when its content changed since the last one
    (the fingerprint kept in the issue), or the all-clear when the monitor closed the alert."""
    if not webhook:
        return None
    from dualdeploy import notify
    from dualdeploy.notify import render_slack

    issue_url = outcome.issue_urls[0] if outcome.issue_urls else None
    if alert is not None:
        if outcome.slack in outcome.previous_slack:
            outcome.actions.append("Slack: nothing changed since the last alert, no message")
            return None
        result = notify.send(webhook, slack_alert(config, overdue, now=now, repo_url=repo_url, issue_url=issue_url))
        if not result.sent:
            for revert in outcome.slack_reverts:
                revert()  # the alert did not go out: the next run tries again
        outcome.actions.append("Slack: alert sent" if result.sent else "Slack: alert NOT sent (see the warning)")
        return result
    if outcome.closed:
        payload = render_slack(
            "slack/monitor_recovery.json.j2",
            repo=actions_io.repository_name(),
            deployed=[
                notify.SlackComponent(name=item["name"], deployed_sha=item["sha"], lag=item["lag"] or "")
                for item in outcome.closed
            ],
            issue_url=issue_url,
        )
        result = notify.send(webhook, payload)
        outcome.actions.append("Slack: all-clear sent" if result.sent else "Slack: all-clear NOT sent")
        return result
    return None


class IssueKeeper:
    """Keeps the alert issue for one marker in step with the overdue components."""

    def __init__(
        self,
        repo,
        config: Config,
        *,
        target: str,
        repo_url: str | None,
        now: int,
        max_age: int,
        metrics: list,
        outcome: Outcome,
        drifts: dict[str, Drift],
        waiting_pulls: dict | None = None,
        pull_metrics=None,
    ) -> None:
        self.repo, self.config, self.target, self.repo_url = repo, config, target, repo_url
        self.now, self.max_age, self.metrics, self.outcome = now, max_age, metrics, outcome
        self.drifts = drifts
        self.waiting_pulls, self.pull_metrics = waiting_pulls or {}, pull_metrics
        self._open: list | None = None
        self.kept: list = []  # the open issues of this run's mode, after it: what a retired issue links to

    def open_alerts(self, *, fresh: bool = False) -> list:
        """Every open issue that starts with one of the monitor's markers, newest first: found by the
        marker alone, whatever labels or title people have given it since."""
        from dualdeploy.github import call, suite_authored

        if self._open is None or fresh:
            with call("list open issues to find the alert issues", permission="issues: read"):
                marked = [
                    issue
                    for issue in self.repo.get_issues(state="open", sort="created", direction="desc")
                    # A pull request is an issue too; its URL says so without another request.
                    if issue_mode_of(issue.body) and "/pull/" not in (issue.html_url or "")
                ]
            # Only the suite's: an issue a person opened by pasting the alert's source is theirs.
            ours = {issue.number for issue in suite_authored(sorted(marked, key=lambda issue: issue.number))}
            self._open = [issue for issue in marked if issue.number in ours]
        return self._open

    def find(self, marker: str, state: str = "open", *, fresh: bool = False):
        """The newest issue in `state` that starts with the marker (never by title or label)."""
        from dualdeploy.github import call, owns

        if state == "open":
            return next((issue for issue in self.open_alerts(fresh=fresh) if owns(issue.body, marker)), None)
        with call(f"list {state} issues to find the last alert issue", permission="issues: read"):
            issues = self.repo.get_issues(state=state, sort="updated", direction="desc")
            for index, issue in enumerate(issues):
                if index >= CLOSED_SCAN:
                    break
                if owns(issue.body, marker) and "/pull/" not in (issue.html_url or ""):
                    return issue
        return None

    def sync(self, marker: str, overdue: list[Drift], unknown: list[Drift] = ()) -> None:
        """`unknown`: components whose deployed commit cannot be established, alerted in their own section."""
        unknown = list(unknown)
        issue = self.find(marker)
        if issue is None:
            if overdue or unknown:
                self.create(marker, overdue, unknown)
            return
        previous = read_hidden_state(issue.body)
        self.outcome.previous_slack.add(previous.get("slack"))
        if overdue or unknown:
            self.update(issue, marker, overdue, previous, unknown)
        else:
            self.close(issue, previous)

    def update(self, issue, marker: str, overdue: list[Drift], previous: dict, unknown: list[Drift] = ()) -> None:
        from dualdeploy.github import call

        names = sorted(drift.component for drift in overdue)
        unknown_names = sorted(drift.component for drift in unknown)
        self.restore_labels(issue)
        assigned = self.sync_assignees(issue, [*overdue, *unknown], previous)
        body = self.body(marker, overdue, previous=previous.get("follows"), unknown=unknown, assigned=assigned)
        title = issue_title(overdue, unknown)
        if body != issue.body or title != issue.title:
            old_body = issue.body
            with call(f"update alert issue #{issue.number}", permission="issues: write"):
                issue.edit(title=title, body=body)
            self.outcome.actions.append(f"updated alert issue #{issue.number}")
            self.outcome.slack_reverts.append(lambda: self._restore(issue, old_body))
        else:
            self.outcome.actions.append(f"alert issue #{issue.number} unchanged")
        if names != previous.get("overdue") or unknown_names != (previous.get("unknown") or []):
            old = set(previous.get("overdue") or [])
            comment = render_text(
                "monitor_changed.md.j2",
                now=names,
                added=sorted(set(names) - old),
                removed=sorted(old - set(names)),
                unknown=unknown_names,
            )
            with call(f"comment on alert issue #{issue.number}", permission="issues: write"):
                issue.create_comment(comment)
        self.outcome.issue_urls.append(issue.html_url)
        self.kept.append(issue)

    def restore_labels(self, issue) -> None:
        """Put back the alert labels a person took off while the alert is open."""
        from dualdeploy.github import SUITE_LABELS, call, ensure_label

        missing = missing_labels({label.name for label in issue.labels})
        if not missing:
            return
        for name in missing:
            ensure_label(self.repo, SUITE_LABELS[name])
        with call(f"add labels {', '.join(missing)} to alert issue #{issue.number}", permission="issues: write"):
            issue.add_to_labels(*missing)
        self.outcome.actions.append(f"put the labels {', '.join(missing)} back on alert issue #{issue.number}")

    def sync_assignees(self, issue, drifts: list[Drift], previous: dict) -> list[str]:
        """Assign owners added to the config since; unassign those it assigned who left it. Returns
        whom the suite counts as assigned by itself (kept in the issue's hidden state)."""
        from dualdeploy.github import call

        current = {user.login for user in issue.assignees}
        plan = plan_assignees(self.assignees(drifts), current, read_assigned(previous))
        if plan.to_assign:
            with call(f"assign {', '.join(plan.to_assign)} to alert issue #{issue.number}", permission="issues: write"):
                issue.add_to_assignees(*plan.to_assign)
            self.outcome.actions.append(f"assigned {', '.join(plan.to_assign)} to alert issue #{issue.number}")
        if plan.to_unassign:
            with call(
                f"unassign {', '.join(plan.to_unassign)} from alert issue #{issue.number}", permission="issues: write"
            ):
                issue.remove_from_assignees(*plan.to_unassign)
            self.outcome.actions.append(f"unassigned {', '.join(plan.to_unassign)} from alert issue #{issue.number}")
        return list(plan.assigned)

    def retire_other_mode(self, mode: str) -> None:
        """After `issue-mode` changed: close the open issues of the other mode, each with a comment
        that links the issue(s) that now carry the alert."""
        from dualdeploy.github import call

        successors = sorted({issue.number for issue in self.kept})
        for issue in self.open_alerts():
            if issue_mode_of(issue.body) in (None, mode) or issue.number in successors:
                continue
            comment = render_text("monitor_mode_changed.md.j2", mode=mode, issues=successors)
            state = read_hidden_state(issue.body)
            body = replace_hidden_state(issue.body, {**state, "resolved": True, "superseded_by": successors})
            with call(f"close alert issue #{issue.number} of the previous issue mode", permission="issues: write"):
                issue.create_comment(comment)
                issue.edit(body=body, state="closed", state_reason="not_planned")
            self.outcome.actions.append(f"closed alert issue #{issue.number}: issue-mode is now {mode}")

    def _restore(self, issue, old_body: str | None) -> None:
        """Put back the previous Slack fingerprint (only that) after a failed send."""
        from dualdeploy.github import call

        previous = read_hidden_state(old_body).get("slack")
        current = read_hidden_state(issue.body)
        with call(f"update alert issue #{issue.number}", permission="issues: write"):
            issue.edit(body=replace_hidden_state(issue.body or "", {**current, "slack": previous}))

    def create(self, marker: str, overdue: list[Drift], unknown: list[Drift] = ()) -> None:
        from dualdeploy.github import SUITE_LABELS, call, ensure_label

        closed = self.find(marker, state="closed")
        follows = None
        if closed is not None and not read_hidden_state(closed.body).get("resolved"):
            follows = {"number": closed.number, "closed_by": getattr(closed.closed_by, "login", None)}
        body = self.body(
            marker, overdue, previous=follows, unknown=unknown, assigned=self.assignees([*overdue, *unknown])
        )
        for name in ALERT_LABELS:
            ensure_label(self.repo, SUITE_LABELS[name])
        # Re-check right before creating: another run may have opened it meanwhile.
        existing = self.find(marker, fresh=True)
        if existing is not None:
            previous = read_hidden_state(existing.body)
            self.outcome.previous_slack.add(previous.get("slack"))
            self.update(existing, marker, overdue, previous, unknown)
            return
        title = issue_title(overdue, unknown)
        with call("open the alert issue", permission="issues: write"):
            issue = self.repo.create_issue(
                title=title,
                body=body,
                labels=list(ALERT_LABELS),
                assignees=self.assignees([*overdue, *unknown]),
            )
        survivor = self.settle_race(marker, issue)
        self.kept.append(survivor)
        if survivor is not issue:
            self.outcome.actions.append(f"alert issue #{survivor.number} was opened by another run meanwhile")
            self.outcome.issue_urls.append(survivor.html_url)
            return
        self.outcome.actions.append(f"opened alert issue #{issue.number}")
        self.outcome.issue_urls.append(issue.html_url)
        self.outcome.slack_reverts.append(lambda: self._restore(issue, None))

    def settle_race(self, marker: str, created):
        """Two runs that re-checked at the same moment may both create: the oldest issue wins, and
        the newer one (ours) is closed as its duplicate."""
        from dualdeploy.github import call, owns

        ours = [issue for issue in self.open_alerts(fresh=True) if owns(issue.body, marker)]
        oldest = min(ours, key=lambda issue: issue.number, default=created)
        if oldest.number == created.number:
            return created
        with call(f"close duplicate alert issue #{created.number}", permission="issues: write"):
            created.create_comment(f"Duplicate of #{oldest.number}, opened by a monitor run at the same moment.")
            created.edit(
                body=replace_hidden_state(created.body, {"resolved": True, "duplicate_of": oldest.number}),
                state="closed",
                state_reason="not_planned",
            )
        return oldest

    def close(self, issue, previous: dict) -> None:
        from dualdeploy.github import call
        from dualdeploy.render import format_duration

        deployed = []
        waiting_since = previous.get("since") or {}
        for name in previous.get("overdue") or []:
            drift = self.drifts.get(name)
            if drift is None or not drift.deployment.sha:
                continue
            deployed_at = drift.deployment.deployed_at or self.now
            landed = waiting_since.get(name)
            lag = format_duration(max(0, deployed_at - landed)) if isinstance(landed, int) else None
            deployed.append({"name": name, "sha": drift.deployment.sha, "lag": lag})
        self.outcome.closed.extend(deployed)
        comment = render_text("monitor_resolved.md.j2", deployed=deployed)
        body = replace_hidden_state(issue.body or "", {**previous, "resolved": True})
        with call(f"close alert issue #{issue.number}", permission="issues: write"):
            issue.create_comment(comment)
            issue.edit(body=body, state="closed", state_reason="completed")
        self.outcome.actions.append(f"closed alert issue #{issue.number}: all components deployed")
        self.outcome.issue_urls.append(issue.html_url)

    def assignees(self, overdue: list[Drift]) -> list[str]:
        """Users among the owners (teams are mentioned in the body instead), plus configured assignees."""
        logins = [
            owner.lstrip("@")
            for drift in overdue
            for owner in self.config.component(drift.component).owners
            if "/" not in owner
        ]
        return list(dict.fromkeys([*logins, *self.config.monitor.assignees]))[:10]

    def body(
        self,
        marker: str,
        overdue: list[Drift],
        *,
        previous: dict | None,
        unknown: list[Drift] = (),
        assigned: list[str] = (),
    ) -> str:
        from dualdeploy.render import GITHUB_COMMENT_LIMIT, SafeMarkdown, format_duration, render_within

        since = {drift.component: drift.oldest_pending_landed_at for drift in overdue}
        hidden = {
            "overdue": sorted(since),
            "since": since,
            "follows": previous,
            "slack": self.outcome.slack,
            "assigned": list(assigned),
        }
        if unknown:
            hidden["unknown"] = sorted(drift.component for drift in unknown)
        state = state_comment(hidden)
        items = [
            alert_item(
                self.config,
                drift,
                waited=format_duration(drift.waiting_seconds(self.now)),
                repo_url=self.repo_url,
                branch=actions_io.default_branch() or "main",
            )
            for drift in overdue
        ]
        return render_within(
            GITHUB_COMMENT_LIMIT,
            lambda budget: render_text(
                "monitor_issue.md.j2",
                marker=SafeMarkdown(marker),
                state=state,
                target=self.target,
                target_url=f"{self.repo_url}/commit/{self.target}" if self.repo_url else None,
                items=items,
                unknown=[blind_item(self.config, drift) for drift in unknown],
                budget=budget,
                metrics=[m for m in self.metrics if m.component in since],
                previous=previous,
                max_age=format_duration(self.max_age),
                waiting_pulls=self.waiting_pulls,
                pull_metrics=self.pull_metrics,
            ),
            ISSUE_BUDGETS,
        )


def render_text(template: str, **context) -> str:
    from dualdeploy.render import render

    return render(template, **context)


def state_comment(state: dict):
    """The monitor's memory, kept in the issue body as a hidden comment."""
    from dualdeploy.render import SafeMarkdown

    return SafeMarkdown(hidden_state(state))

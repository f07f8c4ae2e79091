"""`dualdeploy sync-check` / post-deploy-sync-check: after production got `target`, is any agent behind?

Exit status 1 when a component is stale past the grace period and `--on-stale fail` (the default),
or at once when the deployed commit of a checked component cannot be established and
`--on-unknown fail` (the default): a check that cannot see never passes. 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

from dualdeploy import actions_io
from dualdeploy.assessment import assess, blind_line, unknown_drifts
from dualdeploy.dashboard import build_rows, render_dashboard
from dualdeploy.drift import DIVERGED, IN_SYNC, STALE, Drift
from dualdeploy.errors import EXIT_GAP, DualDeployError
from dualdeploy.jobs import common


def run(args: argparse.Namespace) -> int:
    if args.on_stale not in ("fail", "warn"):
        raise DualDeployError(f"must be 'fail' or 'warn', not {args.on_stale!r}", key="on-stale")
    on_unknown = common.parse_on_unknown(args.on_unknown)
    grace_seconds = parse_grace(args.grace_minutes)
    now = common.now_from(args)
    git, config = common.open_config(args)
    target = common.target_of(git, args)
    components = common.select_components(config, args.components)
    state = assess(
        git, config, components, target, common.deployment_reader(args, git, config, token_required_in_actions=True)
    )
    behind = [drift for drift in state.drifts if drift.status in (STALE, DIVERGED) and drift.pending]
    overdue = [drift for drift in behind if drift.overdue(now, grace_seconds)]
    unknown = unknown_drifts(state.drifts)
    in_sync = all(drift.status == IN_SYNC for drift in state.drifts)  # deploying, unknown, diverged: not yet
    blind = bool(unknown) and on_unknown == "fail"  # at once, whatever the grace period

    report = report_of(target, now, grace_seconds, state.drifts, overdue, in_sync=in_sync, on_unknown=on_unknown)
    report_path = write_report(args.report, report)
    text = summary_line(target, state.drifts, behind, overdue, unknown)
    if args.format == "json":
        print(json.dumps(report, indent=2))
        print(text, file=sys.stderr)
    else:
        print(text)
    repo_url = actions_io.repo_url()
    failing = bool(overdue) and args.on_stale == "fail"
    for drift in behind:
        annotate(drift, config.component(drift.component).deploy_workflow, overdue=drift in overdue, failing=failing)
    common.annotate_unknown(unknown, "error" if blind else "warning")
    actions_io.set_output("in-sync", "true" if in_sync else "false")
    # At most 50 commits per component in the output (GitHub caps outputs at 1 MB); the report has all.
    actions_io.set_output("stale", json.dumps([drift.to_json(limit=50) for drift in behind]))
    actions_io.set_output("unknown", json.dumps([drift.component for drift in unknown]))
    actions_io.set_output("report", str(report_path))
    notified = notify_slack(config, behind, target, now=now, repo_url=repo_url)
    if actions_io.in_actions():
        rows = build_rows(config, state.drifts, repo_url=repo_url, now=now, grace_seconds=grace_seconds)
        notes = common.unknown_notes(unknown, blind=bool(blind), on_unknown=on_unknown)
        actions_io.append_summary(
            render_dashboard("Post-deploy sync check", target, rows, repo_url=repo_url, notes=notes)
        )
    if notified is not None and not notified.sent and notified.error and args.fail_on_notify_error:
        raise DualDeployError(notified.error, key="slack", exit_status=EXIT_GAP)
    if blind:
        print(f"dualdeploy: error: {blind_line(unknown)}", file=sys.stderr)
        return EXIT_GAP
    return EXIT_GAP if failing else 0


def notify_slack(config, behind: list[Drift], target: str, *, now: int, repo_url: str | None):
    """One Slack message when components are behind, if a webhook is configured."""
    if not behind:
        return None
    webhook = common.slack_webhook(config)
    if not webhook:
        return None
    from dualdeploy import notify
    from dualdeploy.notify import render_slack

    stale = [
        notify.SlackComponent.from_drift(
            drift,
            now=now,
            deploy_url=config.component(drift.component).deploy_url(repo_url),
            deploy_command=config.component(drift.component).deploy_command(actions_io.default_branch() or "main"),
        )
        for drift in behind
    ]
    payload = render_slack(
        "slack/sync_check_stale.json.j2",
        repo=actions_io.repository_name(),
        target_sha=target,
        stale=stale,
        run_url=actions_io.run_url(),
        mention=config.slack.mention if config.slack and config.slack.mention else "",
    )
    return notify.send(webhook, payload)


def parse_grace(text: str | None) -> int:
    try:
        minutes = float(text) if text not in (None, "") else 5.0
    except ValueError:
        raise DualDeployError(f"must be a number of minutes, not {text!r}", key="grace-minutes") from None
    if not math.isfinite(minutes):
        raise DualDeployError(f"must be a finite number of minutes, not {text!r}", key="grace-minutes")
    if minutes < 0:
        raise DualDeployError("must not be negative", key="grace-minutes")
    return int(minutes * 60)


def summary_line(target: str, drifts, behind, overdue, unknown) -> str:
    lines = [
        f"sync check at {target[:12]}: {len(drifts)} component(s), {len(behind)} behind, "
        f"{len(overdue)} past the grace period, {len(unknown)} unknown"
    ]
    for drift in drifts:
        detail = f"{len(drift.pending)} pending commit(s)" if drift.pending else drift.reason or ""
        if drift.fix:
            detail += f"; fix: {drift.fix}"
        lines.append(
            f"  {drift.component}: {drift.status}{' (overdue)' if drift in overdue else ''}"
            f"{' - ' + detail if detail else ''}"
        )
        for item in drift.pending[:10]:
            lines.append(f"    {item.commit.sha[:12]} {item.commit.subject} ({item.commit.author})")
    return "\n".join(lines)


def annotate(drift: Drift, workflow: str | None, *, overdue: bool, failing: bool) -> None:
    newest = drift.pending[0].commit
    how = f"run {workflow}" if workflow else "run its deploy workflow"
    message = (
        f"{drift.component} is {len(drift.pending)} commit(s) behind production "
        f"(newest: {newest.sha[:12]} {newest.subject}); {how} to deploy it."
    )
    if not overdue:
        message += " Still within the grace period."
    level = "error" if overdue and failing else "warning"
    actions_io.annotate(level, message, title=f"dualdeploy: {drift.component} is {drift.status}")


def report_of(target: str, now: int, grace_seconds: int, drifts, overdue, *, in_sync: bool, on_unknown: str) -> dict:
    """The sync check's result as data: the JSON report and `--format json`."""
    return {
        "target": target,
        "checked_at": now,
        "grace_seconds": grace_seconds,
        "in_sync": in_sync,
        "on_unknown": on_unknown,
        "unknown": [drift.component for drift in unknown_drifts(drifts)],
        "components": [dict(drift.to_json(), overdue=drift in overdue) for drift in drifts],
    }


def write_report(path: str | None, report: dict) -> Path:
    """The JSON report (path given, or a file under RUNNER_TEMP), for later steps to read."""
    if path:
        report_path = Path(path)
    else:
        folder = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
        report_path = folder / "dualdeploy-sync-check.json"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    # The C encoder (no indent): a report can hold thousands of commits.
    report_path.write_text(json.dumps(report, separators=(",", ":")) + "\n", encoding="utf-8")
    return report_path

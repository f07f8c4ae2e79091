"""`dualdeploy metrics`: the monitor's lag metrics on their own (deploy gaps, lag, current lag)."""

from __future__ import annotations

import argparse
import json
import sys

from dualdeploy.assessment import assess, blind_line, production_target, unknown_drifts
from dualdeploy.errors import EXIT_GAP, EXIT_USAGE
from dualdeploy.jobs import common
from dualdeploy.metrics import compute_metrics


def run(args: argparse.Namespace) -> int:
    on_unknown = common.parse_on_unknown(args.on_unknown)
    git, config = common.open_config(args)
    max_age = common.parse_minutes(args.max_age_minutes, config.monitor.max_age_minutes)
    now = common.now_from(args)
    reader = common.deployment_reader(args, git, config, token_required_in_actions=True)
    target = production_target(git, config, reader, args.target_sha)
    components = common.select_components(config, args.components)
    state = assess(git, config, components, target, reader)
    drifts = {drift.component: drift for drift in state.drifts}
    metrics = compute_metrics(git, config, components, target, reader, now, max_age, drifts)
    pulls = common.pull_request_report(reader.repo, git, config, reader, state.drifts, now, write=False)
    pull_metrics = pulls.metrics if pulls else None
    if args.format == "json":
        document = {
            "target": target,
            "components": [m.to_json() for m in metrics],
            "pull_requests": pull_metrics.to_json() if pull_metrics else None,
        }
        if pulls is None or pulls.problem:
            document["pull_requests_unknown"] = pulls.problem if pulls else "no GitHub token: pull requests not read"
        print(json.dumps(document, indent=2))
    else:
        for m in metrics:
            if m.status == "unknown":
                print(f"{m.component}: unknown: {m.reason}")
                continue
            lag = (
                f"lag unknown ({m.lag_reason})"
                if m.lag_reason
                else f"lag median {m.lag_median}, p90 {m.lag_p90}, max {m.lag_max} s"
            )
            print(
                f"{m.component}: {m.commits} commits, {m.deployed} deployed, {m.deploys} deploys, "
                f"{m.deploy_gaps} deploy gaps, {lag}, current lag {m.current_lag} s"
            )
        if pull_metrics is not None:
            p = pull_metrics
            print(
                f"pull requests: {p.merged} merged, {p.deployed} deployed, {p.waiting} waiting; merge to deploy "
                f"median {p.median}, p90 {p.p90} s; {p.within_target} within {p.target_minutes} min "
                f"(share {p.share_within_target})" + (f"; {len(p.unknown)} unknown, left out" if p.unknown else "")
            )
        else:
            reason = pulls.problem if pulls else "no GitHub token"
            print(f"pull requests: unknown ({reason})")
    for item in pull_metrics.unknown if pull_metrics else ():
        # Left out of the figures, which would otherwise look complete: said, and a failure unless warned.
        level = "error" if on_unknown == "fail" else "warning"
        print(f"dualdeploy: {level}: pull request #{item['number']} left out: {item['reason']}", file=sys.stderr)
    if pull_metrics is not None and pull_metrics.unknown and on_unknown == "fail":
        return EXIT_GAP
    unknown = unknown_drifts(state.drifts)
    if unknown and on_unknown == "fail":
        # Figures for a component nobody can see would read as "no lag": never a pass.
        print(f"dualdeploy: error: {blind_line(unknown)} (or --on-unknown warn)", file=sys.stderr)
        return EXIT_GAP
    if pulls is not None and pulls.problem:
        # Asked with a token, the per-PR figures are part of the answer: not seeing them is an error.
        print(f"dualdeploy: error: pull requests: {pulls.problem}", file=sys.stderr)
        return EXIT_USAGE
    return 0

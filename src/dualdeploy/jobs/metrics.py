"""`dualdeploy metrics`: the monitor's lag metrics on their own (deploy gaps, lag, current lag)."""

from __future__ import annotations

import argparse
import json

from dualdeploy.assessment import assess, production_target
from dualdeploy.jobs import common
from dualdeploy.metrics import compute_metrics


def run(args: argparse.Namespace) -> int:
    git, config = common.open_config(args)
    max_age = common.parse_minutes(args.max_age_minutes, config.monitor.max_age_minutes)
    now = common.now_from(args)
    reader = common.deployment_reader(args, git, config)
    target = production_target(git, config, reader, args.target_sha)
    components = common.select_components(config, args.components)
    state = assess(git, config, components, target, reader)
    drifts = {drift.component: drift for drift in state.drifts}
    metrics = compute_metrics(git, config, components, target, reader, now, max_age, drifts)
    if args.format == "json":
        print(json.dumps({"target": target, "components": [m.to_json() for m in metrics]}, indent=2))
    else:
        for m in metrics:
            if m.status == "unknown":
                print(f"{m.component}: unknown: {m.reason}")
                continue
            print(
                f"{m.component}: {m.commits} commits, {m.deployed} deployed, {m.deploys} deploys, "
                f"{m.deploy_gaps} deploy gaps, "
                f"lag median {m.lag_median}, p90 {m.lag_p90}, max {m.lag_max} s, current lag {m.current_lag} s"
            )
    return 0

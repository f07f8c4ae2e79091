"""`dualdeploy status` / step-summary-dashboard: one table of every component's deployed state.

The rows and their renderer live in `dualdeploy.dashboard`; the sync check, the monitor and
docs/DEPLOYMENT_STATUS.md use the same.
"""

from __future__ import annotations

import argparse
import json

from dualdeploy import actions_io
from dualdeploy.assessment import assess, unknown_drifts
from dualdeploy.config import Config
from dualdeploy.dashboard import build_rows, deployed_by_this_run, format_table, render_dashboard
from dualdeploy.jobs import common


def parse_run_results(text: str | None, config: Config) -> dict[str, str]:
    """This run's deploy results per component, from `{"api": "success"}` or a `toJSON(needs)` object.

    A `needs` key maps to the component of the same name, or `deploy-<name>`.
    """
    value = actions_io.json_object_input(text, "job-results", '{"api": "success"} or toJSON(needs)')
    names = {component.name for component in config.components}
    results = {}
    for key, result in value.items():
        name = key if key in names else key.removeprefix("deploy-") if key.removeprefix("deploy-") in names else None
        if name is None:
            if config.resembles(key) or config.resembles(key.removeprefix("deploy-")):
                config.check_names([key], "job-results")  # a typo of a component: say so
            continue
        results[name] = result.get("result", "") if isinstance(result, dict) else str(result)
    return results


def run(args: argparse.Namespace) -> int:
    git, config = common.open_config(args)
    results = parse_run_results(args.job_results, config)  # names checked before anything is read
    target = common.target_of(git, args)
    reader = common.deployment_reader(args, git, config, token_required_in_actions=True)
    components = common.select_components(config, args.components, default_manual=False)
    state = assess(git, config, components, target, reader)
    now = common.now_from(args)
    repo_url = actions_io.repo_url()
    drifts = deployed_by_this_run(config, state.drifts, results, target, now, actions_io.run_url())
    rows = build_rows(config, drifts, repo_url=repo_url, now=now, run_results=results)
    pulls = common.pull_request_report(reader.repo, git, config, reader, state.drifts, now, write=False, metrics=False)
    waiting_pulls = pulls.waiting if pulls else {}
    notes = (
        [f"Merged pull requests waiting for a deploy: unknown ({pulls.problem})."] if pulls and pulls.problem else []
    )
    if args.format == "json":
        document = {"target": target, "components": [drift.to_json() for drift in drifts]}
        if pulls is not None:
            from dualdeploy.pull_requests import waiting_json

            # Merged pull requests still waiting, per component, oldest first (null when unreadable).
            document["pull_requests_waiting"] = None if pulls.problem else waiting_json(waiting_pulls)
        print(json.dumps(document, indent=2))
    elif args.format == "markdown":
        print(
            render_dashboard(
                "Deployment status", target, rows, repo_url=repo_url, notes=notes, waiting_pulls=waiting_pulls
            )
        )
    else:
        print(format_table(target, rows))
    # The dashboard shows, it does not gate: what it cannot see is a warning that says the fix.
    common.annotate_unknown(unknown_drifts(drifts), "warning")
    if actions_io.in_actions():
        actions_io.append_summary(
            render_dashboard(
                "Deployment status", target, rows, repo_url=repo_url, notes=notes, waiting_pulls=waiting_pulls
            )
        )
    return 0

"""`dualdeploy record` / record-deployment: tell GitHub which commit a component now runs.

Creates a GitHub deployment for the component's environment at the deployed sha, with a status,
so the github-deployment provider (the default) knows what is deployed. Idempotent per workflow
run: a rerun of the same run and attempt finds its deployment (by the run key in the payload)
and adds a status only when the state changed.
"""

from __future__ import annotations

import argparse
import os
import time

from dualdeploy import actions_io
from dualdeploy.drift import Deployment
from dualdeploy.errors import DualDeployError
from dualdeploy.jobs import common
from dualdeploy.pull_requests import PullRequestDesk, follow

STATES = ("in_progress", "queued", "pending", "success", "failure", "error", "inactive")


def run(args: argparse.Namespace) -> int:
    if args.state not in STATES:
        raise DualDeployError(f"must be one of {', '.join(STATES)}, not {args.state!r}", key="state")
    git, config = common.open_config(args)
    component = config.component(args.component)
    source = component.deployed
    if source is not None and source.kind != "github-deployment":
        actions_io.annotate(
            "warning",
            f"{component.name} reads its deployed commit from {source.kind}, so the "
            "deployment recorded here is not what the other checks read.",
            title="dualdeploy: record-deployment",
        )
    environment = (source.environment if source and source.environment else None) or component.name
    sha = git.resolve(args.sha or os.environ.get("GITHUB_SHA") or "HEAD", what="--sha")
    repo = common.github_repo(args)
    if repo is None and actions_io.in_actions():
        # A dry run in a workflow records nothing, and every later check would go blind.
        raise DualDeployError(
            f"no GitHub token, so {component.name}'s deployment cannot be recorded; pass `github-token` "
            "(the action defaults to the job's token) and grant `deployments: write`",
            key="github-token",
        )
    if repo is None:
        print(
            f"dry run (no token): would record {component.name} at {sha[:12]} in environment "
            f"{environment!r} as {args.state}"
        )
        return 0
    from dualdeploy.github import call

    run_key = run_identity()
    log_url = actions_io.run_url()
    with call(f"list deployments of {environment!r} at {sha[:12]}", permission="deployments: read"):
        existing = next(
            (
                deployment
                for deployment in repo.get_deployments(sha=sha, environment=environment)
                if run_key_of(deployment) == run_key
            ),
            None,
        )
    if existing is None:
        with call(f"create a deployment of {environment!r} at {sha[:12]}", permission="deployments: write"):
            existing = repo.create_deployment(
                ref=sha,
                task="deploy",
                auto_merge=False,
                required_contexts=[],
                environment=environment,
                payload={"dualdeploy_run": run_key, "component": component.name},
                description=f"{component.name} deployed by Dual Deploy Guard's record-deployment",
                production_environment=True,
                transient_environment=False,
            )
    with call(f"read the statuses of deployment {existing.id}", permission="deployments: read"):
        newest = next(iter(existing.get_statuses()), None)
    if newest is None or newest.state != args.state or (args.environment_url or "") != (newest.environment_url or ""):
        with call(f"set deployment {existing.id} to {args.state}", permission="deployments: write"):
            newest = existing.create_status(
                args.state,
                environment_url=args.environment_url or "",
                target_url=log_url or "",
                description=f"{component.name}: {args.state}",
                auto_inactive=True,
            )
        action = "recorded"
    else:
        action = "already recorded"
    print(
        f"{action}: {component.name} at {sha[:12]} in environment {environment!r} is {args.state} "
        f"(deployment {existing.id})"
    )
    actions_io.set_output("deployment-id", str(existing.id))
    actions_io.set_output("environment", environment)
    if args.state == "success" and args.pull_requests and component.manual:  # PRs wait on manual ones only
        deployed_at = int(newest.created_at.timestamp()) if newest.created_at else int(time.time())
        deploy = Deployment(component.name, sha, deployed_at, source="record-deployment", url=log_url)
        follow_pull_requests(repo, git, config, deploy)
    return 0


def follow_pull_requests(repo, git, config, deploy: Deployment) -> None:
    """The merged pull requests this deploy carries lose `requires-manual-deploy` (once every component
    they impacted runs them) and say so in their comment. A failure here is a warning: the deploy is
    recorded, and the scheduled monitor catches up."""
    desk = PullRequestDesk(
        repo, config, repo_url=actions_io.repo_url(), git=git, branch=actions_io.default_branch() or "main"
    )
    try:
        outcome = follow(
            desk, lambda name: [deploy] if name == deploy.component else [], git.contains, only=deploy.component
        )
    except DualDeployError as error:
        actions_io.annotate(
            "warning",
            f"the merged pull requests were not updated: {error.message}. Grant `pull-requests: write` "
            "to the deploy job; the monitor catches up meanwhile.",
            title="dualdeploy: record-deployment could not update pull requests",
        )
        return
    for line in outcome.actions:
        print(line)
    waiting = [life.number for life in outcome.lives if deploy.component in life.waiting]
    print(
        f"pull requests: {len(outcome.lives)} waiting before, "
        f"{len(outcome.lives) - len(waiting)} no longer waiting for {deploy.component}"
    )
    for warning in outcome.warnings:
        actions_io.annotate("warning", warning, title="dualdeploy: record-deployment")


def run_key_of(deployment) -> str | None:
    """The run that recorded a deployment; None for one made by another tool."""
    from github.GithubException import BadAttributeException

    try:
        payload = deployment.payload
    except BadAttributeException:  # a string payload: GitHub allows one, PyGithub expects an object
        return None
    return payload.get("dualdeploy_run") if isinstance(payload, dict) else None


def run_identity() -> str:
    """This workflow run and attempt, or 'local' outside Actions."""
    run_id = os.environ.get("GITHUB_RUN_ID")
    return f"{run_id}/{os.environ.get('GITHUB_RUN_ATTEMPT', '1')}" if run_id else "local"

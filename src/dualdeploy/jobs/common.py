"""What several jobs share: the repository, the config, the token, and the drift of components."""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from dualdeploy import actions_io
from dualdeploy.changes import Git, History
from dualdeploy.config import DEFAULT_CONFIG_PATH, Component, Config, load_config
from dualdeploy.deployments import DeploymentReader, parse_given
from dualdeploy.drift import ComponentPaths, Deployment, Drift, classify, relevant_commits
from dualdeploy.errors import DualDeployError


def open_config(args: argparse.Namespace) -> tuple[Git, Config]:
    git = Git(args.repo)
    config_path = args.config or DEFAULT_CONFIG_PATH
    return git, load_config(Path(args.repo) / config_path, display_path=config_path)


def now_from(args: argparse.Namespace) -> int:
    """The current time, or --now (ISO 8601 or unix seconds) so a run can be replayed."""
    value = getattr(args, "now", None)
    if not value:
        return int(time.time())
    try:
        return int(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DualDeployError(f"must be ISO 8601 or unix seconds, not {value!r}", key="--now") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())


def github_repo(args: argparse.Namespace):
    """The PyGithub repository of this run, or None without a token (a local dry run)."""
    token = getattr(args, "github_token", None) or ""
    repository = os.environ.get("GITHUB_REPOSITORY") or getattr(args, "repository", None)
    if not token or not repository:
        return None
    from dualdeploy import github

    actions_io.mask(token)
    return github.connect(token).get_repo(repository)


def deployment_reader(args: argparse.Namespace, git: Git, config: Config) -> DeploymentReader:
    """Providers for this run: GitHub when a token is there, plus any deployed-shas given."""
    return DeploymentReader(
        github_repo(args),
        default_branch=os.environ.get("DD_DEFAULT_BRANCH") or None,
        given=parse_given(getattr(args, "deployed_shas", None)),
    )


def select_components(config: Config, names: str | None, *, default_manual: bool = True) -> tuple[Component, ...]:
    """Components named in a comma/space/newline separated list, or every manual one (or all)."""
    if names and names.strip():
        wanted = [name for name in names.replace(",", " ").split() if name]
        return tuple(config.component(name) for name in wanted)
    return config.manual_components() if default_manual else config.components


@dataclass(frozen=True)
class State:
    """The drift of each selected component at one target commit."""

    target: str
    drifts: tuple[Drift, ...]


def assess(git: Git, config: Config, components: tuple[Component, ...], target: str, reader: DeploymentReader) -> State:
    deployments = [resolve_sha(git, deployment) for deployment in read_all(reader, components)]
    known = git.existing({deployment.sha for deployment in deployments if deployment.sha})
    history = History(git, target, sorted(known))
    paths = ComponentPaths(config.filters())
    paths.index(list(history.commits.values()))
    drifts = []
    for component, deployment in zip(components, deployments, strict=True):
        filters = [f"component:{component.name}", *(f"shared:{group}" for group in component.uses)]
        if deployment.sha is None or deployment.sha not in known:
            drifts.append(classify(deployment, known=False, ancestor=False, pending=()))
            continue
        ancestor = history.is_ancestor(deployment.sha)
        pending = relevant_commits(paths, filters, history.between(deployment.sha))
        extra = () if ancestor else relevant_commits(paths, filters, history.extra(deployment.sha))
        drifts.append(classify(deployment, known=True, ancestor=ancestor, pending=pending, extra=extra))
    return State(target=target, drifts=tuple(drifts))


READ_WORKERS = 8


def read_all(reader: DeploymentReader, components: tuple[Component, ...]) -> list[Deployment]:
    """Each component's deployment, read a few at a time: the requests wait on the network, not on us."""
    if len(components) < 2 or getattr(reader, "repo", None) is None:
        return [reader.read(component) for component in components]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        return list(pool.map(reader.read, components))


def resolve_sha(git: Git, deployment: Deployment) -> Deployment:
    """A short sha (from a version endpoint, say) made full; an unknown one is left for `classify`."""
    if deployment.sha and len(deployment.sha) < 40:
        full = git.try_resolve(deployment.sha)
        if full:
            from dataclasses import replace

            return replace(deployment, sha=full)
    return deployment


def slack_webhook(config: Config) -> str | None:
    """The Slack webhook URL: the action's secret input (DD_SLACK_WEBHOOK_URL), else the environment
    variable the config names in notify.slack.webhook-secret. Masked as soon as it is read."""
    from dualdeploy.notify import webhook_from_env

    url = webhook_from_env("DD_SLACK_WEBHOOK_URL")
    if url is None and config.slack is not None:
        url = webhook_from_env(config.slack.webhook_secret)
    return url

"""What several jobs share: their arguments read into the repository, the config, the token, the reader."""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from dualdeploy import actions_io
from dualdeploy.assessment import unknown_line
from dualdeploy.changes import Git
from dualdeploy.config import DEFAULT_CONFIG_PATH, Component, Config, load_config
from dualdeploy.deployments import DeploymentReader, parse_given
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


def deployment_reader(
    args: argparse.Namespace, git: Git, config: Config, *, token_required_in_actions: bool = False
) -> DeploymentReader:
    """Providers for this run: GitHub when a token is there, plus any deployed-shas given.

    With `token_required_in_actions` (the checks), a missing token in Actions fails the run wherever
    GitHub is the only way to know a deployed commit; on a laptop such a component is unknown (and
    `on-unknown` decides)."""
    given = parse_given(getattr(args, "deployed_shas", None))
    config.check_names(given, "deployed-shas")
    return DeploymentReader(
        github_repo(args),
        default_branch=os.environ.get("DD_DEFAULT_BRANCH") or None,
        given=given,
        token_required=token_required_in_actions and actions_io.in_actions(),
    )


def select_components(config: Config, names: str | None, *, default_manual: bool = True) -> tuple[Component, ...]:
    """Components named in a comma/space/newline separated list, or every manual one (or all)."""
    if names and names.strip():
        wanted = [name for name in names.replace(",", " ").split() if name]
        return tuple(config.component(name) for name in wanted)
    return config.manual_components() if default_manual else config.components


def parse_on_unknown(value: str | None) -> str:
    """`on-unknown`: fail (the default: a component nobody can see is never a pass) or warn."""
    choice = (value or "fail").strip().lower()
    if choice not in ("fail", "warn"):
        raise DualDeployError(f"must be 'fail' or 'warn', not {value!r}", key="on-unknown")
    return choice


def annotate_unknown(unknown, level: str) -> None:
    """One annotation per component the suite cannot see, with the cause and the fix."""
    for drift in unknown:
        actions_io.annotate(level, unknown_line(drift), title=f"dualdeploy: cannot tell what {drift.component} runs")


def unknown_notes(unknown, *, blind: bool, on_unknown: str) -> list[str]:
    """The job summary's note per component the suite cannot see: failing or a warning, as chosen."""
    return [f"{'Fails' if blind else 'Warning'} (on-unknown: {on_unknown}): {unknown_line(d)}" for d in unknown]


def slack_webhook(config: Config) -> str | None:
    """The Slack webhook URL: the action's secret input (DD_SLACK_WEBHOOK_URL), else the environment
    variable the config names in notify.slack.webhook-secret. Masked as soon as it is read."""
    from dualdeploy.notify import webhook_from_env

    url = webhook_from_env("DD_SLACK_WEBHOOK_URL")
    if url is None and config.slack is not None:
        url = webhook_from_env(config.slack.webhook_secret)
    return url


def target_of(git: Git, args: argparse.Namespace) -> str:
    """The commit just deployed: --target-sha, else the workflow's GITHUB_SHA, else HEAD."""
    return git.resolve(getattr(args, "target_sha", None) or os.environ.get("GITHUB_SHA") or "HEAD", what="--target-sha")


def parse_minutes(text: str | None, default: int) -> int:
    if text in (None, ""):
        return default * 60
    try:
        minutes = float(text)
    except ValueError:
        raise DualDeployError(f"must be a number of minutes, not {text!r}", key="max-age-minutes") from None
    if minutes < 0:
        raise DualDeployError("must not be negative", key="max-age-minutes")
    return int(minutes * 60)


def check_model(
    git: Git, config: Config, root: str | Path, *, branch: str, uncovered: bool = False, text: str | None = None
):
    """The config checks (`dualdeploy.checks`) on the tracked files and workflows of the checkout;
    `text` is the config's text when it is not the file at `config.path` (init's proposal)."""
    from dualdeploy.checks import Repository, check_config
    from dualdeploy.config import key_lines
    from dualdeploy.workflows import read_workflows

    files = tuple(git.tracked_files())
    repository = Repository(files=files, workflows=read_workflows(root, files), default_branch=branch)
    try:
        lines = key_lines(text if text is not None else (Path(root) / config.path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        lines = {}
    return check_config(config, repository, lines=lines, uncovered=uncovered)


def default_branch(git: Git, given: str | None = None) -> str:
    """The branch deploys run on: --default-branch, DD_DEFAULT_BRANCH or the event's, else git's."""
    known = given or actions_io.default_branch()
    if known:
        return known
    try:
        return git.default_branch().removeprefix("origin/")
    except DualDeployError:
        raise DualDeployError(
            "cannot tell the default branch (no origin HEAD, no local main or master): pass --default-branch",
            key="--default-branch",
        ) from None


def pull_request_report(
    repo, git: Git, config: Config, reader: DeploymentReader, drifts, now: int, *, write: bool, metrics: bool = True
):
    """The merged pull requests still waiting for a manual deploy, followed against what each
    component runs (comment and label updated when `write`), and the merge-to-deploy metrics (when
    `metrics`: one more listing and each pull request of the window read); None without a token."""
    if repo is None:
        return None
    from dualdeploy.pull_requests import WINDOW_DAYS, DeployLookup, PullRequestDesk, report

    desk = PullRequestDesk(
        repo, config, repo_url=actions_io.repo_url(), git=git, branch=actions_io.default_branch() or "main"
    )
    current = {drift.component: drift.deployment for drift in drifts}
    lookup = DeployLookup(reader, config, now - WINDOW_DAYS * 86400, current)
    return report(
        desk,
        lookup,
        git.contains,
        now=now,
        target_minutes=config.monitor.lag_target_minutes,
        write=write,
        with_metrics=metrics,
    )

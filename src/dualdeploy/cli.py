"""`dualdeploy`: every job of the suite, for a terminal and for the composite actions.

The actions pass their inputs as DD_* environment variables; each option below reads the one
named after it, so `dualdeploy detect` behaves the same in a workflow and on a laptop.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from dualdeploy import __version__, actions_io
from dualdeploy.errors import EXIT_USAGE, DualDeployError


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "")
    return value if value.strip() else default


def _flag(name: str, default: bool) -> bool:
    value = (_env(name) or "").strip().lower()
    if not value:
        return default
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise DualDeployError(f"{name} must be true or false, not {value!r}", key=name)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2 like every other user error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise DualDeployError(f"{message} (see `{self.prog} --help`)")


def _switch(parser: argparse.ArgumentParser, name: str, default: bool, help_text: str) -> None:
    """`--name` / `--no-name`, defaulting to the DD_NAME variable (how the actions pass it), else `default`."""
    variable = "DD_" + name.upper().replace("-", "_")
    parser.add_argument(
        f"--{name}", action=argparse.BooleanOptionalAction, default=_flag(variable, default), help=help_text
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        default=_env("DD_REPO", _env("GITHUB_WORKSPACE", ".")),
        help="path of the git repository (default: the current directory)",
    )
    parser.add_argument(
        "--config", default=_env("DD_CONFIG"), help="config file, relative to --repo (default: .github/dual-deploy.yml)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dualdeploy", description="Make sure merged code reaches production, manual deploys included."
    )
    parser.add_argument("--version", action="version", version=f"dualdeploy {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    detect = commands.add_parser(
        "detect",
        aliases=["detect-agent-impact"],
        help="which components a change impacts (and the PR comment in Actions)",
    )
    detect.set_defaults(job="detect")
    _add_common(detect)
    detect.add_argument(
        "--base", default=_env("DD_BASE"), help="base ref (default: the default branch, or the event's)"
    )
    detect.add_argument("--head", default=_env("DD_HEAD"), help="head ref (default: HEAD, or the event's)")
    detect.add_argument(
        "--mode",
        choices=("pr", "push"),
        default=_env("DD_MODE"),
        help="pr: merge base of base and head (three dots); push: base..head (default: pr)",
    )
    detect.add_argument("--format", choices=("json", "markdown", "text"), default=_env("DD_FORMAT", "text"))
    _switch(detect, "comment", True, "in a pull request workflow, keep the sticky comment (default: on)")
    _switch(detect, "labels", True, "in a pull request workflow, keep the labels (default: on)")
    detect.add_argument(
        "--github-token",
        default=_env("DD_GITHUB_TOKEN", _env("GITHUB_TOKEN")),
        help="token for the comment and labels (default: $GITHUB_TOKEN)",
    )

    _add_state_commands(commands)
    _add_adoption_commands(commands)
    return parser


def _add_token(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--github-token",
        default=_env("DD_GITHUB_TOKEN", _env("GITHUB_TOKEN")),
        help="token for GitHub (default: $GITHUB_TOKEN; without one, a dry run)",
    )
    parser.add_argument(
        "--repository", default=_env("GITHUB_REPOSITORY"), help="owner/name on GitHub (default: $GITHUB_REPOSITORY)"
    )


def _add_deployed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deployed-shas",
        default=_env("DD_DEPLOYED_SHAS"),
        help='deployed commits given directly, as JSON: {"tenant-agent": "<sha>"}',
    )
    parser.add_argument(
        "--target-sha",
        default=_env("DD_TARGET_SHA"),
        help="the commit production runs (default: $GITHUB_SHA, else HEAD)",
    )
    parser.add_argument("--now", default=_env("DD_NOW"), help="the time to judge by (ISO 8601 or unix seconds)")


def _add_state_options(parser: argparse.ArgumentParser, components_help: str) -> None:
    """What every command that reads deployed state takes: repo, config, token, deployed shas, components."""
    _add_common(parser)
    _add_token(parser)
    _add_deployed(parser)
    parser.add_argument("--components", default=_env("DD_COMPONENTS"), help=components_help)


def _add_on_unknown(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-unknown",
        default=_env("DD_ON_UNKNOWN", "fail"),
        help="when a component's deployed commit cannot be established: fail (exit 1) or warn (default: fail)",
    )


def _add_state_commands(commands) -> None:
    """The commands that read what is deployed: sync-check, status, record."""
    sync = commands.add_parser(
        "sync-check",
        aliases=["post-deploy-sync-check"],
        help="after a production deploy: are manual components behind it?",
    )
    sync.set_defaults(job="sync_check")
    _add_state_options(sync, "components to check, comma separated (default: every manual one)")
    sync.add_argument(
        "--grace-minutes",
        default=_env("DD_GRACE_MINUTES", "5"),
        help="a stale component fails only once its oldest pending commit is older (default: 5)",
    )
    sync.add_argument("--on-stale", default=_env("DD_ON_STALE", "fail"), help="fail (exit 1) or warn (default: fail)")
    _add_on_unknown(sync)
    sync.add_argument("--report", default=_env("DD_REPORT"), help="where to write the JSON report")
    sync.add_argument(
        "--format",
        choices=("text", "json"),
        default=_env("DD_FORMAT", "text"),
        help="json: the report on stdout, the text on stderr (default: text)",
    )
    _switch(sync, "fail-on-notify-error", False, "exit 1 when Slack cannot be reached (default: a warning)")

    status = commands.add_parser(
        "status",
        aliases=["step-summary-dashboard", "dashboard"],
        help="every component's deployed commit, pending changes and status",
    )
    status.set_defaults(job="dashboard")
    _add_state_options(status, "components to show, comma separated (default: all)")
    status.add_argument(
        "--job-results",
        default=_env("DD_JOB_RESULTS"),
        help='this run\'s deploy results: {"api": "success"} or toJSON(needs)',
    )
    status.add_argument("--format", choices=("text", "json", "markdown"), default=_env("DD_FORMAT", "text"))

    for name, aliases, job, help_text in (
        ("monitor", ["monitor-agents"], "monitor", "scheduled: keep one alert issue about overdue manual components"),
        ("metrics", [], "metrics", "deploy lag and deploy gaps per manual component over 30 days"),
    ):
        watch = commands.add_parser(name, aliases=aliases, help=help_text)
        watch.set_defaults(job=job)
        _add_state_options(watch, "components to watch, comma separated (default: every manual one)")
        watch.add_argument(
            "--max-age-minutes",
            default=_env("DD_MAX_AGE_MINUTES"),
            help="a stale component is overdue once its oldest pending commit is older "
            "(default: the config's monitor.max-age-minutes, else 60)",
        )
        watch.add_argument("--format", choices=("text", "json"), default=_env("DD_FORMAT", "text"))
        _add_on_unknown(watch)
        if job == "monitor":
            watch.add_argument(
                "--issue-mode",
                choices=("single", "per-component"),
                default=_env("DD_ISSUE_MODE"),
                help="one alert issue, or one per component (default: the config's)",
            )
            _switch(watch, "fail-on-overdue", True, "exit 1 when something is overdue")
            _switch(watch, "metrics", True, "compute the lag metrics (default: on)")
            _switch(watch, "pull-requests", True, "catch up: update the merged PRs deploys carry (default: on)")
            _switch(watch, "fail-on-notify-error", False, "exit 1 when Slack cannot be reached (default: a warning)")

    explain = commands.add_parser(
        "explain",
        help="why isn't my change live? for a commit, a pull request or a path: each component it reaches, "
        "deployed or pending (and what to run)",
    )
    explain.set_defaults(job="explain")
    _add_common(explain)
    _add_token(explain)
    explain.add_argument(
        "--deployed-shas",
        default=_env("DD_DEPLOYED_SHAS"),
        help='deployed commits given directly, as JSON: {"tenant-agent": "<sha>"}',
    )
    explain.add_argument(
        "path", nargs="?", help="a path: explain the newest commit of the default branch that changed it"
    )
    explain.add_argument("--commit", default=_env("DD_COMMIT"), help="the commit to explain")
    explain.add_argument("--pr", default=_env("DD_PR"), help="the pull request to explain (its merge commit)")
    explain.add_argument("--format", choices=("text", "json"), default=_env("DD_FORMAT", "text"))
    explain.add_argument(
        "--on-unknown",
        default=_env("DD_ON_UNKNOWN", "fail"),
        help="fail (exit 2) or warn (exit 0) when a component's deployed commit cannot be read (default: fail)",
    )
    _switch(explain, "fail-on-pending", False, "exit 1 when a component does not run the change yet (default: 0)")

    record = commands.add_parser(
        "record", aliases=["record-deployment"], help="record that a component now runs a commit (a GitHub deployment)"
    )
    record.set_defaults(job="record")
    _add_common(record)
    _add_token(record)
    record.add_argument(
        "--component",
        default=_env("DD_COMPONENT"),
        required=not _env("DD_COMPONENT"),
        help="the component that was deployed",
    )
    record.add_argument("--sha", default=_env("DD_SHA"), help="the deployed commit (default: $GITHUB_SHA, else HEAD)")
    record.add_argument(
        "--state", default=_env("DD_STATE", "success"), help="in_progress, success, failure, ... (default: success)"
    )
    record.add_argument("--environment-url", default=_env("DD_ENVIRONMENT_URL"), help="URL of the running service")
    _switch(record, "pull-requests", True, "after a success, update the merged PRs it carries (default: on)")


def _add_adoption_commands(commands) -> None:
    """The commands that set a repository up: init, docs (alias generate), labels."""
    init = commands.add_parser(
        "init", help="propose .github/dual-deploy.yml from the repository's folders and workflows"
    )
    init.set_defaults(job="init")
    _add_common(init)
    init.add_argument("--yes", action="store_true", help="write the proposal without asking")
    init.add_argument("--dry-run", action="store_true", help="only print the proposal")
    init.add_argument("--force", action="store_true", help="replace an existing config file")

    docs = commands.add_parser(
        "docs", aliases=["generate"], help="write the PR template, CODEOWNERS, runbook, ... from the config"
    )
    docs.set_defaults(job="docs")
    _add_common(docs)
    docs.add_argument(
        "--check",
        action="store_true",
        default=_flag("DD_CHECK", False),
        help="write nothing; print a diff and exit 1 when a generated part is out of date (for CI)",
    )
    docs.add_argument(
        "--only",
        default=_env("DD_ONLY"),
        help="targets, comma separated: pr-template, codeowners, runbook, quick-reference, onboarding, ...",
    )
    docs.add_argument(
        "--github-token",
        default=_env("DD_GITHUB_TOKEN"),
        help="token to fill the status page with live data (default: none, and the page says unknown)",
    )
    docs.add_argument(
        "--now",
        default=_env("DD_NOW"),
        help="the status page's time, for ages and the metrics' window (ISO 8601 or unix seconds)",
    )
    docs.add_argument(
        "--repository", default=_env("GITHUB_REPOSITORY"), help="owner/name on GitHub (default: $GITHUB_REPOSITORY)"
    )

    check = commands.add_parser(
        "check", help="does the config describe the repository: patterns, deploy workflows, triggers, inputs"
    )
    check.set_defaults(job="check")
    _add_common(check)
    check.add_argument("--format", choices=("text", "json", "github"), default=_env("DD_FORMAT", "text"))
    check.add_argument(
        "--uncovered",
        action="store_true",
        default=_flag("DD_UNCOVERED", False),
        help="also list the tracked folders that belong to no component (info)",
    )
    check.add_argument(
        "--default-branch",
        default=_env("DD_DEFAULT_BRANCH"),
        help="the branch deploys run on (default: the event's, else origin's HEAD, else main or master)",
    )

    announce = commands.add_parser(
        "announce",
        help="create or update the one GitHub Discussion that announces the dual deployment (quick reference, links)",
    )
    announce.set_defaults(job="announce")
    _add_common(announce)
    _add_token(announce)
    announce.add_argument(
        "--category",
        default=_env("DD_CATEGORY", "Announcements"),
        help="the discussion category, by name (default: Announcements)",
    )
    _switch(announce, "pin-issue", False, "keep one pinned issue instead of a discussion (no API pins one)")
    _switch(announce, "fail-on-notify-error", False, "exit 1 when Slack cannot be reached (default: a warning)")

    labels = commands.add_parser("labels", help="create or update the suite's labels, with colours and descriptions")
    labels.set_defaults(job="labels")
    _add_token(labels)


def report_requests() -> None:
    """How many HTTP requests the run sent to GitHub, when it talked to GitHub at all."""
    github = sys.modules.get("dualdeploy.github")
    if github is not None and github.REQUESTS.count:
        print(f"GitHub API requests: {github.REQUESTS.count}", file=sys.stderr, flush=True)


class _ReaderMayLeave:
    """stdout for a reader that may stop reading (`dualdeploy docs --check | head -1`): once the pipe
    is closed, the rest of the output is dropped and the job runs on, so the exit status is still
    the job's own (a closed pipe never turns a failure into success)."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.reader_left = False

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop_the_rest()
        return len(text)

    def flush(self) -> None:
        if not self.reader_left:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop_the_rest()

    def _drop_the_rest(self) -> None:
        self.reader_left = True
        try:  # what is still buffered goes nowhere, also when the interpreter flushes at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    stdout = sys.stdout
    sys.stdout = guarded = _ReaderMayLeave(stdout)
    try:
        return _main(argv)
    finally:
        guarded.flush()
        sys.stdout = stdout


def _main(argv: Sequence[str] | None) -> int:
    actions_io.commands_to_stderr(False)
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_USAGE
        actions_io.commands_to_stderr(getattr(args, "format", None) == "json")
        if getattr(args, "repo", None) == ".":
            args.repo = _checkout_root(getattr(args, "config", None))
        job = importlib.import_module(f"dualdeploy.jobs.{args.job}")
        status = job.run(args)
        report_requests()
        return status
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 (a GitHub failure that escaped a call() is classified too)
        failure = error if isinstance(error, DualDeployError) else _github_failure(error)
        if failure is None:
            raise
        print(f"dualdeploy: error: {failure.one_line()}", file=sys.stderr)
        actions_io.annotate(
            "error",
            failure.message,
            file=failure.file,
            line=failure.line,
            title=f"dualdeploy: {failure.key}" if failure.key else "dualdeploy",
        )
        return failure.exit_status


def _checkout_root(config: str | None) -> str:
    """The top of the git checkout around the current folder, so the commands work from any folder
    of it, like git; "." at its top, outside a checkout, or in a folder that has the config itself
    (a monorepo kept in a folder of a bigger checkout, like examples/monorepo/)."""
    from dualdeploy.config import DEFAULT_CONFIG_PATH

    if os.path.exists(".git") or os.path.exists(config or DEFAULT_CONFIG_PATH):
        return "."
    import subprocess

    try:
        found = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False)
    except OSError:
        return "."
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else "."


def _github_failure(error: Exception) -> DualDeployError | None:
    """A PyGithub or HTTP error raised outside `github.call`: classified the same way."""
    github = sys.modules.get("dualdeploy.github")
    if github is None:
        return None
    import requests
    from urllib3.exceptions import HTTPError

    if not isinstance(error, (github.GithubException, requests.RequestException, HTTPError)):
        return None
    return github.classify("talk to GitHub", "the permissions the action's README lists", error)

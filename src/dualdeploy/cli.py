"""`dualdeploy`: every job of the suite, for a terminal and for the composite actions.

The actions pass their inputs as DD_* environment variables; each option below reads the one
named after it, so `dualdeploy detect` behaves the same in a workflow and on a laptop.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from dualdeploy import __version__
from dualdeploy.actions_io import annotate
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

    detect = commands.add_parser("detect", help="which components a change impacts (and the PR comment in Actions)")
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
    detect.add_argument(
        "--comment",
        action=argparse.BooleanOptionalAction,
        default=_flag("DD_COMMENT", True),
        help="in a pull request workflow, keep the sticky comment (default: on)",
    )
    detect.add_argument(
        "--labels",
        action=argparse.BooleanOptionalAction,
        default=_flag("DD_LABELS", True),
        help="in a pull request workflow, keep the labels (default: on)",
    )
    detect.add_argument(
        "--github-token",
        default=_env("DD_GITHUB_TOKEN", _env("GITHUB_TOKEN")),
        help="token for the comment and labels (default: $GITHUB_TOKEN)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_USAGE
        if args.command == "detect":
            from dualdeploy.jobs import detect

            return detect.run(args)
        raise DualDeployError(f"unknown command {args.command!r}")
    except DualDeployError as error:
        print(f"dualdeploy: error: {error.one_line()}", file=sys.stderr)
        annotate(
            "error",
            error.message,
            file=error.file,
            line=error.line,
            title=f"dualdeploy: {error.key}" if error.key else "dualdeploy",
        )
        return error.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0

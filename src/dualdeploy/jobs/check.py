"""`dualdeploy check`: the config, the deploy workflows and the repository agree.

Reads the tracked file list (paths only) and the workflows of the checkout, hands them with the
config to `dualdeploy.checks`, and prints the findings as text, JSON or GitHub annotations.
Exit 0 without an error finding, 1 with one, 2 when the config itself is not valid.
"""

from __future__ import annotations

import argparse
import json
import sys

from dualdeploy import actions_io
from dualdeploy.checks import ERROR, Finding, annotations, check_report, has_errors
from dualdeploy.errors import EXIT_GAP, EXIT_OK
from dualdeploy.jobs import common


def run(args: argparse.Namespace) -> int:
    git, config = common.open_config(args)
    branch = common.default_branch(git, args.default_branch)
    findings = common.check_model(git, config, args.repo, branch=branch, uncovered=args.uncovered)
    if args.format == "json":
        print(json.dumps({"findings": [finding.to_json() for finding in findings]}, separators=(", ", ": ")))
    elif args.format == "github":
        for line in annotations(findings):
            print(line)
        print(summary_line(findings), file=sys.stderr)
    else:
        from dualdeploy.render import render_text

        print(render_text("check.txt.j2", **check_report(config, findings)), end="")
        if actions_io.in_actions():
            for line in annotations(findings):
                print(line)
    if actions_io.in_actions() and findings:
        from dualdeploy.render import render

        actions_io.append_summary(render("check_findings.md.j2", findings=findings, config=config.path))
    return EXIT_GAP if has_errors(findings) else EXIT_OK


def count(findings: tuple[Finding, ...], severity: str) -> int:
    return sum(1 for finding in findings if finding.severity == severity)


def summary_line(findings: tuple[Finding, ...]) -> str:
    errors = count(findings, ERROR)
    return f"dualdeploy check: {errors} error{'s' if errors != 1 else ''}, {len(findings) - errors} other finding(s)"

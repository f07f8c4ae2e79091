"""Does the config describe the repository? A pure function from the config, the tracked files and
the workflows to findings, each with a kind, a severity, where it points and how to fix it.

The config is the suite's model of the monorepo, and a rotten model gives confident wrong answers:
a pattern with a typo matches nothing, so a change there "needs no deploy"; a deploy workflow whose
`paths:` trigger misses the shared code a component is built from never redeploys it. `dualdeploy
check` reports these; `detect` and `init` run the same checks.
"""

from __future__ import annotations

import difflib
import posixpath
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from dualdeploy.actions_io import workflow_command
from dualdeploy.config import Component, Config
from dualdeploy.patterns import FilterSet, parse_pattern
from dualdeploy.render import render_text
from dualdeploy.workflows import WORKFLOWS_DIR, Workflow

ERROR, WARNING, INFO = "error", "warning", "info"
# Events that never run a workflow because code landed on the default branch.
BY_HAND_EVENTS = frozenset({"workflow_dispatch", "pull_request", "pull_request_target"})
KINDS = (
    "no-match",
    "missing-workflow",
    "bad-workflow",
    "not-dispatchable",
    "not-automatic",
    "trigger-branch",
    "dispatch-inputs",
    "missing-trigger",
    "uncovered",
)


@dataclass(frozen=True)
class Finding:
    """One way the config and the repository disagree."""

    kind: str
    severity: str  # error | warning | info
    message: str  # what is wrong and how to fix it, one line
    component: str | None = None
    group: str | None = None
    file: str | None = None
    line: int | None = None
    paths: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "component": self.component,
            "group": self.group,
            "file": self.file,
            "line": self.line,
            "paths": list(self.paths),
            "message": self.message,
        }


@dataclass(frozen=True)
class Repository:
    """What the checks look at: the tracked files, the workflows by file name, the default branch."""

    files: tuple[str, ...]
    workflows: Mapping[str, Workflow] = field(default_factory=dict)
    default_branch: str = "main"


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(finding.severity == ERROR for finding in findings)


def annotations(findings: Iterable[Finding], *, error_level: str = "error") -> list[str]:
    """One workflow command per finding; detect passes error_level="warning", so a PR never fails on them."""
    levels = {ERROR: error_level, WARNING: "warning", INFO: "notice"}
    return [
        workflow_command(
            levels[finding.severity],
            finding.message,
            file=finding.file,
            line=finding.line,
            title=f"dualdeploy check: {finding.kind}",
        )
        for finding in findings
    ]


class _Tree:
    """Folder facts of the tracked files: how many files are under each folder, and its subfolders."""

    def __init__(self, files: Iterable[str]) -> None:
        self.counts: Counter[str] = Counter()
        self.children: dict[str, set[str]] = defaultdict(set)
        for path in files:
            for folder in _ancestors(path):
                self.counts[folder] += 1
            parent = ""
            for segment in path.split("/")[:-1]:
                self.children[parent].add(segment)
                parent += segment + "/"

    def collapse(self, paths: Iterable[str]) -> list[tuple[str, int, int]]:
        """`paths` as (folder/ or file, how many of them, how many files there are): each path under
        its topmost folder that holds nothing else; the others by their folder, or one by one."""
        paths = sorted(set(paths))
        inside: Counter[str] = Counter()
        for path in paths:
            for folder in _ancestors(path):
                inside[folder] += 1
        groups: dict[str, list[str]] = defaultdict(list)
        for path in paths:
            folders = _ancestors(path)
            whole = next((folder for folder in folders if folder and inside[folder] == self.counts[folder]), None)
            groups[whole or folders[-1]].append(path)
        entries = []
        for folder, members in sorted(groups.items()):
            if folder and len(members) == self.counts[folder]:
                entries.append((folder, len(members), len(members)))
            elif len(members) <= 3 or not folder:
                entries.extend((member, 1, 1) for member in members)
            else:
                entries.append((folder, len(members), self.counts[folder]))
        return entries


def _ancestors(path: str) -> list[str]:
    """The folders above a path, topmost first, each with a trailing slash ("" is the root)."""
    parts = path.split("/")[:-1]
    folders, current = [""], ""
    for part in parts:
        current += part + "/"
        folders.append(current)
    return folders


def describe(entries: list[tuple[str, int, int]]) -> tuple[str, ...]:
    """Collapsed paths as a person reads them: `server/src/lib/ (12 files)`, `a/ (2 of 9 files)`, `a/b.ts`."""
    shown = []
    for entry, count, total in entries:
        if not entry.endswith("/"):
            shown.append(entry)
        elif count == total:
            shown.append(f"{entry} ({count} file{'s' if count != 1 else ''})")
        else:
            shown.append(f"{entry} ({count} of {total} files)")
    return tuple(shown)


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


class _Checker:
    def __init__(self, config: Config, repository: Repository, lines: Mapping[str, int]) -> None:
        self.config = config
        self.repository = repository
        self.lines = lines
        self.findings: list[Finding] = []

    @cached_property
    def tree(self) -> _Tree:
        return _Tree(self.repository.files)

    @cached_property
    def matched(self) -> dict[str, list[str]]:
        """The tracked files of each component and shared group (`component:<name>`, `shared:<name>`)."""
        return FilterSet(self.config.filters()).match(self.repository.files)

    def line(self, key: str, fallback: int | None) -> int | None:
        return self.lines.get(key) or fallback

    def add(self, kind: str, severity: str, message: str, facts: dict[str, object], **where: object) -> None:
        """A finding whose message is `templates/check_message.txt.j2`'s `message`, told `facts`."""
        text = render_text("check_message.txt.j2", message=message, **facts).strip()
        self.findings.append(Finding(kind, severity, text, **where))  # type: ignore[arg-type]

    # no-match

    def patterns(self) -> None:
        owners: list[tuple[str, str, Component | None, tuple[str, ...], int]] = [
            (f"components.{c.name}.paths", c.name, c, c.paths, c.line) for c in self.config.components
        ]
        owners += [(f"shared.{g.name}", g.name, None, g.paths, g.line) for g in self.config.shared]
        single = {
            f"{key}[{index}]": (text,)
            for key, _, _, patterns, _ in owners
            for index, text in enumerate(patterns)
            if not text.startswith("!")
        }
        hits = FilterSet(single).match(self.repository.files)
        for key, name, component, patterns, owner_line in owners:
            target = {"component": name} if component else {"group": name}
            owner = "component" if component else "shared group"
            missing = [
                (index, text)
                for index, text in enumerate(patterns)
                if not text.startswith("!") and f"{key}[{index}]" not in hits
            ]
            for index, text in missing:
                suggestion = self.suggest(text)
                self.add(
                    "no-match",
                    ERROR,
                    "pattern-matches-nothing",
                    {"pattern": text, "owner": owner, "name": name, "suggestion": suggestion},
                    file=self.config.path,
                    line=self.line(f"{key}[{index}]", owner_line),
                    paths=(text,),
                    **target,
                )
            prefix = "component" if component else "shared"
            if not missing and f"{prefix}:{name}" not in self.matched:
                self.add(
                    "no-match",
                    ERROR,
                    "exclusions-remove-everything",
                    {"owner": owner, "name": name},
                    file=self.config.path,
                    line=self.line(key, owner_line),
                    paths=patterns,
                    **target,
                )

    def suggest(self, text: str) -> str | None:
        """The pattern with its first missing folder (or file) replaced by the closest existing one."""
        pattern = parse_pattern(text)
        literal = pattern.glob if pattern.literal else pattern.prefix
        parent = ""
        for segment in [part for part in literal.split("/") if part]:
            if parent + segment + "/" in self.tree.counts or parent + segment in self.repository.files:
                parent += segment + "/"
                continue
            names = set(self.tree.children.get(parent, ()))
            names.update(
                path[len(parent) :]
                for path in self.repository.files
                if path.startswith(parent) and "/" not in path[len(parent) :]
            )
            close = _did_you_mean(segment, names)
            return text.replace(parent + segment, parent + close, 1) if close else None
        return None

    # the deploy workflow

    def workflow(self, component: Component) -> None:
        name = component.name
        self.deployed_workflow(component)
        if not component.deploy_workflow:
            return
        config_line = self.line(f"components.{name}.deploy-workflow", component.line)
        workflows = self.repository.workflows
        workflow = workflows.get(component.deploy_workflow)
        path = f"{WORKFLOWS_DIR}/{component.deploy_workflow}"
        if workflow is None:
            close = _did_you_mean(component.deploy_workflow, workflows)
            self.add(
                "missing-workflow",
                ERROR,
                "missing-deploy-workflow",
                {"workflow": component.deploy_workflow, "name": name, "folder": WORKFLOWS_DIR, "close": close},
                component=name,
                file=self.config.path,
                line=config_line,
                paths=(path,),
            )
            return
        if workflow.problem:
            self.add(
                "bad-workflow",
                ERROR,
                "bad-workflow",
                {"path": workflow.path, "name": name, "problem": workflow.problem},
                component=name,
                file=workflow.path,
                line=workflow.problem_line,
            )
            return
        if component.manual and not workflow.dispatch:
            self.add(
                "not-dispatchable",
                ERROR,
                "not-dispatchable",
                {"workflow": workflow.name, "name": name},
                component=name,
                file=workflow.path,
                line=workflow.on_line,
                paths=(workflow.path,),
            )
        if not component.manual and set(workflow.events) <= BY_HAND_EVENTS:
            self.add(
                "not-automatic",
                ERROR,
                "not-automatic",
                {"workflow": workflow.name, "name": name, "events": workflow.events},
                component=name,
                file=workflow.path,
                line=workflow.on_line,
                paths=(workflow.path,),
            )
        push = workflow.push
        branch = self.repository.default_branch
        runs_on_default = push is not None and push.runs_on_branch(branch)
        if push is not None and not runs_on_default and (not component.manual or not workflow.dispatch):
            branch_filter = (
                "branches"
                if push.branches is not None
                else "branches-ignore"
                if push.branches_ignore is not None
                else None
            )
            self.add(
                "trigger-branch",
                ERROR,
                "trigger-branch",
                {
                    "workflow": workflow.name,
                    "name": name,
                    "branch": branch,
                    "filter": branch_filter,
                    "tags_only": push.tags and branch_filter is None,
                },
                component=name,
                file=workflow.path,
                line=push.branches_line or push.line,
            )
        self.dispatch_inputs(component, workflow, config_line)
        if runs_on_default and push is not None and push.filters_paths:
            self.triggers(component, workflow)

    def deployed_workflow(self, component: Component) -> None:
        source = component.deployed
        if source is None or source.kind != "workflow" or not source.workflow:
            return
        if source.workflow in self.repository.workflows:
            return
        close = _did_you_mean(source.workflow, self.repository.workflows)
        self.add(
            "missing-workflow",
            ERROR,
            "missing-deployed-workflow",
            {"workflow": source.workflow, "name": component.name, "folder": WORKFLOWS_DIR, "close": close},
            component=component.name,
            file=self.config.path,
            line=self.line(f"components.{component.name}.deployed.workflow", component.line),
            paths=(f"{WORKFLOWS_DIR}/{source.workflow}",),
        )

    def dispatch_inputs(self, component: Component, workflow: Workflow, config_line: int | None) -> None:
        name = component.name
        key = f"components.{name}.deploy-inputs"
        inputs_line = self.line(key, config_line)
        if component.deploy_inputs and not workflow.dispatch:
            self.add(
                "dispatch-inputs",
                ERROR,
                "inputs-without-dispatch",
                {"name": name, "workflow": workflow.name},
                component=name,
                file=self.config.path,
                line=inputs_line,
            )
            return
        if not workflow.dispatch:
            return
        declared = [item.name for item in workflow.inputs]
        for input_name, value in component.deploy_inputs:
            line = self.line(f"{key}.{input_name}", inputs_line)
            spec = workflow.input(input_name)
            problem = None
            if spec is None:
                problem = "unknown-input"
            elif spec.type == "choice" and spec.options and value not in spec.options:
                problem = "not-an-option"
            elif spec.type == "boolean" and value not in ("true", "false"):
                problem = "not-a-boolean"
            elif spec.type == "number" and not _is_number(value):
                problem = "not-a-number"
            if problem:
                facts = {
                    "name": name,
                    "workflow": workflow.name,
                    "input": input_name,
                    "value": value,
                    "declared": declared,
                    "close": _did_you_mean(input_name, declared),
                    "options": spec.options if spec else (),
                }
                self.add(
                    "dispatch-inputs",
                    ERROR,
                    problem,
                    facts,
                    component=name,
                    file=self.config.path,
                    line=line,
                )
        given = {input_name for input_name, _ in component.deploy_inputs}
        missing = [
            spec for spec in workflow.inputs if spec.required and spec.default is None and spec.name not in given
        ]
        if missing:
            self.add(
                "dispatch-inputs",
                ERROR,
                "missing-inputs",
                {"workflow": workflow.name, "name": name, "missing": missing},
                component=name,
                file=self.config.path,
                line=inputs_line,
                paths=(workflow.path,),
            )

    # missing-trigger

    def triggers(self, component: Component, workflow: Workflow) -> None:
        push = workflow.push
        assert push is not None
        own = set(self.matched.get(f"component:{component.name}", ()))
        sources: list[tuple[str | None, set[str]]] = [(None, own)]
        seen = set(own)
        for group in component.uses:
            files = set(self.matched.get(f"shared:{group}", ())) - seen
            seen |= files
            sources.append((group, files))
        triggering = push.triggering(seen)
        for group, files in sources:
            left_out = files - triggering
            if not left_out:
                continue
            entries = self.tree.collapse(left_out)
            shown = describe(entries)
            self.add(
                "missing-trigger",
                ERROR,
                "missing-trigger",
                {
                    "workflow": workflow.name,
                    "name": component.name,
                    "group": group,
                    "count": len(left_out),
                    "shown": shown,
                    "patterns": [f"{entry}**" if entry.endswith("/") else entry for entry, _, _ in entries],
                    "paths_ignore": push.paths is None,
                },
                component=component.name,
                group=group,
                file=workflow.path,
                line=push.paths_line or push.line,
                paths=shown,
            )

    # uncovered

    def uncovered(self) -> None:
        used = {group for component in self.config.components for group in component.uses}
        covered: Counter[str] = Counter()
        covered_files = {
            path
            for name, files in self.matched.items()
            if name.startswith("component:") or name.partition(":")[2] in used
            for path in files
        }
        for path in covered_files:
            for folder in _ancestors(path):
                covered[folder] += 1
        for folder in sorted(self.tree.counts):
            if not folder or covered[folder] or folder.startswith("."):
                continue
            parent = posixpath.dirname(folder.rstrip("/"))
            if parent and not covered[parent + "/"]:
                continue  # a folder above it is reported
            count = self.tree.counts[folder]
            self.add(
                "uncovered",
                INFO,
                "uncovered",
                {"folder": folder, "count": count},
                file=self.config.path,
                line=self.line("components", None),
                paths=describe([(folder, count, count)]),
            )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_report(config: Config, findings: tuple[Finding, ...]) -> dict[str, object]:
    """The context of templates/check.txt.j2: the findings and what was checked."""
    return {
        "findings": findings,
        "errors": sum(1 for finding in findings if finding.severity == ERROR),
        "warnings": sum(1 for finding in findings if finding.severity == WARNING),
        "infos": sum(1 for finding in findings if finding.severity == INFO),
        "components": len(config.components),
        "groups": len(config.shared),
        "workflows": len({c.deploy_workflow for c in config.components if c.deploy_workflow}),
        "config": config.path,
    }


def check_config(
    config: Config, repository: Repository, *, lines: Mapping[str, int] | None = None, uncovered: bool = False
) -> tuple[Finding, ...]:
    """Every finding about `config` in `repository`; `lines` are the config's key lines (config.key_lines)."""
    checker = _Checker(config, repository, lines or {})
    checker.patterns()
    for component in config.components:
        checker.workflow(component)
    if uncovered:
        checker.uncovered()
    return tuple(checker.findings)

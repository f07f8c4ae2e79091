"""GitHub Actions workflow files, as far as the suite needs them: when a workflow runs (`on:`) and
which inputs its `workflow_dispatch` takes, each with the line it is written on.

Files are read into YAML nodes rather than plain values: nodes keep line numbers, and a plain
YAML 1.1 load reads the key `on` as the boolean True. `on:` is understood in all its shapes: a
string (`on: push`), a list (`on: [push, workflow_dispatch]`) and a mapping of events to settings.
Branch and path filters are matched with GitHub's glob semantics (`dualdeploy.patterns`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dualdeploy.patterns import FilterSet, PatternError, parse_pattern

WORKFLOWS_DIR = ".github/workflows"
_TRUE = ("true", "yes", "on")


@dataclass(frozen=True)
class DispatchInput:
    """One input of `workflow_dispatch`."""

    name: str
    line: int
    required: bool = False
    default: str | None = None
    type: str = "string"  # string | choice | boolean | number | environment
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class PushTrigger:
    """`on: push` and its filters; None for a filter the workflow does not set."""

    line: int
    branches: tuple[str, ...] | None = None
    branches_ignore: tuple[str, ...] | None = None
    branches_line: int | None = None
    tags: bool = False  # tags or tags-ignore is set
    paths: tuple[str, ...] | None = None
    paths_ignore: tuple[str, ...] | None = None
    paths_line: int | None = None

    def runs_on_branch(self, branch: str) -> bool:
        """Whether a push to `branch` runs the workflow (GitHub: only tags filtered means no branch)."""
        if self.branches is not None:
            return _matches(self.branches, branch)
        if self.branches_ignore is not None:
            return not _matches(self.branches_ignore, branch)
        return not self.tags

    @property
    def filters_paths(self) -> bool:
        return self.paths is not None or self.paths_ignore is not None

    def triggering(self, paths: Iterable[str]) -> set[str]:
        """The paths a push that changes only that one file would run the workflow for."""
        paths = list(paths)
        if self.paths is not None:
            return set(_filter(self.paths).match(paths).get("filter", ()))
        if self.paths_ignore is not None:
            return set(paths) - set(_filter(self.paths_ignore).match(paths).get("filter", ()))
        return set(paths)


@dataclass(frozen=True)
class Workflow:
    """One file under .github/workflows/; `problem` says why it could not be read (then little else is set)."""

    name: str  # the file name, e.g. deploy-agents.yml
    path: str  # repo-relative
    on_line: int = 1
    events: tuple[str, ...] = ()
    push: PushTrigger | None = None
    dispatch: bool = False
    dispatch_line: int | None = None
    inputs: tuple[DispatchInput, ...] = ()
    problem: str | None = None
    problem_line: int | None = None

    def input(self, name: str) -> DispatchInput | None:
        return next((item for item in self.inputs if item.name == name), None)


def _filter(patterns: tuple[str, ...]) -> FilterSet:
    usable = []
    for text in patterns:
        try:
            parse_pattern(text)
        except PatternError:
            continue  # a pattern that can never match a path also matches nothing on GitHub
        usable.append(text)
    return FilterSet({"filter": usable})


def _matches(patterns: tuple[str, ...], name: str) -> bool:
    return bool(_filter(patterns).match_path(name))


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _entries(node: Node) -> list[tuple[str, Node, Node]]:
    if not isinstance(node, MappingNode):
        return []
    return [(str(key.value), key, value) for key, value in node.value if isinstance(key, ScalarNode)]


def _scalar(node: Node) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) and node.tag != "tag:yaml.org,2002:null" else None


def _strings(node: Node) -> tuple[str, ...]:
    if isinstance(node, SequenceNode):
        return tuple(text for item in node.value if (text := _scalar(item)) is not None)
    text = _scalar(node)
    return (text,) if text is not None else ()


def _compose(text: str) -> Node | None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.compose(text, Loader=loader)


def parse_workflow(text: str, path: str) -> Workflow:
    """A workflow's triggers and dispatch inputs; a file that is not a workflow gets a `problem`."""
    name = path.rsplit("/", 1)[-1]
    try:
        root = _compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return Workflow(
            name,
            path,
            problem=f"it is not valid YAML ({getattr(exc, 'problem', None) or exc}), so GitHub cannot run it either",
            problem_line=mark.line + 1 if mark else None,
        )
    on = next(((key, value) for text_key, key, value in _entries(root) if text_key == "on"), None)
    if on is None:
        return Workflow(name, path, problem="it has no 'on:' section, so nothing runs it", problem_line=1)
    key, value = on
    events: dict[str, tuple[Node, Node | None]] = {}
    if isinstance(value, MappingNode):
        events = {event: (event_key, settings) for event, event_key, settings in _entries(value)}
    else:
        events = {event: (value, None) for event in _strings(value)}
    push = None
    if "push" in events:
        push = _push(*events["push"])
        clash = _both_filters(events["push"][1])
        if clash:
            return Workflow(
                name,
                path,
                problem=f"on.push has both '{clash[0]}' and '{clash[1]}', which GitHub refuses (the workflow never "
                f"runs); keep one of them",
                problem_line=clash[2],
            )
    dispatch_line, inputs = None, ()
    if "workflow_dispatch" in events:
        where, settings = events["workflow_dispatch"]
        dispatch_line = _line(where)
        inputs_node = next((v for k, _, v in _entries(settings) if k == "inputs"), None) if settings else None
        inputs = tuple(_input(input_name, input_key, spec) for input_name, input_key, spec in _entries(inputs_node))
    return Workflow(
        name,
        path,
        on_line=_line(key),
        events=tuple(events),
        push=push,
        dispatch="workflow_dispatch" in events,
        dispatch_line=dispatch_line,
        inputs=inputs,
    )


def _both_filters(settings: Node | None) -> tuple[str, str, int] | None:
    """A filter and its `-ignore` twin on one event (GitHub rejects the file): their names and the line."""
    keys = {key: key_node for key, key_node, _ in _entries(settings)} if settings else {}
    for kept in ("paths", "branches"):
        if kept in keys and f"{kept}-ignore" in keys:
            return kept, f"{kept}-ignore", _line(keys[f"{kept}-ignore"])
    return None


def _push(where: Node, settings: Node | None) -> PushTrigger:
    fields = {key: (key_node, value) for key, key_node, value in _entries(settings)} if settings else {}

    def listed(name: str) -> tuple[str, ...] | None:
        return _strings(fields[name][1]) if name in fields else None

    branches_key = fields.get("branches", fields.get("branches-ignore", (None, None)))[0]
    paths_key = fields.get("paths", fields.get("paths-ignore", (None, None)))[0]
    return PushTrigger(
        line=_line(where),
        branches=listed("branches"),
        branches_ignore=listed("branches-ignore"),
        branches_line=_line(branches_key) if branches_key is not None else None,
        tags="tags" in fields or "tags-ignore" in fields,
        paths=listed("paths"),
        paths_ignore=listed("paths-ignore"),
        paths_line=_line(paths_key) if paths_key is not None else None,
    )


def _input(name: str, key: Node, spec: Node) -> DispatchInput:
    fields = {field: value for field, _, value in _entries(spec)}
    required = (_scalar(fields["required"]) or "").lower() in _TRUE if "required" in fields else False
    default = _scalar(fields["default"]) if "default" in fields else None
    kind = (_scalar(fields["type"]) or "string") if "type" in fields else "string"
    options = _strings(fields["options"]) if "options" in fields else ()
    return DispatchInput(name, _line(key), required=required, default=default, type=kind, options=options)


def read_workflows(root: str | Path, files: Iterable[str]) -> dict[str, Workflow]:
    """The workflows among the tracked `files`, by file name, read from the checkout at `root`."""
    found = {}
    prefix = WORKFLOWS_DIR + "/"
    for path in files:
        if not path.startswith(prefix) or "/" in path[len(prefix) :] or not path.endswith((".yml", ".yaml")):
            continue
        name = path[len(prefix) :]
        try:
            text = (Path(root) / path).read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            continue  # tracked but deleted in the checkout: it is gone
        except (OSError, UnicodeDecodeError) as exc:
            found[name] = Workflow(name, path, problem=f"it cannot be read as UTF-8 text ({exc})")
            continue
        found[name] = parse_workflow(text, path)
    return found

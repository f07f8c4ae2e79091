"""The config file `.github/dual-deploy.yml`: which components a monorepo deploys, and how.

The file is read with PyYAML's safe composer into nodes rather than plain values, because nodes
keep their line numbers (every error points at a line) and keep duplicated keys (plain loading
silently keeps the last one). Validation collects every problem with its position and raises the
first one in file order, so the user fixes the file top to bottom.
`schema/dual-deploy.schema.json` describes the same shape for editors; tests keep the two in step.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dualdeploy.errors import ConfigError, DualDeployError
from dualdeploy.patterns import PatternError, parse_pattern

DEFAULT_CONFIG_PATH = ".github/dual-deploy.yml"
SCHEMA_URL = "https://raw.githubusercontent.com/dualdeploy/dual-deploy-guard/v1/schema/dual-deploy.schema.json"
SUPPORTED_VERSION = 1

DEPLOY_MODES = ("auto", "manual")
ISSUE_MODES = ("single", "per-component")
DEPLOYED_KINDS = ("github-deployment", "workflow", "url")

TOP_LEVEL_KEYS = ("version", "components", "shared", "notify", "monitor", "docs")
COMPONENT_KEYS = ("deploy", "paths", "uses", "deploy-workflow", "deploy-inputs", "owners", "description", "deployed")
DEPLOYED_KEYS = ("github-deployment", "workflow", "job", "url", "field")
NOTIFY_KEYS = ("slack",)
SLACK_KEYS = ("webhook-secret", "mention")
MONITOR_KEYS = ("max-age-minutes", "issue-mode", "assignees")
DOCS_KEYS = ("quick-reference", "onboarding")
DEFAULT_QUICK_REFERENCE = "docs/solutions/patterns/DUAL_DEPLOYMENT_QUICK_REFERENCE.md"
DEFAULT_ONBOARDING = "docs/ONBOARDING.md"

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
WORKFLOW_FILE_RE = re.compile(r"[^/\\]+\.ya?ml")
OWNER_RE = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]{0,38}(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
LOGIN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
SECRET_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
URL_RE = re.compile(r"https?://[^\s/]+\S*")
FIELD_RE = re.compile(r"[^.\s]+(\.[^.\s]+)*")
INPUT_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# A repository-relative file path: no leading '/', no backslash, no empty, '.' or '..' part.
DOC_PATH_RE = re.compile(r"(?!/)(?!.*\\)(?!.*//)(?!(.*/)?\.\.?(/|$))[^\s][^\n]*[^/\s]|[^/\s.]")
_REQUIRED_HINTS = {
    "deploy": "add 'deploy: auto' (CI deploys it on every merge) or 'deploy: manual'",
    "paths": "add 'paths:' with the patterns of the files it is built from, e.g. [\"server/**\"]",
    "webhook-secret": "add 'webhook-secret:' with the name of the secret that holds the webhook URL",
}
_EXAMPLE_COMPONENT = "'api: {deploy: auto, paths: [\"server/**\"]}'"


@dataclass(frozen=True)
class DeployedSource:
    """Where the commit that runs in production is read from."""

    kind: str  # "github-deployment" | "workflow" | "url"
    environment: str | None = None
    workflow: str | None = None
    job: str | None = None
    url: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class DeployInstruction:
    """How a person runs a component's deploy workflow by hand: the workflow, the branch, the inputs."""

    workflow: str
    ref: str
    inputs: tuple[tuple[str, str], ...] = ()

    @property
    def command(self) -> str:
        """The `gh workflow run` line, each word shell-quoted so it works as printed."""
        words = ["gh", "workflow", "run", self.workflow, "--ref", self.ref]
        for name, value in self.inputs:
            words += ["-f", f"{name}={value}"]
        return shlex.join(words)


@dataclass(frozen=True)
class Component:
    """One deployable part of the monorepo: the paths that make it up and how it reaches production."""

    name: str
    deploy: str  # "auto" | "manual"
    paths: tuple[str, ...]
    uses: tuple[str, ...] = ()
    deploy_workflow: str | None = None
    owners: tuple[str, ...] = ()
    description: str = ""
    deployed: DeployedSource | None = None
    line: int = 0
    deploy_inputs: tuple[tuple[str, str], ...] = ()  # (input name, value) for the deploy workflow, in file order

    @property
    def manual(self) -> bool:
        return self.deploy == "manual"

    def deploy_url(self, repo_url: str | None) -> str | None:
        """Where a person deploys it: its workflow's page (with the Run workflow form), or the Actions tab."""
        if not repo_url:
            return None
        if self.deploy_workflow:
            return f"{repo_url}/actions/workflows/{self.deploy_workflow}"
        return f"{repo_url}/actions"

    def deploy_instruction(self, ref: str = "main") -> DeployInstruction | None:
        """How to run its deploy workflow on `ref` (the default branch); None without a workflow."""
        if not self.deploy_workflow:
            return None
        return DeployInstruction(self.deploy_workflow, ref, self.deploy_inputs)

    def deploy_command(self, ref: str = "main") -> str | None:
        """The `gh workflow run <file> --ref <ref> -f name=value …` line, or None without a workflow."""
        instruction = self.deploy_instruction(ref)
        return instruction.command if instruction else None


@dataclass(frozen=True)
class SharedGroup:
    """Paths that several components build from; a change there reaches every component that uses it."""

    name: str
    paths: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True)
class SlackSettings:
    webhook_secret: str
    mention: str | None = None


@dataclass(frozen=True)
class MonitorSettings:
    max_age_minutes: int = 60
    issue_mode: str = "single"
    assignees: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocsSettings:
    """Where `dualdeploy docs` writes the guides whose place a team chooses."""

    quick_reference: str = DEFAULT_QUICK_REFERENCE
    onboarding: str = DEFAULT_ONBOARDING


@dataclass(frozen=True)
class Config:
    path: str
    components: tuple[Component, ...]
    shared: tuple[SharedGroup, ...]
    slack: SlackSettings | None = None
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    docs: DocsSettings = field(default_factory=DocsSettings)

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        known = [component.name for component in self.components]
        raise DualDeployError(
            f"no component {name!r} in {self.path}; its components are: {', '.join(known)}{_did_you_mean(name, known)}"
        )

    def manual_components(self) -> tuple[Component, ...]:
        return tuple(component for component in self.components if component.manual)

    def shared_group(self, name: str) -> SharedGroup:
        for group in self.shared:
            if group.name == name:
                return group
        known = [group.name for group in self.shared]
        raise DualDeployError(
            f"no shared group {name!r} in {self.path}; its shared groups are: "
            f"{', '.join(known) or '(none)'}{_did_you_mean(name, known)}"
        )

    def filters(self) -> dict[str, tuple[str, ...]]:
        """Every component's and shared group's patterns, named for `patterns.FilterSet`."""
        filters = {f"component:{component.name}": component.paths for component in self.components}
        filters.update({f"shared:{group.name}": group.paths for group in self.shared})
        return filters


def load_config(path: str | Path, *, display_path: str | None = None) -> Config:
    """Read and validate the config file; `display_path` is how messages name it (repo-relative)."""
    shown = display_path or str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"no config file at {shown}: run `dualdeploy init` to create one, or point --config "
            "(the action's `config` input) at the file that lists your components"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{shown} is a directory; --config must name the YAML file itself") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("the file is not UTF-8 text; save it as UTF-8", file=shown, line=line) from None
    return parse_config(text, shown)


def parse_config(text: str, file: str) -> Config:
    """Validate the text of a config file; raise ConfigError for the first problem in file order."""
    root = _compose(text, file)
    if root is None:
        raise ConfigError(
            f"the file is empty; start it with 'version: {SUPPORTED_VERSION}' and a "
            "'components:' mapping (`dualdeploy init` writes one)",
            file=file,
            line=1,
        )
    if not isinstance(root, MappingNode):
        raise ConfigError(
            f"the top level must be a mapping with 'version: {SUPPORTED_VERSION}' and 'components:', not {_kind(root)}",
            file=file,
            line=_line(root),
        )
    return _Validator(file).config(root)


def _compose(text: str, file: str) -> Node | None:
    # libyaml's composer when PyYAML has it: the same nodes and marks, about ten times faster. On a
    # syntax error the pure-Python composer runs again, for its more helpful message.
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            message += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        message += _syntax_hint(text, exc)
        raise ConfigError(message, file=file, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:  # a ReaderError: a character YAML does not allow
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        character = getattr(exc, "character", None)
        message = (
            f"the control character U+{character:04X} is not allowed in YAML; remove it"
            if isinstance(character, int)
            else f"YAML syntax error: {exc}".replace("\n", " ")
        )
        raise ConfigError(message, file=file, line=line) from None


def _syntax_hint(text: str, exc: yaml.MarkedYAMLError) -> str:
    if "alias" in f"{exc.problem} {exc.context}":
        return "; a pattern that starts with '*' must be quoted, e.g. \"**/*.md\""
    marks = [mark.line for mark in (exc.context_mark, exc.problem_mark) if mark]
    lines = text.splitlines()[min(marks) : max(marks) + 1] if marks else []
    if any(re.search(r"(^|[\[,]|-\s)\s*!", line) for line in lines):
        return "; an exclusion pattern that starts with '!' must be quoted, e.g. \"!server/tests/**\""
    if any("\t" in line for line in lines):
        return "; indent with spaces, YAML does not allow tabs"
    return ""


_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_TAG + name for name in ("str", "int", "float", "bool", "null"))
MAP, SEQ, MERGE = _TAG + "map", _TAG + "seq", _TAG + "merge"
_PLAIN_TAGS = {STR, INT, FLOAT, BOOL, NULL, MAP, SEQ, MERGE, _TAG + "timestamp"}
_KIND_NAMES = {
    STR: "a string",
    INT: "an integer",
    FLOAT: "a number",
    BOOL: "a boolean",
    NULL: "nothing (an empty value)",
    _TAG + "timestamp": "a date",
    MAP: "a mapping",
    SEQ: "a list",
}


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _kind(node: Node) -> str:
    if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT, BOOL, _TAG + "timestamp"):
        return f"{_KIND_NAMES[node.tag]} ({node.value})"
    return _KIND_NAMES.get(node.tag, f"a value tagged {node.tag}")


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    normalized = {choice.lower().replace("_", "-"): choice for choice in choices}
    close = difflib.get_close_matches(word.lower().replace("_", "-"), list(normalized), n=1, cutoff=0.6)
    return f"; did you mean {normalized[close[0]]!r}?" if close else ""


@dataclass(frozen=True)
class _Slot:
    """A key of a mapping, its value, and the dotted path of the key for messages."""

    key: str
    key_node: Node
    value: Node

    @property
    def where(self) -> Node:
        """The node an error about the value points at: the key when the value is left empty."""
        if isinstance(self.value, ScalarNode) and self.value.tag == NULL and not self.value.value:
            return self.key_node
        return self.value


class _Fields(dict):
    """The entries of a mapping by key; `incomplete` when some key was unknown or a merge failed,
    so a missing key is most likely that typo and is not reported a second time."""

    incomplete = False


@dataclass(frozen=True)
class _Problem:
    line: int
    column: int
    message: str
    key: str | None


class _Validator:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[_Problem] = []

    def fail(self, message: str, node: Node, key: str | None) -> None:
        self.problems.append(_Problem(_line(node), node.start_mark.column, message, key))

    def raise_first(self) -> None:
        if self.problems:
            first = min(self.problems, key=lambda problem: (problem.line, problem.column))
            raise ConfigError(first.message, file=self.file, line=first.line, key=first.key)

    # The whole file

    def config(self, root: MappingNode) -> Config:
        # A missing or newer version means the rest may follow another format, so it goes first.
        self.version(root)
        self.raise_first()
        self.check_tags(root, "", set())
        top = self.mapping(_Slot("", root, root), TOP_LEVEL_KEYS) or {}
        shared_names = self.names_of(top.get("shared"))
        if "components" not in top and not getattr(top, "incomplete", False):
            self.fail(f"no 'components:' mapping; add one, e.g. {_EXAMPLE_COMPONENT}", root, "components")
        components = self.components(top.get("components"), shared_names)
        shared = self.shared_groups(top.get("shared"))
        self.names_are_unique(top.get("components"), shared_names)
        slack = self.notify(top["notify"]) if "notify" in top else None
        monitor = self.monitor(top["monitor"]) if "monitor" in top else MonitorSettings()
        docs = self.docs(top["docs"]) if "docs" in top else DocsSettings()
        self.raise_first()
        return Config(path=self.file, components=components, shared=shared, slack=slack, monitor=monitor, docs=docs)

    def version(self, root: MappingNode) -> None:
        slot = next(
            (_Slot("version", k, v) for k, v in root.value if isinstance(k, ScalarNode) and k.value == "version"),
            None,
        )
        if slot is None:
            self.fail(
                f"missing 'version'; add 'version: {SUPPORTED_VERSION}' at the top of the file",
                root,
                "version",
            )
        elif not (isinstance(slot.value, ScalarNode) and slot.value.tag == INT):
            self.fail(
                f"'version' must be the integer {SUPPORTED_VERSION}, not {_kind(slot.value)}; "
                f"write 'version: {SUPPORTED_VERSION}'",
                slot.where,
                "version",
            )
        elif (version := SafeConstructor().construct_yaml_int(slot.value)) != SUPPORTED_VERSION:
            self.fail(
                f"unsupported version {version}: this release of Dual Deploy Guard reads version "
                f"{SUPPORTED_VERSION} only; use a release that supports version {version}, or "
                f"rewrite the file for version {SUPPORTED_VERSION}",
                slot.value,
                "version",
            )

    def check_tags(self, node: Node, key: str, seen: set[int]) -> None:
        """Reject explicit YAML tags: the file is data, and `- !pattern` unquoted is a tag by accident."""
        if id(node) in seen:
            return
        seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            if node.tag.startswith("!") and isinstance(node, ScalarNode):
                text = f"{node.tag} {node.value}".strip()
                message = (
                    f'{text!r} is read as a YAML tag; quote it: "{text}" '
                    "(an exclusion pattern that starts with '!' must be quoted)"
                )
            else:
                message = f"YAML tags are not supported ({node.tag}); write plain strings, lists and mappings"
            self.fail(message, node, key or None)
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                child = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
                child = f"{key}.{child}" if key else child
                self.check_tags(key_node, child, seen)
                self.check_tags(value_node, child, seen)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.check_tags(item, f"{key}[{index}]", seen)

    # Building blocks

    def mapping(
        self,
        slot: _Slot,
        known: Sequence[str] | None,
        *,
        required: Sequence[str] = (),
        what: str = "a mapping",
    ) -> _Fields | None:
        """The entries of a mapping by key, in file order; None (after a problem) when it is not one."""
        if not isinstance(slot.value, MappingNode):
            self.fail(f"expected {what}, got {_kind(slot.value)}", slot.where, slot.key or None)
            return None
        entries = _Fields()
        problems_before = len(self.problems)
        for key_node, value_node in self.entries(slot.value, slot.key, report=True):
            key = f"{slot.key}.{key_node.value}" if slot.key else key_node.value
            if known is not None and key_node.value not in known:
                self.fail(self.unknown_key_message(key_node.value, value_node, known), key_node, key)
                continue
            entries[key_node.value] = _Slot(key, key_node, value_node)
        entries.incomplete = len(self.problems) > problems_before
        for name in required:
            if name not in entries and not entries.incomplete:
                where = f"'{slot.key}'" if slot.key else "the top level"
                self.fail(
                    f"missing required key '{name}' in {where}; {_REQUIRED_HINTS[name]}",
                    slot.key_node,
                    f"{slot.key}.{name}" if slot.key else name,
                )
        return entries

    def entries(self, node: MappingNode, key: str, *, report: bool) -> list[tuple[ScalarNode, Node]]:
        """Key and value nodes of a mapping, with `<<` merges applied; duplicate keys are problems."""
        own: list[tuple[ScalarNode, Node]] = []
        merged: list[tuple[ScalarNode, Node]] = []
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if isinstance(source, MappingNode):
                        merged += [
                            entry
                            for entry in self.entries(source, key, report=False)
                            if entry[0].value not in {k.value for k, _ in merged}
                        ]
                    elif report:
                        self.fail(
                            "'<<' merges mappings only: give it an alias of a mapping, like '<<: *defaults'",
                            source,
                            f"{key}.<<" if key else "<<",
                        )
                continue
            if not isinstance(key_node, ScalarNode):
                if report:
                    self.fail(f"a key must be a plain name, not {_kind(key_node)}", key_node, key or None)
                continue
            name = key_node.value
            if name in first_line:
                if report:
                    self.fail(
                        f"duplicate key {name!r} (first on line {first_line[name]}); YAML would keep only "
                        "the last one, so merge the two or rename one",
                        key_node,
                        f"{key}.{name}" if key else name,
                    )
                continue
            first_line[name] = _line(key_node)
            own.append((key_node, value_node))
        return own + [entry for entry in merged if entry[0].value not in first_line]

    def unknown_key_message(self, name: str, value: Node, known: Sequence[str]) -> str:
        message = f"unknown key {name!r}"
        suggestion = _did_you_mean(name, known)
        if suggestion:
            return message + suggestion
        if (
            known is TOP_LEVEL_KEYS
            and isinstance(value, MappingNode)
            and {k.value for k, _ in value.value if isinstance(k, ScalarNode)} & {"deploy", "paths"}
        ):
            return message + f"; components go under 'components:', e.g. 'components: {{{name}: ...}}'"
        return message + f"; expected one of: {', '.join(known)}"

    def string(self, slot: _Slot, *, allow_empty: bool = True) -> str | None:
        if not (isinstance(slot.value, ScalarNode) and slot.value.tag == STR):
            hint = (
                f'; quote it: "{slot.value.value}"'
                if isinstance(slot.value, ScalarNode) and slot.value.value and slot.value.tag != NULL
                else ""
            )
            self.fail(f"expected a string, got {_kind(slot.value)}{hint}", slot.where, slot.key)
            return None
        if not allow_empty and not slot.value.value.strip():
            self.fail("must not be empty", slot.where, slot.key)
            return None
        return slot.value.value

    def choice(self, slot: _Slot, choices: Sequence[str], expected: str) -> str | None:
        """One of `choices`; `expected` says what each means."""
        if not (isinstance(slot.value, ScalarNode) and slot.value.tag == STR):
            self.fail(f"expected {expected}, got {_kind(slot.value)}", slot.where, slot.key)
            return None
        value = slot.value.value
        if value not in choices:
            self.fail(
                f"unknown value {value!r}; expected {expected}{_did_you_mean(value, choices)}",
                slot.value,
                slot.key,
            )
            return None
        return value

    def items(self, slot: _Slot, what: str) -> list[_Slot] | None:
        """The items of a list as slots keyed `key[i]`; a single string is a problem with a fix."""
        if not isinstance(slot.value, SequenceNode):
            hint = (
                f'; write ["{slot.value.value}"]'
                if isinstance(slot.value, ScalarNode) and slot.value.tag == STR
                else ""
            )
            self.fail(f"expected a list of {what}, got {_kind(slot.value)}{hint}", slot.where, slot.key)
            return None
        return [_Slot(f"{slot.key}[{index}]", item, item) for index, item in enumerate(slot.value.value)]

    def strings(self, slot: _Slot, what: str, check: Callable[[str], str | None] | None = None) -> tuple[str, ...]:
        """A list of strings; `check(text)` returns a problem message for a bad item, or None."""
        values = []
        for item in self.items(slot, what) or ():
            text = self.string(item)
            if text is None:
                continue
            problem = check(text) if check else None
            if problem:
                self.fail(problem, item.value, item.key)
                continue
            values.append(text)
        return tuple(values)

    def patterns(self, slot: _Slot, owner: str) -> tuple[str, ...]:
        items = self.items(slot, "path patterns")
        if items is None:
            return ()
        if not items:
            self.fail(
                f"{owner} has no paths, so no change can ever reach it; list the patterns of the files "
                f'it is built from, e.g. ["server/**"]',
                slot.where,
                slot.key,
            )
            return ()
        patterns = []
        for index, item in enumerate(items):
            text = self.string(item)
            if text is None:
                continue
            try:
                pattern = parse_pattern(text)
            except PatternError as exc:
                self.fail(f"pattern {text!r} can never match: {exc}", item.value, item.key)
                continue
            if index == 0 and pattern.negated:
                self.fail(
                    f"{text!r} is first, so it excludes nothing: an exclusion must follow the patterns it "
                    f'narrows, e.g. ["server/**", "{text}"]',
                    item.value,
                    item.key,
                )
                continue
            patterns.append(text)
        return tuple(patterns)

    def workflow_file(self, slot: _Slot) -> str | None:
        text = self.string(slot)
        if text is None:
            return None
        if not WORKFLOW_FILE_RE.fullmatch(text):
            base = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
            fix = (
                f"give the file name only, like {base!r}"
                if WORKFLOW_FILE_RE.fullmatch(base)
                else "give the file name of a workflow in .github/workflows/, like 'deploy.yml'"
            )
            self.fail(f"{text!r} is not a workflow file name: {fix}", slot.value, slot.key)
            return None
        return text

    def names_of(self, slot: _Slot | None) -> dict[str, Node]:
        """The raw keys of a mapping (unvalidated), so references can be checked in any order."""
        if slot is None or not isinstance(slot.value, MappingNode):
            return {}
        return {k.value: k for k, _ in slot.value.value if isinstance(k, ScalarNode) and k.tag != MERGE}

    def name(self, slot: _Slot, what: str) -> bool:
        if NAME_RE.fullmatch(slot.key_node.value):
            return True
        self.fail(
            f"{what} name {slot.key_node.value!r} is not allowed: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit",
            slot.key_node,
            slot.key,
        )
        return False

    # Sections

    def components(self, slot: _Slot | None, shared_names: dict[str, Node]) -> tuple[Component, ...]:
        if slot is None:
            return ()
        empty = isinstance(slot.value, ScalarNode) and slot.value.tag == NULL
        entries = {} if empty else self.mapping(slot, None, what="a mapping of component names to their settings")
        if entries is None:
            return ()
        if not entries:
            self.fail(
                f"no components; add at least one under 'components:', e.g. {_EXAMPLE_COMPONENT}",
                slot.key_node,
                slot.key,
            )
            return ()
        component_names = self.names_of(slot)
        return tuple(
            self.component(component_slot, shared_names, component_names) for component_slot in entries.values()
        )

    def component(self, slot: _Slot, shared_names: dict[str, Node], component_names: dict[str, Node]) -> Component:
        name = slot.key_node.value
        self.name(slot, "component")
        fields = (
            self.mapping(slot, COMPONENT_KEYS, required=("deploy", "paths"), what="a mapping with 'deploy' and 'paths'")
            or {}
        )
        deploy = (
            self.choice(
                fields["deploy"],
                DEPLOY_MODES,
                "'auto' (CI deploys it on every merge to main) or 'manual' (someone has to run its deploy)",
            )
            if "deploy" in fields
            else None
        )
        paths = self.patterns(fields["paths"], f"component {name!r}") if "paths" in fields else ()
        uses = (
            self.strings(
                fields["uses"],
                "shared group names",
                lambda group: _unknown_group(group, shared_names, component_names),
            )
            if "uses" in fields
            else ()
        )
        deploy_workflow = self.workflow_file(fields["deploy-workflow"]) if "deploy-workflow" in fields else None
        deploy_inputs = self.deploy_inputs(fields["deploy-inputs"]) if "deploy-inputs" in fields else ()
        if "deploy-inputs" in fields and "deploy-workflow" not in fields and not fields.incomplete:
            entry = fields["deploy-inputs"]
            self.fail(
                "'deploy-inputs' are the inputs of 'deploy-workflow': add 'deploy-workflow: <file>.yml' "
                "or remove 'deploy-inputs'",
                entry.key_node,
                entry.key,
            )
        owners = self.strings(fields["owners"], "@-handles", _owner_problem) if "owners" in fields else ()
        description = self.string(fields["description"]) if "description" in fields else None
        deployed = self.deployed(fields["deployed"]) if "deployed" in fields else None
        return Component(
            name=name,
            deploy=deploy or "",
            paths=paths,
            uses=uses,
            deploy_workflow=deploy_workflow,
            owners=owners,
            description=description or "",
            deployed=deployed or DeployedSource("github-deployment", environment=name),
            line=_line(slot.key_node),
            deploy_inputs=deploy_inputs,
        )

    def deploy_inputs(self, slot: _Slot) -> tuple[tuple[str, str], ...]:
        entries = self.mapping(
            slot, None, what="a mapping of the deploy workflow's input names to values, e.g. {agent: tenant}"
        )
        inputs = []
        for entry in (entries or {}).values():
            name = entry.key_node.value
            if not INPUT_NAME_RE.fullmatch(name):
                self.fail(
                    f"{name!r} is not a workflow input name: use letters, digits, '_' and '-', "
                    "starting with a letter or '_'",
                    entry.key_node,
                    entry.key,
                )
                continue
            value = self.string(entry)
            if value is not None:
                inputs.append((name, value))
        return tuple(inputs)

    def deployed(self, slot: _Slot) -> DeployedSource | None:
        fields = self.mapping(slot, DEPLOYED_KEYS, what="a mapping with one of " + ", ".join(DEPLOYED_KINDS))
        if fields is None:
            return None
        kinds = sorted(
            (kind for kind in DEPLOYED_KINDS if kind in fields), key=lambda kind: _line(fields[kind].key_node)
        )
        if not kinds and not fields.incomplete:
            self.fail(
                "says nothing about where the deployed commit is read from: give exactly one of "
                "'github-deployment: <environment>', 'workflow: <file>.yml' or 'url: <https://...>' "
                "with 'field: <path.to.sha>'",
                slot.key_node,
                slot.key,
            )
        for extra in kinds[1:]:
            self.fail(
                f"'{kinds[0]}' and '{extra}' both say where the deployed commit is read from; keep one",
                fields[extra].key_node,
                fields[extra].key,
            )
        if "job" in fields and "workflow" not in fields:
            self.fail(
                "'job' names a job of 'workflow': add 'workflow: <file>.yml' or remove 'job'",
                fields["job"].key_node,
                fields["job"].key,
            )
        if "url" in fields and "field" not in fields:
            self.fail(
                "'url' needs 'field': the dotted path of the commit SHA in the JSON it returns, e.g. 'field: git.sha'",
                fields["url"].key_node,
                f"{slot.key}.field",
            )
        if "field" in fields and "url" not in fields:
            self.fail(
                "'field' is read from the JSON of 'url': add 'url: <https://...>' or remove 'field'",
                fields["field"].key_node,
                fields["field"].key,
            )
        values: dict[str, str | None] = {}
        for key, entry in fields.items():
            text = self.workflow_file(entry) if key == "workflow" else self.string(entry, allow_empty=False)
            if text is not None and key == "url" and not URL_RE.fullmatch(text):
                self.fail(
                    f"{text!r} is not an http(s) URL; write the full address, e.g. "
                    "'https://tenant.example.com/version'",
                    entry.value,
                    entry.key,
                )
            elif text is not None and key == "field" and not FIELD_RE.fullmatch(text):
                self.fail(
                    f"{text!r} is not a dotted path; write the keys that lead to the SHA in the JSON, e.g. 'git.sha'",
                    entry.value,
                    entry.key,
                )
            values[key] = text
        if len(kinds) != 1:
            return None
        return DeployedSource(
            kinds[0],
            environment=values.get("github-deployment"),
            workflow=values.get("workflow"),
            job=values.get("job"),
            url=values.get("url"),
            field=values.get("field"),
        )

    def shared_groups(self, slot: _Slot | None) -> tuple[SharedGroup, ...]:
        if slot is None:
            return ()
        entries = self.mapping(slot, None, what="a mapping of group names to lists of path patterns")
        groups = []
        for group_slot in (entries or {}).values():
            name = group_slot.key_node.value
            self.name(group_slot, "shared group")
            paths = self.patterns(group_slot, f"shared group {name!r}")
            groups.append(SharedGroup(name=name, paths=paths, line=_line(group_slot.key_node)))
        return tuple(groups)

    def names_are_unique(self, components: _Slot | None, shared_names: dict[str, Node]) -> None:
        for name, component_node in self.names_of(components).items():
            shared_node = shared_names.get(name)
            if shared_node is None:
                continue
            later, section, other = (
                (shared_node, "shared", component_node)
                if _line(shared_node) >= _line(component_node)
                else (component_node, "components", shared_node)
            )
            self.fail(
                f"{name!r} is both a component and a shared group (line {_line(other)}); "
                "rename one, names must be unique",
                later,
                f"{section}.{name}",
            )

    def notify(self, slot: _Slot) -> SlackSettings | None:
        fields = self.mapping(slot, NOTIFY_KEYS) or {}
        if "slack" not in fields:
            return None
        slack = self.mapping(fields["slack"], SLACK_KEYS, required=("webhook-secret",)) or {}
        secret = self.string(slack["webhook-secret"]) if "webhook-secret" in slack else None
        if secret is not None and not SECRET_NAME_RE.fullmatch(secret):
            entry = slack["webhook-secret"]
            if secret.startswith(("http://", "https://")):
                problem = (
                    "this is the webhook URL itself; anyone who reads the repository could post with it. "
                    "Store it as a repository secret and give the secret's name, e.g. SLACK_WEBHOOK_URL"
                )
            else:
                problem = f"{secret!r} is not a secret name: use letters, digits and '_', e.g. SLACK_WEBHOOK_URL"
            self.fail(problem, entry.value, entry.key)
            secret = None
        mention = self.string(slack["mention"]) if "mention" in slack else None
        return SlackSettings(webhook_secret=secret or "", mention=mention)

    def monitor(self, slot: _Slot) -> MonitorSettings:
        fields = self.mapping(slot, MONITOR_KEYS) or {}
        settings = MonitorSettings()
        max_age = settings.max_age_minutes
        if "max-age-minutes" in fields:
            entry = fields["max-age-minutes"]
            if not (isinstance(entry.value, ScalarNode) and entry.value.tag == INT):
                self.fail(f"expected an integer (minutes), got {_kind(entry.value)}", entry.where, entry.key)
            elif (max_age := SafeConstructor().construct_yaml_int(entry.value)) < 1:
                self.fail(f"must be a positive number of minutes, not {max_age}", entry.value, entry.key)
        issue_mode = settings.issue_mode
        if "issue-mode" in fields:
            issue_mode = (
                self.choice(
                    fields["issue-mode"],
                    ISSUE_MODES,
                    "'single' (one issue lists every component) or 'per-component' (one issue each)",
                )
                or issue_mode
            )
        assignees = self.strings(fields["assignees"], "GitHub logins", _login_problem) if "assignees" in fields else ()
        return MonitorSettings(max_age_minutes=max_age, issue_mode=issue_mode, assignees=assignees)

    def docs(self, slot: _Slot) -> DocsSettings:
        fields = self.mapping(slot, DOCS_KEYS) or {}
        paths = {}
        for key, entry in fields.items():
            text = self.string(entry, allow_empty=False)
            if text is not None and not DOC_PATH_RE.fullmatch(text):
                self.fail(
                    f"{text!r} is not a file path in the repository: write it relative to the root, "
                    f"with '/' between folders, e.g. {DEFAULT_ONBOARDING!r}",
                    entry.value,
                    entry.key,
                )
                text = None
            paths[key] = text
        return DocsSettings(
            quick_reference=paths.get("quick-reference") or DEFAULT_QUICK_REFERENCE,
            onboarding=paths.get("onboarding") or DEFAULT_ONBOARDING,
        )


def _unknown_group(group: str, shared_names: dict[str, Node], component_names: dict[str, Node]) -> str | None:
    if group in shared_names:
        return None
    if group in component_names:
        return (
            f"{group!r} is a component, not a shared group; 'uses' lists groups from 'shared:', "
            "so move the paths both need into a shared group"
        )
    if not shared_names:
        return (
            f"no shared group {group!r}: the file has no 'shared:' section; add one, e.g. "
            f"'shared: {{{group}: [\"packages/common/**\"]}}'"
        )
    return (
        f"no shared group {group!r}; the shared groups are: {', '.join(shared_names)}"
        f"{_did_you_mean(group, list(shared_names))}"
    )


def _owner_problem(owner: str) -> str | None:
    if OWNER_RE.fullmatch(owner):
        return None
    if LOGIN_RE.fullmatch(owner) or re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", owner):
        return f"{owner!r} is not an @-handle; write '@{owner}'"
    return f"{owner!r} is not an @-handle: write '@user' for a person or '@org/team' for a team"


def _login_problem(login: str) -> str | None:
    if LOGIN_RE.fullmatch(login):
        return None
    if login.startswith("@") and LOGIN_RE.fullmatch(login[1:]):
        return f"{login!r}: assignees are GitHub logins without '@'; write {login[1:]!r}"
    return f"{login!r} is not a GitHub login (letters, digits and '-'; teams cannot be assigned)"

"""The config file `.github/dual-deploy.yml`: which components a monorepo deploys, and how.

`schema/dual-deploy.schema.json` is the one description of the file's shape: editors read it, and
so does `parse_config`, through fastjsonschema. This module turns the file into plain data for the
schema, turns the schema's verdict into a message that names the file, line and key, and checks what
a schema cannot say: glob syntax, references between sections, and "did you mean".

The file is read with PyYAML's safe composer into nodes rather than plain values, because nodes
keep their line numbers (every error points at a line) and keep duplicated keys (plain loading
silently keeps the last one). Problems are collected with their position and the first one in file
order is raised, so the user fixes the file top to bottom.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dualdeploy.errors import ConfigError, DualDeployError
from dualdeploy.patterns import PatternError, parse_pattern

DEFAULT_CONFIG_PATH = ".github/dual-deploy.yml"
SCHEMA_FILE = "dual-deploy.schema.json"
SCHEMA_URL = f"https://raw.githubusercontent.com/dualdeploy/dual-deploy-guard/v1/schema/{SCHEMA_FILE}"
SUPPORTED_VERSION = 1
# What a component or shared group may be called (the schema's `propertyNames`; a test keeps them equal).
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
DEPLOYED_KINDS = ("github-deployment", "workflow", "url")
# Where `dualdeploy docs` writes the guides a team may move (the schema's defaults; a test keeps them equal).
DEFAULT_QUICK_REFERENCE = "docs/solutions/patterns/DUAL_DEPLOYMENT_QUICK_REFERENCE.md"
DEFAULT_ONBOARDING = "docs/ONBOARDING.md"


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
    lag_target_minutes: int = 30  # merge to deploy, per pull request: the roadmap's target
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

    def check_names(self, names, key: str) -> None:
        """Every name a user typed (deployed-shas keys, job results) must be a component: a typo is
        an error that suggests the name, never a key silently ignored."""
        known = [component.name for component in self.components]
        for name in names:
            if name not in known:
                raise DualDeployError(
                    f"no component {name!r} in {self.path}; its components are: {', '.join(known)}"
                    f"{_did_you_mean(name, known)}",
                    key=key,
                )

    def resembles(self, word: str) -> str | None:
        """The component a word is close to (a typo of it), if any."""
        names = {component.name.lower(): component.name for component in self.components}
        close = difflib.get_close_matches(word.lower().replace("_", "-"), list(names), n=1, cutoff=0.8)
        return names[close[0]] if close else None

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
    return parse_config_bytes(raw, shown)


def parse_config_bytes(raw: bytes, shown: str) -> Config:
    """Validate a config file's bytes (read from disk, or from a commit by `git cat-file`)."""
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
    # A missing or newer version means the rest may follow another format, so it goes first.
    _check_version(root, file)
    document = _Document(file, root)
    document.check_schema()
    document.check_references()
    document.raise_first()
    return _config(file, document)


def _check_version(root: MappingNode, file: str) -> None:
    entry = next((_Entry(k, v) for k, v in root.value if isinstance(k, ScalarNode) and k.value == "version"), None)
    if entry is None:
        raise ConfigError(
            f"missing 'version'; add 'version: {SUPPORTED_VERSION}' at the top of the file",
            file=file,
            line=_line(root),
            key="version",
        )
    if not (isinstance(entry.value, ScalarNode) and entry.value.tag == INT):
        raise ConfigError(
            f"'version' must be the integer {SUPPORTED_VERSION}, not {_kind(entry.value)}; "
            f"write 'version: {SUPPORTED_VERSION}'",
            file=file,
            line=_line(entry.where),
            key="version",
        )
    version = SafeConstructor().construct_yaml_int(entry.value)
    if version != SUPPORTED_VERSION:
        raise ConfigError(
            f"unsupported version {version}: this release of Dual Deploy Guard reads version "
            f"{SUPPORTED_VERSION} only; use a release that supports version {version}, or "
            f"rewrite the file for version {SUPPORTED_VERSION}",
            file=file,
            line=_line(entry.value),
            key="version",
        )


def key_lines(text: str) -> dict[str, int]:
    """The line of each key and list item of a valid config, by dotted path as in error messages
    (`components.api.paths[0]`, `shared.lib[1]`), so a finding about a value can point at it."""
    lines: dict[str, int] = {}

    def walk(node: Node, key: str) -> None:
        if isinstance(node, MappingNode):
            for key_node, value in node.value:
                if isinstance(key_node, ScalarNode) and key_node.tag != MERGE:
                    child = f"{key}.{key_node.value}" if key else str(key_node.value)
                    lines.setdefault(child, _line(key_node))
                    walk(value, child)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{key}[{index}]"
                lines.setdefault(child, _line(item))
                walk(item, child)

    try:
        root = _compose(text, "")
    except ConfigError:
        return lines
    if root is not None:
        walk(root, "")
    return lines


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
MAP, SEQ, MERGE, TIMESTAMP = _TAG + "map", _TAG + "seq", _TAG + "merge", _TAG + "timestamp"
_PLAIN_TAGS = {STR, INT, FLOAT, BOOL, NULL, MAP, SEQ, MERGE, TIMESTAMP}
_KIND_NAMES = {
    STR: "a string",
    INT: "an integer",
    FLOAT: "a number",
    BOOL: "a boolean",
    NULL: "nothing (an empty value)",
    TIMESTAMP: "a date",
    MAP: "a mapping",
    SEQ: "a list",
}
_SCALARS = {
    INT: SafeConstructor.construct_yaml_int,
    FLOAT: SafeConstructor.construct_yaml_float,
    BOOL: SafeConstructor.construct_yaml_bool,
    NULL: SafeConstructor.construct_yaml_null,
    TIMESTAMP: SafeConstructor.construct_yaml_timestamp,
}


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _kind(node: Node) -> str:
    if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT, BOOL, TIMESTAMP):
        return f"{_KIND_NAMES[node.tag]} ({node.value})"
    return _KIND_NAMES.get(node.tag, f"a value tagged {node.tag}")


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    normalized = {choice.lower().replace("_", "-"): choice for choice in choices}
    close = difflib.get_close_matches(word.lower().replace("_", "-"), list(normalized), n=1, cutoff=0.6)
    return f"; did you mean {normalized[close[0]]!r}?" if close else ""


# The schema: the one description of the file's shape


def schema_path() -> Path:
    """schema/ at the top of the repository, or inside the installed package."""
    packaged = Path(__file__).parent / "schema" / SCHEMA_FILE
    return packaged if packaged.is_file() else Path(__file__).resolve().parents[2] / "schema" / SCHEMA_FILE


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text(encoding="utf-8"))


def _schema_validator() -> Callable[[Any], Any]:
    # Compiled on first use, once per process; benchmarks/config.py prints what that costs.
    return _compiled(json.dumps(schema()))


_MAX_VALUES = 100_000
KeyPath = tuple[str | int, ...]


def _resolve(definition: dict[str, Any]) -> dict[str, Any]:
    """A subschema with its `$ref` (to the schema's own definitions) followed."""
    while "$ref" in definition:
        definition = schema()["definitions"][definition["$ref"].rsplit("/", 1)[-1]]
    return definition


def _level_validator(definition: dict[str, Any]) -> Callable[[Any], Any]:
    """A validator for one level of a subschema: its own rules (type, required, enum, pattern,
    oneOf, ...) with every child accepted, so that each error it reports is about that value."""
    level = {
        key: value
        for key, value in definition.items()
        if key not in ("properties", "additionalProperties", "items", "additionalItems", "definitions", "$id")
    }
    if "properties" in definition:
        level["properties"] = dict.fromkeys(definition["properties"], {})
    if definition.get("additionalProperties") is False:
        level["additionalProperties"] = False
    return _compiled(json.dumps(level))


@functools.cache
def _compiled(schema_text: str) -> Callable[[Any], Any]:
    # Imported on first use: commands that never read a config do not pay for it.
    import fastjsonschema

    # Without the prose (`description`, `title`): the generated code embeds every subschema in its
    # error paths, and leaving the prose out makes compiling about a quarter faster.
    rules = json.loads(
        schema_text,
        object_hook=lambda node: {
            key: value
            for key, value in node.items()
            if not (key in ("description", "title") and isinstance(value, str))
        },
    )
    return fastjsonschema.compile(rules, use_default=False, use_formats=False)


def _dotted(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class _Entry:
    """Where a value sits in the file: its key (or list item) node and its value node."""

    key_node: Node
    value: Node

    @property
    def where(self) -> Node:
        """The node an error about the value points at: the key when the value is left empty."""
        if isinstance(self.value, ScalarNode) and self.value.tag == NULL and not self.value.value:
            return self.key_node
        return self.value


@dataclass(frozen=True)
class _Problem:
    line: int
    column: int
    message: str
    key: str | None


class _Document:
    """The file as plain data (what the schema validates) plus the YAML node of every value, so
    each problem names a line; what YAML allows but plain data would hide (duplicated keys, tags,
    merges of non-mappings) is a problem here."""

    def __init__(self, file: str, root: MappingNode) -> None:
        self.file = file
        self.problems: list[_Problem] = []
        self.entries: dict[KeyPath, _Entry] = {}
        # Mappings with a key or merge that could not be read: a key they miss is most likely that one.
        self.incomplete: set[KeyPath] = set()
        self.data = self.plain(root, (), root, set())

    def fail(self, message: str, node: Node, path: KeyPath | None) -> None:
        key = _dotted(path) if path else None
        self.problems.append(_Problem(_line(node), node.start_mark.column, message, key))

    def raise_first(self) -> None:
        if self.problems:
            first = min(self.problems, key=lambda problem: (problem.line, problem.column))
            raise ConfigError(first.message, file=self.file, line=first.line, key=first.key)

    def entry(self, path: KeyPath) -> _Entry:
        return self.entries[path]

    def value(self, path: KeyPath) -> Any:
        value = self.data
        for part in path:
            value = value[part]
        return value

    # From nodes to plain data

    def plain(self, node: Node, path: KeyPath, key_node: Node, active: set[int]) -> Any:
        self.entries[path] = _Entry(key_node, node)
        if len(self.entries) > _MAX_VALUES:  # aliases of aliases can expand a small file without end
            raise ConfigError(
                f"the file expands to more than {_MAX_VALUES} values through aliases; write it out",
                file=self.file,
                line=_line(node),
            )
        self.check_tag(node, path)
        if id(node) in active:  # an alias of its own ancestor
            self.fail("a value cannot contain itself (a recursive alias); write it out", node, path)
            return None
        if isinstance(node, MappingNode):
            active.add(id(node))
            mapping = {
                name.value: self.plain(value, (*path, name.value), name, active)
                for name, value in self.mapping_entries(node, path, report=True)
            }
            active.discard(id(node))
            return mapping
        if isinstance(node, SequenceNode):
            active.add(id(node))
            items = [self.plain(item, (*path, index), item, active) for index, item in enumerate(node.value)]
            active.discard(id(node))
            return items
        construct = _SCALARS.get(node.tag)
        return construct(SafeConstructor(), node) if construct else node.value

    def check_tag(self, node: Node, path: KeyPath) -> None:
        """Reject explicit YAML tags: the file is data, and `- !pattern` unquoted is a tag by accident."""
        if node.tag in _PLAIN_TAGS:
            return
        if node.tag.startswith("!") and isinstance(node, ScalarNode):
            text = f"{node.tag} {node.value}".strip()
            message = (
                f'{text!r} is read as a YAML tag; quote it: "{text}" '
                "(an exclusion pattern that starts with '!' must be quoted)"
            )
        else:
            message = f"YAML tags are not supported ({node.tag}); write plain strings, lists and mappings"
        self.fail(message, node, path)

    def mapping_entries(self, node: MappingNode, path: KeyPath, *, report: bool) -> list[tuple[ScalarNode, Node]]:
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
                            for entry in self.mapping_entries(source, path, report=False)
                            if entry[0].value not in {k.value for k, _ in merged}
                        ]
                    elif report:
                        self.incomplete.add(path)
                        self.fail(
                            "'<<' merges mappings only: give it an alias of a mapping, like '<<: *defaults'",
                            source,
                            (*path, "<<"),
                        )
                continue
            if not isinstance(key_node, ScalarNode):
                if report:
                    self.incomplete.add(path)
                    self.fail(f"a key must be a plain name, not {_kind(key_node)}", key_node, path)
                continue
            name = key_node.value
            if name in first_line:
                if report:
                    self.fail(
                        f"duplicate key {name!r} (first on line {first_line[name]}); YAML would keep only "
                        "the last one, so merge the two or rename one",
                        key_node,
                        (*path, name),
                    )
                continue
            first_line[name] = _line(key_node)
            own.append((key_node, value_node))
        return own + [entry for entry in merged if entry[0].value not in first_line]

    # The schema's verdict, in words

    def check_schema(self) -> None:
        """One call to the compiled schema when the file is valid. When it is not, the schema is
        applied level by level (each mapping or list on its own, then its children), because the
        validator stops at its first error while the user wants the first one in the file."""
        import fastjsonschema

        try:
            _schema_validator()(self.data)
        except fastjsonschema.JsonSchemaValueException as error:
            before = len(self.problems)
            self.check_level(schema(), self.data, ())
            path = self.path_of(error.name)
            if len(self.problems) == before and path is not None:  # a rule the levels do not split
                self.schema_problem(error.rule, path, error.definition)

    def check_level(self, definition: dict[str, Any], value: Any, path: KeyPath) -> None:
        import fastjsonschema

        definition = _resolve(definition)
        try:
            _level_validator(definition)(value)
        except fastjsonschema.JsonSchemaValueException as error:
            self.schema_problem(error.rule, path, error.definition)
        if isinstance(value, dict):
            for name, child in value.items():
                child_definition = definition.get("properties", {}).get(name, definition.get("additionalProperties"))
                if isinstance(child_definition, dict):
                    self.check_level(child_definition, child, (*path, name))
        elif isinstance(value, list):
            items = definition.get("items")
            for index, child in enumerate(value):
                child_definition = (
                    (items[index] if index < len(items) else definition.get("additionalItems"))
                    if isinstance(items, list)
                    else items
                )
                if isinstance(child_definition, dict):
                    self.check_level(child_definition, child, (*path, index))

    def path_of(self, name: str) -> KeyPath | None:
        """The path of a value from the validator's name for it ("data.components.api.paths[0]");
        matched against the known paths because a key may contain '.'."""
        for path in self.entries:
            if "data" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path) == name:
                return path
        return None

    def schema_problem(self, rule: str, path: KeyPath, definition: dict[str, Any]) -> None:
        entry, value = self.entry(path), self.value(path)
        key = path[-1] if path else ""
        if path in self.incomplete and rule in ("required", "oneOf", "dependencies"):
            return
        if isinstance(value, dict) and rule in ("required", "oneOf", "dependencies", "minProperties"):
            # A missing key next to an unknown one is most likely that typo: report the typo.
            known = definition.get("properties", {})
            if definition.get("additionalProperties") is False and any(name not in known for name in value):
                rule = "additionalProperties"
        if rule == "additionalProperties":
            known = list(definition.get("properties", ()))
            name = next(name for name in value if name not in known)
            self.fail(
                _unknown_key_message(path, name, value[name], known), self.entry((*path, name)).key_node, (*path, name)
            )
        elif rule == "type" and path == ("components",) and value is None:
            self.schema_problem("minProperties", path, definition)
        elif rule == "type":
            expected = _expected(path, definition)
            hint = ""
            if isinstance(entry.value, ScalarNode) and entry.value.tag == STR and definition.get("type") == "array":
                hint = f'; write ["{value}"]'
            elif isinstance(entry.value, ScalarNode) and entry.value.tag != NULL and definition.get("type") == "string":
                hint = f'; quote it: "{entry.value.value}"'
            self.fail(f"expected {expected}, got {_kind(entry.value)}{hint}", entry.where, path)
        elif rule == "enum":
            expected = _CHOICES.get(str(key)) or " or ".join(repr(choice) for choice in definition["enum"])
            if isinstance(value, str):
                message = f"unknown value {value!r}; expected {expected}{_did_you_mean(value, definition['enum'])}"
            else:
                message = f"expected {expected}, got {_kind(entry.value)}"
            self.fail(message, entry.where, path)
        elif rule == "required":
            missing = next(name for name in definition["required"] if name not in value)
            if not path and missing == "components":
                message = f"no 'components:' mapping; add one, e.g. {_EXAMPLE_COMPONENT}"
            else:
                where = f"'{_dotted(path)}'" if path else "the top level"
                hint = _REQUIRED_HINTS.get(missing, f"add '{missing}:'")
                message = f"missing required key '{missing}' in {where}; {hint}"
            self.fail(message, entry.key_node, (*path, missing))
        elif rule == "propertyNames":
            pattern = re.compile(definition["propertyNames"]["pattern"])
            name = next(name for name in value if not pattern.search(name))
            problem = _NAME_PROBLEMS.get(str(key), "{name!r} is not an allowed name here").format(name=name)
            self.fail(problem, self.entry((*path, name)).key_node, (*path, name))
        elif rule == "minProperties" and path == ("components",):
            self.fail(
                f"no components; add at least one under 'components:', e.g. {_EXAMPLE_COMPONENT}", entry.key_node, path
            )
        elif rule == "minItems" and _is_pattern_list(path):
            owner = f"component {path[1]!r}" if path[0] == "components" else f"shared group {path[1]!r}"
            self.fail(
                f"{owner} has no paths, so no change can ever reach it; list the patterns of the files "
                f'it is built from, e.g. ["server/**"]',
                entry.where,
                path,
            )
        elif rule in ("minItems", "minProperties", "minLength"):
            self.fail("must not be empty", entry.where, path)
        elif rule == "minimum":
            unit = " of minutes" if str(key).endswith("-minutes") else ""
            bound = definition["minimum"]
            wanted = f"a positive number{unit}" if bound == 1 else f"at least {bound}{unit}"
            self.fail(f"must be {wanted}, not {value}", entry.value, path)
        elif rule == "pattern":
            self.fail(self.pattern_message(path, value), entry.value, path)
        elif rule == "oneOf":
            self.one_of(path, value, definition)
        elif rule == "dependencies":
            self.dependency(path, value, definition)
        else:
            self.fail(f"{_dotted(path) or 'the file'} breaks the schema's {rule!r} rule", entry.where, path)

    def pattern_message(self, path: KeyPath, value: str) -> str:
        """Why a string does not have the form the schema's `pattern` asks for, and the fix."""
        if _is_pattern_list(path[:-1]):
            return _pattern_problem(value, first=path[-1] == 0) or f"pattern {value!r} can never match"
        owner = path[-2] if isinstance(path[-1], int) else path[-1]
        explain = _EXPLAIN_PATTERN.get(str(owner))
        if owner == "uses":
            return _unknown_group(value, self.value(("shared",)) if "shared" in self.data else {}, {})
        return (explain and explain(value)) or f"{value!r} does not have the expected form"

    def one_of(self, path: KeyPath, value: dict[str, Any], definition: dict[str, Any]) -> None:
        entry = self.entry(path)
        kinds = [name for option in definition["oneOf"] for name in option.get("required", ())]
        present = sorted((name for name in kinds if name in value), key=lambda name: self.line_of((*path, name)))
        if not present:
            self.fail(
                "says nothing about where the deployed commit is read from: give exactly one of "
                "'github-deployment: <environment>', 'workflow: <file>.yml' or 'url: <https://...>' "
                "with 'field: <path.to.sha>'"
                if path[-1:] == ("deployed",)
                else f"give exactly one of: {', '.join(kinds)}",
                entry.key_node,
                path,
            )
            return
        extra = present[1]
        self.fail(
            f"'{present[0]}' and '{extra}' both say where the deployed commit is read from; keep one"
            if path[-1:] == ("deployed",)
            else f"'{present[0]}' and '{extra}' exclude each other; keep one",
            self.entry((*path, extra)).key_node,
            (*path, extra),
        )

    def dependency(self, path: KeyPath, value: dict[str, Any], definition: dict[str, Any]) -> None:
        broken = [
            (name, needed)
            for name, needs in definition["dependencies"].items()
            if name in value
            for needed in needs
            if needed not in value
        ]
        name, needed = min(broken, key=lambda pair: self.line_of((*path, pair[0])))
        message, names_missing = _DEPENDENCY_MESSAGES.get(
            name, (f"'{name}' needs '{needed}': add '{needed}' or remove '{name}'", False)
        )
        self.fail(message, self.entry((*path, name)).key_node, (*path, needed if names_missing else name))

    def line_of(self, path: KeyPath) -> tuple[int, int]:
        node = self.entry(path).key_node
        return (node.start_mark.line, node.start_mark.column)

    # What a schema cannot say: glob syntax and references between sections

    def check_references(self) -> None:
        data = self.data
        components = data.get("components") if isinstance(data.get("components"), dict) else {}
        shared = data.get("shared") if isinstance(data.get("shared"), dict) else {}
        for name, settings in components.items():
            if not isinstance(settings, dict):
                continue
            self.check_patterns(("components", name, "paths"), settings.get("paths"))
            uses = settings.get("uses")
            for index, group in enumerate(uses if isinstance(uses, list) else ()):
                if isinstance(group, str) and (problem := _unknown_group(group, shared, components)):
                    self.fail(
                        problem,
                        self.entry(("components", name, "uses", index)).value,
                        ("components", name, "uses", index),
                    )
        for name, paths in shared.items():
            self.check_patterns(("shared", name), paths)
            if name in components:
                component_node = self.entry(("components", name)).key_node
                shared_node = self.entry(("shared", name)).key_node
                later, section, other = (
                    (shared_node, "shared", component_node)
                    if _line(shared_node) >= _line(component_node)
                    else (component_node, "components", shared_node)
                )
                self.fail(
                    f"{name!r} is both a component and a shared group (line {_line(other)}); "
                    "rename one, names must be unique",
                    later,
                    (section, name),
                )

    def check_patterns(self, path: KeyPath, patterns: Any) -> None:
        for index, text in enumerate(patterns if isinstance(patterns, list) else ()):
            if isinstance(text, str) and (problem := _pattern_problem(text, first=index == 0)):
                self.fail(problem, self.entry((*path, index)).value, (*path, index))


# Words for the schema's rules where the key's name alone is not enough

_EXAMPLE_COMPONENT = "'api: {deploy: auto, paths: [\"server/**\"]}'"
_REQUIRED_HINTS = {
    "deploy": "add 'deploy: auto' (CI deploys it on every merge) or 'deploy: manual'",
    "paths": "add 'paths:' with the patterns of the files it is built from, e.g. [\"server/**\"]",
    "webhook-secret": "add 'webhook-secret:' with the name of the secret that holds the webhook URL",
}
_CHOICES = {
    "deploy": "'auto' (CI deploys it on every merge to main) or 'manual' (someone has to run its deploy)",
    "issue-mode": "'single' (one issue lists every component) or 'per-component' (one issue each)",
}
_MAPPINGS = {
    "components": "a mapping of component names to their settings",
    "shared": "a mapping of group names to lists of path patterns",
    "deploy-inputs": "a mapping of the deploy workflow's input names to values, e.g. {agent: tenant}",
}
_LISTS = {"paths": "path patterns", "uses": "shared group names", "owners": "@-handles", "assignees": "GitHub logins"}
_NAME_RULE = "use letters, digits, '.', '_' and '-', starting with a letter or digit"
_NAME_PROBLEMS = {
    "components": "component name {name!r} is not allowed: " + _NAME_RULE,
    "shared": "shared group name {name!r} is not allowed: " + _NAME_RULE,
    "deploy-inputs": "{name!r} is not a workflow input name: use letters, digits, '_' and '-', "
    "starting with a letter or '_'",
}
_DEPENDENCY_MESSAGES = {
    # name: (message, whether the message is about the missing key rather than the present one)
    "job": ("'job' names a job of 'workflow': add 'workflow: <file>.yml' or remove 'job'", False),
    "deploy-inputs": (
        "'deploy-inputs' are the inputs of 'deploy-workflow': add 'deploy-workflow: <file>.yml' "
        "or remove 'deploy-inputs'",
        False,
    ),
    "url": (
        "'url' needs 'field': the dotted path of the commit SHA in the JSON it returns, e.g. 'field: git.sha'",
        True,
    ),
    "field": ("'field' is read from the JSON of 'url': add 'url: <https://...>' or remove 'field'", False),
}


def _expected(path: KeyPath, definition: dict[str, Any]) -> str:
    kind = definition.get("type")
    if kind == "object" and "required" in definition:
        return "a mapping with " + " and ".join(f"'{name}'" for name in definition["required"])
    if kind == "object" and "oneOf" in definition:
        return "a mapping with one of " + ", ".join(
            name for option in definition["oneOf"] for name in option.get("required", ())
        )
    if kind == "object":
        return _MAPPINGS.get(str(path[-1]) if path else "", "a mapping")
    if kind == "array":
        items = "path patterns" if _is_pattern_list(path) else _LISTS.get(str(path[-1]), "values")
        return f"a list of {items}"
    if kind == "integer":
        return "an integer (minutes)" if str(path[-1]).endswith("-minutes") else "an integer"
    return {"string": "a string", "boolean": "true or false", "number": "a number"}.get(str(kind), f"a {kind}")


def _is_pattern_list(path: KeyPath) -> bool:
    return (len(path) == 3 and path[0] == "components" and path[2] == "paths") or (
        len(path) == 2 and path[0] == "shared"
    )


def _unknown_key_message(path: KeyPath, name: str, value: Any, known: Sequence[str]) -> str:
    message = f"unknown key {name!r}"
    suggestion = _did_you_mean(name, known)
    if suggestion:
        return message + suggestion
    if not path and isinstance(value, dict) and {"deploy", "paths"} & set(value):
        return message + f"; components go under 'components:', e.g. 'components: {{{name}: ...}}'"
    return message + f"; expected one of: {', '.join(known)}"


def _pattern_problem(text: str, *, first: bool) -> str | None:
    try:
        pattern = parse_pattern(text)
    except PatternError as exc:
        return f"pattern {text!r} can never match: {exc}"
    if first and pattern.negated:
        return (
            f"{text!r} is first, so it excludes nothing: an exclusion must follow the patterns it "
            f'narrows, e.g. ["server/**", "{text}"]'
        )
    return None


def _unknown_group(group: str, shared: dict[str, Any], components: dict[str, Any]) -> str | None:
    if group in shared:
        return None
    if group in components:
        return (
            f"{group!r} is a component, not a shared group; 'uses' lists groups from 'shared:', "
            "so move the paths both need into a shared group"
        )
    if not shared:
        return (
            f"no shared group {group!r}: the file has no 'shared:' section; add one, e.g. "
            f"'shared: {{{group}: [\"packages/common/**\"]}}'"
        )
    return f"no shared group {group!r}; the shared groups are: {', '.join(shared)}{_did_you_mean(group, list(shared))}"


def _owner_problem(owner: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}", owner) or re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", owner):
        return f"{owner!r} is not an @-handle; write '@{owner}'"
    return f"{owner!r} is not an @-handle: write '@user' for a person or '@org/team' for a team"


def _login_problem(login: str) -> str:
    if login.startswith("@") and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}", login[1:]):
        return f"{login!r}: assignees are GitHub logins without '@'; write {login[1:]!r}"
    return f"{login!r} is not a GitHub login (letters, digits and '-'; teams cannot be assigned)"


def _secret_problem(secret: str) -> str:
    if secret.startswith(("http://", "https://")):
        return (
            "this is the webhook URL itself; anyone who reads the repository could post with it. "
            "Store it as a repository secret and give the secret's name, e.g. SLACK_WEBHOOK_URL"
        )
    return f"{secret!r} is not a secret name: use letters, digits and '_', e.g. SLACK_WEBHOOK_URL"


def _workflow_problem(text: str) -> str:
    base = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    fix = (
        f"give the file name only, like {base!r}"
        if re.fullmatch(r"[^/\\]+\.ya?ml", base)
        else "give the file name of a workflow in .github/workflows/, like 'deploy.yml'"
    )
    return f"{text!r} is not a workflow file name: {fix}"


def _doc_path_problem(text: str) -> str:
    return (
        f"{text!r} is not a file path in the repository: write it relative to the root, "
        f"with '/' between folders, e.g. {DEFAULT_ONBOARDING!r}"
    )


_EXPLAIN_PATTERN: dict[str, Callable[[str], str]] = {
    "quick-reference": _doc_path_problem,
    "onboarding": _doc_path_problem,
    "owners": _owner_problem,
    "assignees": _login_problem,
    "webhook-secret": _secret_problem,
    "deploy-workflow": _workflow_problem,
    "workflow": _workflow_problem,
    "url": lambda text: (
        f"{text!r} is not an http(s) URL; write the full address, e.g. 'https://tenant.example.com/version'"
    ),
    "field": lambda text: (
        f"{text!r} is not a dotted path; write the keys that lead to the SHA in the JSON, e.g. 'git.sha'"
    ),
}


# From valid data to the dataclasses


def _settings(cls: type, values: dict[str, Any], **extra: Any) -> Any:
    """A settings dataclass from a validated mapping: 'max-age-minutes' fills `max_age_minutes`,
    lists become tuples and mappings tuples of (key, value) in file order; what the file leaves out
    keeps the dataclass's default."""
    fields = {
        name.replace("-", "_"): tuple(value.items())
        if isinstance(value, dict)
        else tuple(value)
        if isinstance(value, list)
        else value
        for name, value in values.items()
    }
    return cls(**fields, **extra)


def _config(file: str, document: _Document) -> Config:
    data = document.data
    components = []
    for name, settings in data["components"].items():
        deployed = settings.get("deployed")
        source = (
            DeployedSource(
                next(kind for kind in DEPLOYED_KINDS if kind in deployed),
                environment=deployed.get("github-deployment"),
                workflow=deployed.get("workflow"),
                job=deployed.get("job"),
                url=deployed.get("url"),
                field=deployed.get("field"),
            )
            if deployed
            else DeployedSource("github-deployment", environment=name)
        )
        plain = {key: value for key, value in settings.items() if key != "deployed"}
        components.append(
            _settings(
                Component, plain, name=name, deployed=source, line=_line(document.entry(("components", name)).key_node)
            )
        )
    shared = tuple(
        SharedGroup(name, tuple(paths), line=_line(document.entry(("shared", name)).key_node))
        for name, paths in (data.get("shared") or {}).items()
    )
    slack = (data.get("notify") or {}).get("slack")
    return Config(
        path=file,
        components=tuple(components),
        shared=shared,
        slack=_settings(SlackSettings, slack) if slack else None,
        monitor=_settings(MonitorSettings, data.get("monitor") or {}),
        docs=_settings(DocsSettings, data.get("docs") or {}),
    )

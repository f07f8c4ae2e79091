"""`dualdeploy init`: propose a `.github/dual-deploy.yml` from what the repository already has.

Components are folders with their own package.json, Dockerfile or pyproject.toml (the root is the
workspace, not a component). Shared code is what sits under `packages/` (and `libs/`, `shared/`,
`common/`), plus folders outside a manual component that its sources import by relative path.
A component deploys manually when a deploy workflow that runs only by hand (workflow_dispatch)
names its folder or its name; automatically when a workflow deploys it on push, or when no
workflow deploys it at all (a hosting platform such as Vercel or Render deploying on push).
The proposal is validated like any config before it is shown, and written only when confirmed.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dualdeploy.checks import check_report
from dualdeploy.config import DEFAULT_CONFIG_PATH, NAME_RE, SCHEMA_URL, Config, parse_config
from dualdeploy.errors import DualDeployError
from dualdeploy.patterns import FilterSet, PatternError, parse_pattern
from dualdeploy.render import SafeMarkdown, render, render_text

SERVICE_FILES = ("package.json", "Dockerfile", "pyproject.toml")
SHARED_ROOTS = ("packages", "libs", "shared", "common")
SKIPPED_DIRS = {
    "node_modules",
    "vendor",
    "dist",
    "build",
    "out",
    "coverage",
    "target",
    "venv",
    "__pycache__",
    "test",
    "tests",
    "__tests__",
    "fixtures",
    "examples",
    "docs",
}
DEPLOY_WORDS = re.compile(r"deploy|release|publish|rollout|ship|\bcd\b", re.IGNORECASE)
MERGE_BRANCHES = ("main", "master")
SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
RELATIVE_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](\.{1,2}/[^"'\n]+)["']""")
MAX_SOURCE_FILES = 5000


@dataclass(frozen=True)
class Workflow:
    """A workflow file that deploys something, and when it runs."""

    file: str  # the file name under .github/workflows/
    text: str  # without its comments
    on_merge: bool  # runs by itself when code lands on main (push, workflow_run, schedule)
    by_hand: bool  # can be run by a person (workflow_dispatch, a tag, a release)
    push_paths: tuple[str, ...] = ()
    values: tuple[str, ...] = ()  # what it deploys by value: workflow_dispatch choice options, matrix values
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()  # each workflow_dispatch choice input and its options

    @property
    def manual_only(self) -> bool:
        return self.by_hand and not self.on_merge


@dataclass(frozen=True)
class Service:
    """A folder that looks separately deployed."""

    directory: str  # repo-relative, POSIX
    marker: str  # the file that gave it away, repo-relative
    package_name: str | None = None


@dataclass
class Proposal:
    """One proposed component, with why it was proposed so (shown as comments in the YAML)."""

    name: str
    service: Service
    deploy: str = "auto"
    paths: list[str] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)
    deploy_workflow: str | None = None
    deploy_inputs: dict[str, str] = field(default_factory=dict)  # the choice that names it, e.g. {agent: alpha}
    reason: str = "no-workflow"  # push-paths | dispatch | push | no-workflow
    paths_from: str | None = None  # the workflow whose `paths:` filter was taken over


@dataclass(frozen=True)
class SharedProposal:
    name: str
    paths: tuple[str, ...]
    reason: str  # "package" (under packages/) | "import" (imported by a manual component)


# --- scanning -----------------------------------------------------------------------------------


def _walk(root: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """(repo-relative dir, subdirs, files), skipping hidden, vendored and build folders."""
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        relative = Path(current).relative_to(root).as_posix()
        yield ("" if relative == "." else relative), dirs, sorted(files)


def _package_name(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    name: object = None
    if path.name == "package.json":
        try:
            data = json.loads(text)
        except ValueError:
            return None
        name = data.get("name") if isinstance(data, dict) else None
    elif path.name == "pyproject.toml":
        match = re.search(r'^\[(?:project|tool\.poetry)\]\s*$(?:(?!^\[).)*?^name\s*=\s*"([^"]+)"', text, re.M | re.S)
        name = match.group(1) if match else None
    if not isinstance(name, str):
        return None
    name = name.rsplit("/", 1)[-1]  # "@acme/tenant-agent" -> "tenant-agent"
    return name if NAME_RE.fullmatch(name) else None


def find_services(root: Path) -> tuple[list[Service], list[str]]:
    """Folders with a deploy marker (outside shared roots), and the shared package folders."""
    services: list[Service] = []
    shared: list[str] = []
    for directory, subdirs, files in _walk(root):
        if directory in SHARED_ROOTS:
            shared.extend(f"{directory}/{sub}" for sub in subdirs)
            subdirs.clear()
            continue
        if not directory:
            continue
        marker = next((name for name in SERVICE_FILES if name in files), None)
        if marker is None:
            continue
        package_name = next(
            (
                name
                for candidate in ("package.json", "pyproject.toml")
                if candidate in files and (name := _package_name(root / directory / candidate))
            ),
            None,
        )
        services.append(Service(directory, f"{directory}/{marker}", package_name))
    return services, shared


def _triggers(document: dict) -> dict:
    # YAML 1.1 reads the key `on` as the boolean true.
    value = document.get("on", document.get(True))
    if isinstance(value, str):
        return {value: None}
    if isinstance(value, list):
        return {str(item): None for item in value}
    return value if isinstance(value, dict) else {}


def _branch_matches_main(patterns: object) -> bool:
    if not isinstance(patterns, list):
        return True
    return any(
        isinstance(pattern, str) and (pattern in MERGE_BRANCHES or ("*" in pattern and "/" not in pattern))
        for pattern in patterns
    )


def read_workflows(root: Path) -> list[Workflow]:
    """The deploy workflows of the repository: by name, or because a job has an `environment:`."""
    folder = root / ".github" / "workflows"
    workflows = []
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else ():
        if path.suffix not in (".yml", ".yaml"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
            document = yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(document, dict):
            continue
        jobs = document.get("jobs") if isinstance(document.get("jobs"), dict) else {}
        has_environment = any(isinstance(job, dict) and job.get("environment") for job in jobs.values())
        named_deploy = DEPLOY_WORDS.search(f"{path.name} {document.get('name') or ''}")
        if not (named_deploy or has_environment):
            continue
        triggers = _triggers(document)
        push = triggers.get("push", False) if "push" in triggers else False
        push_settings = push if isinstance(push, dict) else {}
        push_on_merge = "push" in triggers and (
            _branch_matches_main(push_settings.get("branches"))
            if "branches" in push_settings
            else "tags" not in push_settings
        )
        on_merge = push_on_merge or "workflow_run" in triggers or "schedule" in triggers
        by_hand = bool({"workflow_dispatch", "repository_dispatch", "release"} & set(triggers)) or (
            "push" in triggers and "tags" in push_settings
        )
        paths = push_settings.get("paths") if push_on_merge else None
        push_paths = tuple(p for p in paths if isinstance(p, str)) if isinstance(paths, list) else ()
        # Comments are prose ("not the api"); only what the workflow does may name a component.
        code = re.sub(r"(^|\s)#.*$", "", text, flags=re.MULTILINE)
        workflows.append(
            Workflow(
                path.name, code, on_merge, by_hand, push_paths, deploy_values(triggers, jobs), choice_inputs(triggers)
            )
        )
    return workflows


def deploy_values(triggers: dict, jobs: dict) -> tuple[str, ...]:
    """The values a workflow picks what to deploy from: the options of its `workflow_dispatch` choice
    inputs and the values of its jobs' matrices (`agent: [alpha, beta]`)."""
    values: list[object] = []
    dispatch = triggers.get("workflow_dispatch")
    inputs = dispatch.get("inputs") if isinstance(dispatch, dict) else None
    for spec in inputs.values() if isinstance(inputs, dict) else ():
        if isinstance(spec, dict) and isinstance(spec.get("options"), list):
            values += spec["options"]
    for job in jobs.values():
        strategy = job.get("strategy") if isinstance(job, dict) else None
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        for key, entries in matrix.items() if isinstance(matrix, dict) else ():
            if key in ("include", "exclude") and isinstance(entries, list):
                values += [value for entry in entries if isinstance(entry, dict) for value in entry.values()]
            elif isinstance(entries, list):
                values += entries
    return tuple(dict.fromkeys(str(value) for value in values if isinstance(value, (str, int))))


def choice_inputs(triggers: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The `workflow_dispatch` inputs of type choice, each with its options."""
    dispatch = triggers.get("workflow_dispatch")
    inputs = dispatch.get("inputs") if isinstance(dispatch, dict) else None
    return tuple(
        (str(name), tuple(str(option) for option in spec["options"] if isinstance(option, (str, int))))
        for name, spec in (inputs.items() if isinstance(inputs, dict) else ())
        if isinstance(spec, dict) and isinstance(spec.get("options"), list)
    )


def _mentions_path(text: str, directory: str) -> bool:
    """The folder itself (not a deeper one) appears in the text: `dir`, `dir/`, `dir/**`, `./dir`."""
    return bool(re.search(rf"(?<![\w./-]){re.escape(directory)}(?:/\*\*|/\*|/)?(?![\w./-])", text)) or bool(
        re.search(rf"(?<![\w./-])\./{re.escape(directory)}(?:/)?(?![\w./-])", text)
    )


def _mentions_name(text: str, name: str) -> bool:
    """The name as a word of its own, not as a piece of a path (`cd server/src/agents/alpha` does not
    name `server`) nor of a file name (`server.js`)."""
    return bool(re.search(rf"(?<![\w./-]){re.escape(name)}(?![\w/-]|\.\w)", text))


def mentions(workflow: Workflow, proposal: Proposal, siblings: dict[str, str]) -> bool:
    """The workflow deploys this component itself: a choice option or matrix value names it, or its
    folder (`working-directory`, `cd`), its name, or its parent folder and its folder name appear;
    never a path inside the folder (an agent deep inside the API's folder does not name the API)."""
    service = proposal.service
    folder = posixpath.basename(service.directory)
    if proposal.name in workflow.values or folder in workflow.values:  # a choice option, a matrix value
        return True
    if _mentions_path(workflow.text, service.directory) or _mentions_name(workflow.text, proposal.name):
        return True
    parent = siblings.get(service.directory)
    return bool(parent and parent in workflow.text and _mentions_name(workflow.text, folder))


def _covers(push_paths: tuple[str, ...], directory: str, *, specific: bool = False) -> bool:
    """The filter takes in files of the folder; `specific`: through a pattern written for the folder
    or something inside it, not for a parent folder."""
    if not push_paths:
        return False
    try:
        if not FilterSet({"workflow": push_paths}).match_path(f"{directory}/__dualdeploy_probe__"):
            return False
        patterns = [parse_pattern(text) for text in push_paths]
    except PatternError:
        return False
    if not specific:
        return True
    return any(
        not pattern.negated and _is_under((pattern.prefix or pattern.glob).rstrip("/"), directory)
        for pattern in patterns
    )


def _sibling_groups(services: list[Service]) -> dict[str, str]:
    """Service folder -> its parent, for folders that share the parent with another service."""
    by_parent: dict[str, list[str]] = {}
    for service in services:
        by_parent.setdefault(posixpath.dirname(service.directory), []).append(service.directory)
    return {
        directory: parent
        for parent, directories in by_parent.items()
        if parent and len(directories) > 1
        for directory in directories
    }


def _unique_names(services: list[Service]) -> dict[str, str]:
    """A component name for each service folder: its package name, else its folder name, made unique."""
    names: dict[str, str] = {}
    for service in services:
        folder = posixpath.basename(service.directory)
        candidates = [service.package_name, folder if NAME_RE.fullmatch(folder) else None]
        parent = posixpath.basename(posixpath.dirname(service.directory))
        candidates.append(f"{parent}-{folder}" if NAME_RE.fullmatch(f"{parent}-{folder}") else None)
        name = next((c for c in candidates if c and c not in names.values()), None)
        if name is None:
            base = re.sub(r"[^A-Za-z0-9._-]+", "-", service.directory).strip("-._") or "component"
            name, counter = base, 2
            while name in names.values():
                name, counter = f"{base}-{counter}", counter + 1
        names[service.directory] = name
    return names


def _is_under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory + "/")


def _own_paths(service: Service, services: list[Service], siblings: dict[str, str]) -> list[str]:
    """`dir/**`, minus the folders of the services nested inside it."""
    nested = [other.directory for other in services if other.directory != service.directory]
    nested = [directory for directory in nested if _is_under(directory, service.directory)]
    excluded: list[str] = []
    for directory in nested:
        parent = siblings.get(directory)
        cut = parent if parent and _is_under(parent, service.directory) and parent != service.directory else directory
        if any(_is_under(cut, done) for done in excluded):
            continue
        excluded.append(cut)
    return [f"{service.directory}/**", *(f"!{directory}/**" for directory in excluded)]


def _imported_folders(root: Path, service: Service, limit: int = MAX_SOURCE_FILES) -> list[str]:
    """Folders outside the service that its JS/TS sources import by relative path."""
    found: list[str] = []
    scanned = 0
    for directory, _subdirs, files in _walk(root / service.directory):
        for name in files:
            if not name.endswith(SOURCE_SUFFIXES) or name.endswith(".d.ts"):
                continue
            scanned += 1
            if scanned > limit:
                return found
            file_dir = posixpath.join(service.directory, directory) if directory else service.directory
            try:
                text = (root / file_dir / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for target in RELATIVE_IMPORT.findall(text):
                resolved = posixpath.normpath(posixpath.join(file_dir, target))
                if resolved.startswith("..") or _is_under(resolved, service.directory):
                    continue
                folder = resolved if (root / resolved).is_dir() else posixpath.dirname(resolved)
                if folder and folder not in found:
                    found.append(folder)
    return found


def _shared_name(path: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", path).strip("-._") or "shared"
    name = base if base not in taken else f"{base}-shared"
    counter = 2
    while name in taken:
        name, counter = f"{base}-shared-{counter}", counter + 1
    return name


# --- proposing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Findings:
    components: tuple[Proposal, ...]
    shared: tuple[SharedProposal, ...]
    workflows: tuple[Workflow, ...]


def propose(root: Path) -> Findings:
    services, shared_folders = find_services(root)
    if not services:
        raise DualDeployError(
            "found no folder with its own package.json, Dockerfile or pyproject.toml (other than the "
            "repository root), so there is no component to propose; write .github/dual-deploy.yml by hand "
            "(see the README's config section)"
        )
    workflows = read_workflows(root)
    siblings = _sibling_groups(services)
    names = _unique_names(services)
    proposals = [
        Proposal(names[service.directory], service, paths=_own_paths(service, services, siblings))
        for service in services
    ]
    for proposal in proposals:
        _decide(proposal, workflows, siblings, proposals)

    taken = set(names.values())
    shared: list[SharedProposal] = []
    for folder in shared_folders:
        group = SharedProposal(_shared_name(posixpath.basename(folder), taken), (f"{folder}/**",), "package")
        taken.add(group.name)
        shared.append(group)
    package_groups = [group.name for group in shared]
    for proposal in proposals:
        if proposal.deploy != "manual":
            continue
        proposal.uses = list(package_groups)
        for folder in _imported_folders(root, proposal.service):
            owner = next((g for g in shared if any(_is_under(folder, p[: -len("/**")]) for p in g.paths)), None)
            if owner is None:
                if any(_is_under(folder, other.service.directory) and other.deploy == "manual" for other in proposals):
                    continue  # another manual component's own code: a smell, not shared code to propose
                owner = SharedProposal(_shared_name(folder, taken), (f"{folder}/**",), "import")
                taken.add(owner.name)
                shared.append(owner)
            if owner.name not in proposal.uses:
                proposal.uses.append(owner.name)
    return Findings(tuple(proposals), tuple(shared), tuple(workflows))


def _decide(proposal: Proposal, workflows: list[Workflow], siblings: dict[str, str], everyone: list[Proposal]) -> None:
    """Manual or automatic, and by which workflow; the first rule that applies wins.

    A `paths:` filter written for this very folder is the strongest sign; then a workflow that runs
    only by hand and names the component; a broader filter (`server/**` over an agent inside
    `server/`) or a mention in a workflow that runs on push say less, since such a workflow may
    deploy a neighbour.
    """
    directory = proposal.service.directory
    for workflow in workflows:
        if workflow.on_merge and _covers(workflow.push_paths, directory, specific=True):
            proposal.deploy, proposal.deploy_workflow, proposal.reason = "auto", workflow.file, "push-paths"
            covered = [p for p in everyone if _covers(workflow.push_paths, p.service.directory, specific=True)]
            if covered == [proposal] and len(proposal.paths) == 1 and _valid_patterns(workflow.push_paths):
                proposal.paths, proposal.paths_from = list(workflow.push_paths), workflow.file
            return
    for workflow in workflows:
        if workflow.manual_only and mentions(workflow, proposal, siblings):
            proposal.deploy, proposal.deploy_workflow, proposal.reason = "manual", workflow.file, "dispatch"
            # The choice option that names it is what a person picks in the Run workflow form.
            folder = posixpath.basename(directory)
            for name, options in workflow.choices:
                picked = next((option for option in options if option in (proposal.name, folder)), None)
                if picked is not None:
                    proposal.deploy_inputs[name] = picked
            return
    for workflow in workflows:
        if workflow.on_merge and (_covers(workflow.push_paths, directory) or mentions(workflow, proposal, siblings)):
            proposal.deploy, proposal.deploy_workflow, proposal.reason = "auto", workflow.file, "push"
            return


def _valid_patterns(patterns: Iterable[str]) -> bool:
    patterns = list(patterns)
    try:
        parsed = [parse_pattern(pattern) for pattern in patterns]
    except PatternError:
        return False
    return bool(parsed) and not parsed[0].negated


# --- the YAML -----------------------------------------------------------------------------------


def _yaml_key(name: str) -> SafeMarkdown:
    plain = yaml.safe_load(f"{name}: x")
    return SafeMarkdown(name if isinstance(plain, dict) and name in plain else json.dumps(name))


def _yaml_scalar(value: str) -> SafeMarkdown:
    """Plain when YAML reads it back as the same string (`deploy-agents.yml`), else double-quoted."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", value) and yaml.safe_load(value) == value:
        return SafeMarkdown(value)
    return SafeMarkdown(json.dumps(value))


def _yaml_list(values: Iterable[str]) -> SafeMarkdown:
    return SafeMarkdown("[" + ", ".join(_yaml_scalar(value) for value in values) + "]")


def _yaml_mapping(values: dict[str, str]) -> SafeMarkdown:
    return SafeMarkdown(
        "{" + ", ".join(f"{_yaml_key(key)}: {_yaml_scalar(value)}" for key, value in values.items()) + "}"
    )


def _comment(value: object) -> SafeMarkdown:
    """Text for a YAML comment: one line, whatever a file name contains."""
    return SafeMarkdown(" ".join(str(value).split()))


def render_proposal(findings: Findings) -> str:
    return render(
        "docs/init_config.yml.j2",
        schema_url=SafeMarkdown(SCHEMA_URL),
        components=findings.components,
        shared=findings.shared,
        workflows=findings.workflows,
        key=_yaml_key,
        flow=_yaml_list,
        mapping=_yaml_mapping,
        scalar=_yaml_scalar,
        comment=_comment,
    )


# --- the command --------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    root = Path(args.repo)
    if not root.is_dir():
        raise DualDeployError(f"{args.repo} is not a folder; --repo must name the repository to scan", key="--repo")
    config_path = args.config or DEFAULT_CONFIG_PATH
    target = root / config_path
    findings = propose(root)
    text = render_proposal(findings)
    try:
        proposed = parse_config(text, config_path)
    except DualDeployError as error:  # a bug: the proposal must always be a valid config
        raise DualDeployError(f"the proposed config is not valid ({error.one_line()}); please report this") from None
    manual = [proposal.name for proposal in findings.components if proposal.deploy == "manual"]
    print(text, end="")
    print(
        f"\n# {len(findings.components)} components, {len(manual)} deployed by hand"
        f"{': ' + ', '.join(manual) if manual else ''}; {len(findings.shared)} shared groups.",
        file=sys.stderr,
    )
    show_checks(root, proposed, text)
    if args.dry_run:
        return 0
    if target.exists() and not args.force:
        raise DualDeployError(
            f"{config_path} already exists, so nothing was written; compare it with the proposal above, "
            "or pass --force to replace it",
            file=config_path,
        )
    if not args.yes and not _confirmed(config_path):
        print(f"Nothing written. Save the proposal yourself, or run again with --yes to write {config_path}.")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(
        f"Wrote {config_path}. Review it, then run `dualdeploy docs` to generate the PR template, CODEOWNERS "
        "and the runbook from it, and add the workflows (README: Adopt in five minutes)."
    )
    return 0


def show_checks(root: Path, proposed: Config, text: str) -> None:
    """What `dualdeploy check` would say about the proposal, so a person fixes it before relying on it."""
    from dualdeploy.changes import Git
    from dualdeploy.jobs import common

    try:
        git = Git(root)
        try:
            branch = common.default_branch(git)
        except DualDeployError:
            branch = "main"
        found = common.check_model(git, proposed, root, branch=branch, text=text)
    except DualDeployError as error:
        print(f"# The proposal was not checked against the repository: {error.one_line()}", file=sys.stderr)
        return
    print(render_text("check.txt.j2", **check_report(proposed, found)), end="", file=sys.stderr)


def _confirmed(config_path: str) -> bool:
    print(f"Write this to {config_path}? [y/N] ", end="", flush=True, file=sys.stderr)
    try:
        answer = input()
    except EOFError:
        raise DualDeployError(
            "no answer to the question (standard input is closed): pass --yes to write without asking, "
            "or --dry-run to only print the proposal"
        ) from None
    return answer.strip().lower() in ("y", "yes")


__all__ = ["Findings", "Proposal", "SharedProposal", "Workflow", "find_services", "propose", "read_workflows", "run"]

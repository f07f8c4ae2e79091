"""`dualdeploy docs` (alias `generate`): every guide that depends on the config, generated from it.

The quick reference card and the onboarding FAQ live where the config's `docs:` settings put
them; the other targets have fixed places (GitHub reads them there).

Each target file gets one generated section between markers (see `dualdeploy.markers`); the rest
of the file is its owner's. `--check` writes nothing: it prints a unified diff of what would change
and exits 1, so CI fails when someone edits the config and forgets the docs, or edits a generated
part by hand.

The status page is the dashboard (`dashboard.build_rows` and its template) as a page, and the one
target with live data: with a token it is a snapshot of GitHub at the time it was generated;
without one every component is unknown. `--check` never reads GitHub, so a snapshot carries a
fingerprint of the page it would be without a token; the check compares fingerprints, which
changes only with the config.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import posixpath
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import bracex

from dualdeploy import actions_io, dashboard
from dualdeploy.alerts import AlertItem
from dualdeploy.config import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_ONBOARDING,
    DEFAULT_QUICK_REFERENCE,
    Component,
    Config,
    load_config,
)
from dualdeploy.dashboard import DashboardRow
from dualdeploy.drift import Deployment, classify
from dualdeploy.errors import EXIT_GAP, DualDeployError
from dualdeploy.guides import RUNBOOK_PATH, STATUS_PATH, guide_values
from dualdeploy.markers import HASH, MARKDOWN, CommentStyle, find_sections, section_body, update_section
from dualdeploy.render import SafeMarkdown, render

HISTORY_LIMIT = 20
HISTORY_PER_ENVIRONMENT = 5
STRUCTURE_FINGERPRINT = re.compile(r"<!-- dualdeploy:status-structure sha256:(?P<digest>[0-9a-f]{64}) -->")


@dataclass(frozen=True)
class Target:
    """One generated file: where it lives, its section's name, and the templates that write it."""

    key: str  # the name `--only` takes
    path: str  # relative to the repository root
    section: str
    template: str
    style: CommentStyle = MARKDOWN
    new_file_template: str | None = None  # the whole file when it does not exist yet
    only_if_present: bool = False
    # Other places GitHub reads the same file from: an existing one there is updated instead, since
    # GitHub uses one CODEOWNERS (or PR template) and a second would hide the first.
    elsewhere: tuple[str, ...] = ()
    configured: str | None = None  # the attribute of the config's `docs:` settings that moves the file

    def path_in(self, config: Config) -> str:
        """Where the config puts the file: its `docs:` setting when it has one, else the fixed path."""
        return getattr(config.docs, self.configured) if self.configured else self.path


TARGETS = (
    Target(
        "pr-template",
        ".github/pull_request_template.md",
        "agent-deployment",
        "docs/pr_template.md.j2",
        elsewhere=("pull_request_template.md", "docs/pull_request_template.md"),
    ),
    Target(
        "codeowners",
        ".github/CODEOWNERS",
        "codeowners",
        "docs/codeowners.j2",
        style=HASH,
        elsewhere=("CODEOWNERS", "docs/CODEOWNERS"),
    ),
    Target(
        "issue-template",
        ".github/ISSUE_TEMPLATE/stale-agent.md",
        "stale-agent",
        "docs/issue_template.md.j2",
        new_file_template="docs/issue_template.new.md.j2",
    ),
    Target(
        "runbook",
        RUNBOOK_PATH,
        "runbook",
        "docs/runbook.md.j2",
        new_file_template="docs/runbook.new.md.j2",
    ),
    Target(
        "status",
        STATUS_PATH,
        "status",
        "docs/status.md.j2",
        new_file_template="docs/status.new.md.j2",
    ),
    Target(
        "quick-reference",
        DEFAULT_QUICK_REFERENCE,
        "quick-reference",
        "docs/quick_reference.md.j2",
        new_file_template="docs/quick_reference.new.md.j2",
        configured="quick_reference",
    ),
    Target(
        "onboarding",
        DEFAULT_ONBOARDING,
        "onboarding",
        "docs/onboarding.md.j2",
        new_file_template="docs/onboarding.new.md.j2",
        configured="onboarding",
    ),
    Target("workflows-readme", ".github/workflows/WORKFLOWS_README.md", "architecture", "docs/architecture.md.j2"),
    Target("claude-md", "CLAUDE.md", "architecture", "docs/architecture.md.j2"),
    Target("agents-md", "AGENTS.md", "architecture", "docs/architecture.md.j2", only_if_present=True),
)
TARGET_KEYS = tuple(target.key for target in TARGETS)


# --- CODEOWNERS ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnersLine:
    """One line of the CODEOWNERS block: a rule (`pattern` and `owners`) or a pattern left out and why."""

    pattern: str
    owners: str = ""
    skipped: str = ""  # "exclusion" | "range" | "space" when the pattern cannot be written


@dataclass(frozen=True)
class OwnersEntry:
    component: Component
    lines: tuple[OwnersLine, ...]


def codeowners_patterns(pattern: str) -> tuple[tuple[str, ...], str]:
    """A config glob in CODEOWNERS' gitignore dialect: (patterns, "") or ((), why it cannot be).

    Config globs are repo-relative and unanchored at the start; CODEOWNERS patterns with a leading
    `/` are anchored at the root, `dir/` covers everything below `dir`, and `{a,b}` does not exist,
    so braces become one line per alternative.
    """
    if pattern.startswith("!"):
        return (), "exclusion"
    converted: list[str] = []
    for expanded in bracex.expand(pattern):
        if "[" in expanded or "]" in expanded:
            return (), "range"
        if re.search(r"\s", expanded) or expanded.startswith("#"):
            return (), "space"
        converted.append(_codeowners_pattern(expanded))
    return tuple(dict.fromkeys(converted)), ""


def _codeowners_pattern(glob: str) -> str:
    if glob == "**":
        return "*"
    body = glob[: -len("**")] if glob.endswith("/**") else glob  # "dir/**" -> "dir/": the folder, recursively
    if body.startswith("**/"):
        rest = body[len("**/") :]
        # Without a slash inside, a gitignore pattern matches at any depth by itself ("*.md", "migrations/").
        return rest if "/" not in rest.rstrip("/") else body
    return "/" + body


def codeowners_entries(config: Config) -> tuple[OwnersEntry, ...]:
    entries = []
    for component in config.components:
        lines: list[OwnersLine] = []
        owners = " ".join(component.owners)
        for pattern in component.paths:
            converted, skipped = codeowners_patterns(pattern)
            if skipped:
                lines.append(OwnersLine(pattern, skipped=skipped))
            lines.extend(OwnersLine(text, owners) for text in converted)
        entries.append(OwnersEntry(component, tuple(lines)))
    return tuple(entries)


# --- the stale-agent issue template ---------------------------------------------------------------


def stale_agent_forms(config: Config, branch: str = "main") -> tuple[AlertItem, ...]:
    """The monitor's alert items, as far as the config knows them: the template fills in the rest."""
    return tuple(
        AlertItem(
            name=component.name,
            sha=None,
            deployed_at=None,
            commit_url=None,
            repo_url=None,
            deploy_url=None,  # issue bodies do not resolve relative links
            workflow=component.deploy_workflow,
            deploy_command=component.deploy_command(branch),
            owners=component.owners,
            waited="",
            pending=(),
        )
        for component in config.manual_components()
    )


# --- the status page ----------------------------------------------------------------------------


NO_TOKEN = "no token: generated without GitHub access"


@dataclass(frozen=True)
class HistoryRow:
    component: str
    environment: str
    sha: str
    state: str
    created_at: int  # unix seconds
    creator: str
    url: str | None = None


@dataclass(frozen=True)
class LiveStatus:
    """What GitHub said when the page was generated; None in the page's context means no token."""

    rows: tuple[DashboardRow, ...]
    history: tuple[HistoryRow, ...]
    target_sha: str
    target_url: str
    branch: str
    read_at: int  # unix seconds
    waiting_pulls: dict = field(default_factory=dict)  # component -> merged pull requests still waiting
    pull_metrics: object = None  # PullRequestMetrics, or None when unknown
    pulls_problem: str = ""  # why the pull requests could not be read


def rows_without_token(config: Config) -> tuple[DashboardRow, ...]:
    """The dashboard's rows when nothing was read: every component unknown, and why."""
    drifts = tuple(
        classify(Deployment(component.name, None, reason=NO_TOKEN), known=False, ancestor=False, pending=())
        for component in config.components
    )
    # The clock only dates pending commits, and unknown rows have none: the page stays the same.
    return tuple(dashboard.build_rows(config, drifts, repo_url=None, now=0))


def read_live_status(args: argparse.Namespace, config: Config) -> LiveStatus | None:
    """The dashboard's rows for every component, and recent deployments; None without a token."""
    token = getattr(args, "github_token", None) or ""
    if not token:
        return None
    repository = getattr(args, "repository", None) or os.environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise DualDeployError(
            "a token was given but no repository: pass --repository owner/name (or set GITHUB_REPOSITORY)",
            key="--repository",
        )
    from dualdeploy import github
    from dualdeploy.assessment import assess
    from dualdeploy.changes import Git
    from dualdeploy.deployments import DeploymentReader
    from dualdeploy.jobs.common import now_from, pull_request_report

    actions_io.mask(token)
    repo = github.connect(token).get_repo(repository)
    with github.call(f"read the repository {repository}", permission="contents: read"):
        branch = repo.default_branch
        repo_url = repo.html_url
    git = Git(args.repo)
    target = git.try_resolve(f"origin/{branch}") or git.resolve("HEAD")
    reader = DeploymentReader(repo, default_branch=branch)
    state = assess(git, config, config.components, target, reader)
    now = now_from(args)
    pulls = pull_request_report(repo, git, config, reader, state.drifts, now, write=False)
    return LiveStatus(
        rows=tuple(dashboard.build_rows(config, state.drifts, repo_url=repo_url, now=now)),
        history=recent_deployments(repo, config),
        target_sha=target,
        target_url=f"{repo_url}/commit/{target}",
        branch=branch,
        read_at=now,
        waiting_pulls=pulls.waiting,
        pull_metrics=pulls.metrics,
        pulls_problem=pulls.problem,
    )


def recent_deployments(repo, config: Config, limit: int = HISTORY_LIMIT) -> tuple[HistoryRow, ...]:
    """The newest deployments of the components that report to GitHub deployments, newest first."""
    from dualdeploy import github

    history: list[tuple[datetime, HistoryRow]] = []
    for component in config.components:
        source = component.deployed
        if source is None or source.kind != "github-deployment":
            continue
        environment = source.environment or component.name
        with github.call(f"read the deployments of environment {environment!r}", permission="deployments: read"):
            for index, deployment in enumerate(repo.get_deployments(environment=environment)):
                if index >= HISTORY_PER_ENVIRONMENT:
                    break
                newest = next(iter(deployment.get_statuses()), None)
                history.append(
                    (
                        deployment.created_at,
                        HistoryRow(
                            component=component.name,
                            environment=environment,
                            sha=deployment.sha,
                            state=newest.state if newest else "no status",
                            created_at=int(deployment.created_at.timestamp()),
                            creator=deployment.creator.login if deployment.creator else "",
                            url=(newest.log_url or newest.environment_url or None) if newest else None,
                        ),
                    )
                )
    history.sort(key=lambda item: item[0], reverse=True)
    return tuple(row for _, row in history[:limit])


# --- rendering ----------------------------------------------------------------------------------


def _relative_link(target_path: str, repo_path: str) -> SafeMarkdown:
    """A link from one file of the repository to another, as GitHub resolves it in Markdown files."""
    start = posixpath.dirname(target_path) or "."
    return SafeMarkdown(quote(posixpath.relpath(repo_path, start), safe="/#-._~"))


@dataclass
class DocsContext:
    """Everything the templates are given, for one config."""

    config: Config
    source: str
    live: LiveStatus | None = None
    branch: str = "main"  # the default branch: deploys run from it
    _fingerprint: str | None = field(default=None, init=False)

    def values(self, target: Target) -> dict[str, object]:
        def link(path: str) -> SafeMarkdown:
            return _relative_link(target.path, path)

        values = guide_values(
            self.config,
            self.source,
            link=link,
            workflow_link=lambda file: link(f".github/workflows/{file}"),
            branch=self.branch,
        )
        values["audience"] = "assistant" if target.key in ("claude-md", "agents-md") else "people"
        return values

    def body(self, target: Target, *, live: bool = True) -> str:
        values = self.values(target)
        if target.key == "issue-template":
            values["items"] = stale_agent_forms(self.config, self.branch)
        if target.key == "codeowners":
            values["entries"] = codeowners_entries(self.config)
            values["plain"] = SafeMarkdown
        if target.key == "status":
            snapshot = self.live if live else None
            values["live"] = snapshot
            values["rows"] = snapshot.rows if snapshot else rows_without_token(self.config)
            values["budget"] = dashboard.PENDING_BUDGETS[0]
            values["fingerprint"] = self.structure_fingerprint(target) if snapshot else ""
        return render(target.template, **values)

    def structure_fingerprint(self, target: Target) -> str:
        if self._fingerprint is None:
            self._fingerprint = hashlib.sha256(self.body(target, live=False).encode("utf-8")).hexdigest()
        return self._fingerprint


@dataclass(frozen=True)
class Outcome:
    target: Target
    old: str | None  # None: the file does not exist
    new: str
    current: bool  # the generated part is up to date (for the status page: its structure)


def plan(repo: Path, context: DocsContext, keys: Sequence[str] = TARGET_KEYS) -> list[Outcome]:
    """What each target file should contain; reads files, writes nothing. Two targets in one file
    (the quick reference moved into the onboarding file) build on each other's result."""
    outcomes = []
    planned: dict[str, str] = {}  # path -> what an earlier target of this run made of it
    for target in TARGETS:
        if target.key not in keys:
            continue
        target = replace(target, path=locate(repo, replace(target, path=target.path_in(context.config))))
        old = planned[target.path] if target.path in planned else read_text(repo / target.path, target.path)
        if old is None and target.only_if_present:
            continue
        body = context.body(target)
        if old is None and target.new_file_template:
            block = update_section(None, target.section, body, style=target.style, source=context.source, file="")
            values = context.values(target)
            new = render(target.new_file_template, **{**values, "section": SafeMarkdown(block.rstrip("\n"))})
        else:
            new = update_section(old, target.section, body, style=target.style, source=context.source, file=target.path)
        outcomes.append(Outcome(target, old, new, _current(target, context, old, new)))
        planned[target.path] = new
    return outcomes


def locate(repo: Path, target: Target) -> str:
    """Where the target file is: the first of its places that exists, in any letter case, else its default."""
    for candidate in (target.path, *target.elsewhere):
        folder = repo / posixpath.dirname(candidate)
        name = posixpath.basename(candidate).lower()
        try:
            found = sorted(entry.name for entry in folder.iterdir() if entry.name.lower() == name and entry.is_file())
        except OSError:
            continue
        if found:
            return posixpath.join(posixpath.dirname(candidate), found[0])
    return target.path


def _current(target: Target, context: DocsContext, old: str | None, new: str) -> bool:
    if old == new:
        return True
    if old is None or target.key != "status":
        return False
    # A snapshot with live data is current when the page it was made from still matches the config.
    section = find_sections(old, target.style, target.path).get(target.section)
    found = STRUCTURE_FINGERPRINT.search(section_body(old, section)) if section else None
    return bool(found) and found.group("digest") == context.structure_fingerprint(target)


def read_text(path: Path, shown: str) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise DualDeployError(f"{shown} is a directory, but dualdeploy docs writes a file there", file=shown) from None
    except OSError as error:
        raise DualDeployError(f"cannot read {shown}: {error.strerror or error}", file=shown) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DualDeployError(
            "the file is not UTF-8 text, so its generated section cannot be updated safely; save it as UTF-8",
            file=shown,
            line=line,
        ) from None


def unified_diff(outcome: Outcome) -> str:
    path = outcome.target.path
    old_lines = (outcome.old or "").splitlines(keepends=True)
    new_lines = outcome.new.splitlines(keepends=True)
    lines = difflib.unified_diff(
        old_lines, new_lines, fromfile="/dev/null" if outcome.old is None else f"a/{path}", tofile=f"b/{path}"
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)


def parse_only(text: str | None) -> tuple[str, ...]:
    if not text or not text.strip():
        return TARGET_KEYS
    keys = tuple(key for key in re.split(r"[\s,]+", text.strip()) if key)
    unknown = [key for key in keys if key not in TARGET_KEYS]
    if unknown:
        raise DualDeployError(
            f"unknown target {unknown[0]!r}; choose from: {', '.join(TARGET_KEYS)}",
            key="--only",
        )
    return keys


def run(args: argparse.Namespace) -> int:
    repo = Path(args.repo)
    config_path = args.config or DEFAULT_CONFIG_PATH
    config = load_config(repo / config_path, display_path=config_path)
    keys = parse_only(getattr(args, "only", None))
    if getattr(args, "now", None):
        from dualdeploy.jobs.common import now_from

        now_from(args)  # a bad --now is a usage error even where no live status reads it
    live = None if args.check else read_live_status(args, config)
    outcomes = plan(repo, DocsContext(config, config_path, live, deploy_branch(repo)), keys)
    if args.check:
        return check(outcomes, config_path)
    for outcome in outcomes:
        if outcome.old == outcome.new:
            print(f"unchanged  {outcome.target.path}")
            continue
        path = repo / outcome.target.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(outcome.new.encode("utf-8"))
        print(f"{'created' if outcome.old is None else 'updated'}    {outcome.target.path}")
    return 0


def deploy_branch(repo: Path) -> str:
    """The branch the guides say to deploy from: DD_DEFAULT_BRANCH or the event's, else origin's HEAD
    (or a local main/master), else `main` (a folder that is not a clone yet)."""
    known = actions_io.default_branch()
    if known:
        return known
    from dualdeploy.changes import Git

    try:
        return Git(repo).default_branch().removeprefix("origin/")
    except DualDeployError:
        return "main"


def check(outcomes: list[Outcome], config_path: str) -> int:
    stale = [outcome for outcome in outcomes if not outcome.current]
    for outcome in stale:
        sys.stdout.write(unified_diff(outcome))
        actions_io.annotate(
            "error",
            f"the generated part is out of date with {config_path}: run `dualdeploy docs` and commit the result",
            file=outcome.target.path,
            title="dualdeploy docs --check",
        )
    if stale:
        print(
            f"dualdeploy docs --check: {len(stale)} generated file{'s' if len(stale) != 1 else ''} out of date with "
            f"{config_path}: {', '.join(outcome.target.path for outcome in stale)}; run `dualdeploy docs` and commit "
            "the result (edit the config, not the generated parts)",
            file=sys.stderr,
        )
        return EXIT_GAP
    print(f"dualdeploy docs --check: {len(outcomes)} generated files are up to date with {config_path}")
    return 0

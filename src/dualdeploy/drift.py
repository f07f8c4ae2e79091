"""Is a component behind the target? Decided by content, not by the clock.

A component is stale when a commit in `deployed..target` changes its paths or a shared group it
uses; those commits are its pending commits. However old its deploy, a component whose paths did
not change is in sync. A deployed sha that is not an ancestor of the target is diverged. Time only
enters through the grace period: a stale component is *overdue* once its oldest pending commit has
been on the target longer than the grace period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dualdeploy.changes import Commit
from dualdeploy.patterns import FilterSet

IN_SYNC = "in_sync"
STALE = "stale"
DIVERGED = "diverged"
UNKNOWN = "unknown"
DEPLOYING = "deploying"

# What makes a deployed commit known, when the source gave no more specific advice.
UNKNOWN_FIX = (
    "record deployments with `record-deployment`, set `deployed:` in the config, or give `deployed-shas`; "
    "`on-unknown: warn` while adopting"
)

STATUS_LABELS = {IN_SYNC: "in sync", STALE: "stale", DIVERGED: "diverged", UNKNOWN: "unknown", DEPLOYING: "deploying"}


@dataclass(frozen=True)
class Deployment:
    """What a provider says a component runs. `sha` is None when it could not tell (see `reason`)."""

    component: str
    sha: str | None
    deployed_at: int | None = None  # unix seconds
    source: str = ""  # e.g. "github-deployment:tenant-agent"
    url: str | None = None  # the run or deployment that deployed it
    reason: str = ""  # why sha is None
    in_progress: bool = False  # a newer deploy is running right now
    fix: str = ""  # what makes the deployed commit known, when sha is None


@dataclass(frozen=True)
class PendingCommit:
    """A commit the component lacks, with only the paths that matter to it."""

    commit: Commit
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Drift:
    component: str
    status: str
    deployment: Deployment
    pending: tuple[PendingCommit, ...] = ()  # newest first
    extra: tuple[PendingCommit, ...] = ()  # diverged: commits the deploy has that the target lacks
    reason: str = ""

    @property
    def fix(self) -> str:
        """What to do so the suite can tell what an unknown component runs."""
        if self.status != UNKNOWN:
            return ""
        return self.deployment.fix or UNKNOWN_FIX

    @property
    def oldest_pending_landed_at(self) -> int | None:
        return min((item.commit.landed_at for item in self.pending), default=None)

    def waiting_seconds(self, now: int) -> int:
        oldest = self.oldest_pending_landed_at
        return max(0, now - oldest) if oldest is not None else 0

    def overdue(self, now: int, grace_seconds: int) -> bool:
        """Stale (or diverged and lacking commits) for longer than the grace period."""
        if self.status not in (STALE, DIVERGED) or not self.pending:
            return False
        return self.waiting_seconds(now) > grace_seconds

    def to_json(self, limit: int | None = None) -> dict:
        """`limit` caps the commits listed (newest first), for step outputs, which GitHub caps at 1 MB;
        the counts always tell the whole number."""
        return {
            "component": self.component,
            "status": self.status,
            "deployed_sha": self.deployment.sha,
            "deployed_at": self.deployment.deployed_at,
            "source": self.deployment.source,
            "reason": self.reason,
            "fix": self.fix,
            "pending_count": len(self.pending),
            "pending_commits": [_commit_json(item) for item in self.pending[:limit]],
            "extra_count": len(self.extra),
            "extra_commits": [_commit_json(item) for item in self.extra[:limit]],
        }


def _commit_json(item: PendingCommit) -> dict:
    commit = item.commit
    return {
        "sha": commit.sha,
        "subject": commit.subject,
        "author": commit.author,
        "authored_at": commit.authored_at,
        "landed_at": commit.landed_at,
        "files": list(item.paths),
    }


@dataclass
class ComponentPaths:
    """Which paths matter to each component: its own and those of the shared groups it uses."""

    filters: dict[str, tuple[str, ...]]
    _filter_set: FilterSet = field(init=False)
    # Per commit: every filter any of its paths matches, and the filters of each path.
    _matched: dict[str, tuple[frozenset[str], tuple[tuple[str, frozenset[str]], ...]]] = field(
        init=False, default_factory=dict
    )

    _touching: dict[str, set[str]] = field(init=False, default_factory=dict)
    indexed: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._filter_set = FilterSet(self.filters)

    def index(self, commits: Sequence[Commit]) -> None:
        """Match every commit once and remember, per filter, the commits that touch it."""
        for commit in commits:
            self.relevant((), commit)
            for name in self._matched[commit.sha][0]:
                self._touching.setdefault(name, set()).add(commit.sha)
            self.indexed.add(commit.sha)

    def touching(self, component_filters: Sequence[str]) -> set[str]:
        """Shas of indexed commits that touch any of the filters."""
        return set().union(*(self._touching.get(name, ()) for name in component_filters))

    def relevant(self, component_filters: Sequence[str], commit: Commit) -> tuple[str, ...]:
        """The commit's paths that match any of the given filters (each commit is matched once)."""
        matched = self._matched.get(commit.sha)
        if matched is None:
            per_path = tuple((path, frozenset(self._filter_set.match_path(path))) for path in commit.paths)
            matched = (frozenset().union(*(names for _, names in per_path)), per_path)
            self._matched[commit.sha] = matched
        every_name, per_path = matched
        wanted = set(component_filters)
        if every_name.isdisjoint(wanted):  # most commits touch none of a component's paths
            return ()
        return tuple(path for path, names in per_path if names & wanted)


def relevant_commits(
    paths: ComponentPaths, component_filters: Sequence[str], commits: Sequence[Commit]
) -> tuple[PendingCommit, ...]:
    """The commits that touch any of the filters, in the given order, with the paths that matter."""
    wanted = paths.touching(component_filters)
    relevant = []
    for commit in commits:
        if commit.sha in wanted or commit.sha not in paths.indexed:
            matched = paths.relevant(component_filters, commit)
            if matched:
                relevant.append(PendingCommit(commit, matched))
    return tuple(relevant)


def classify(
    deployment: Deployment,
    *,
    known: bool,
    ancestor: bool,
    pending: tuple[PendingCommit, ...],
    extra: tuple[PendingCommit, ...] = (),
) -> Drift:
    """The drift of one component, from facts already looked up in git."""
    if deployment.sha is None:
        return Drift(deployment.component, UNKNOWN, deployment, reason=deployment.reason or "no deployment found")
    if not known:
        return Drift(
            deployment.component,
            UNKNOWN,
            deployment,
            reason=f"deployed sha {deployment.sha[:12]} is not in this repository's history "
            "(check out with fetch-depth: 0)",
        )
    if not ancestor:
        return Drift(
            deployment.component,
            DIVERGED,
            deployment,
            pending=pending,
            extra=extra,
            reason="the deployed commit is not on the target's history (a deploy from a branch, or a force-push)",
        )
    if pending:
        status = DEPLOYING if deployment.in_progress else STALE
        return Drift(deployment.component, status, deployment, pending=pending)
    return Drift(deployment.component, IN_SYNC, deployment)

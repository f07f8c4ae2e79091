"""The assessed state of components: what each one runs, and how far it is behind a target commit.

`assess` joins the adapters (local git, the deployment providers) to the pure `drift` core; every
job that reports on deployed state (sync check, dashboard, monitor, metrics, docs) starts here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dualdeploy.changes import FETCH_DEPTH_HINT, Git, History
from dualdeploy.config import Component, Config
from dualdeploy.deployments import DeploymentReader
from dualdeploy.drift import UNKNOWN, ComponentPaths, Deployment, Drift, classify, relevant_commits
from dualdeploy.errors import DualDeployError, GitError

READ_WORKERS = 8


@dataclass(frozen=True)
class State:
    """The drift of each selected component at one target commit."""

    target: str
    drifts: tuple[Drift, ...]


def assess(git: Git, config: Config, components: tuple[Component, ...], target: str, reader: DeploymentReader) -> State:
    deployments = require_history(git, target, read_all(reader, components))
    known = git.existing({deployment.sha for deployment in deployments if deployment.sha})
    history = History(git, target, sorted(known))
    paths = ComponentPaths(config.filters())
    paths.index(list(history.commits.values()))
    drifts = []
    for component, deployment in zip(components, deployments, strict=True):
        filters = component_filters(component)
        if deployment.sha is None or deployment.sha not in known:
            drifts.append(classify(deployment, known=False, ancestor=False, pending=()))
            continue
        ancestor = history.is_ancestor(deployment.sha)
        pending = relevant_commits(paths, filters, history.between(deployment.sha))
        extra = () if ancestor else relevant_commits(paths, filters, history.extra(deployment.sha))
        drifts.append(classify(deployment, known=True, ancestor=ancestor, pending=pending, extra=extra))
    return State(target=target, drifts=tuple(drifts))


def require_history(
    git: Git, target: str, deployments: list[Deployment], *, since: int | None = None
) -> list[Deployment]:
    """History on demand, then no guessing: the deployed commits and the target's history back to
    them are fetched from origin when this clone lacks them (a depth-1 checkout, a partial clone
    stays partial); a deployed commit still missing afterwards is an error (exit 2) that names the
    component, the sha and `fetch-depth: 0`. Returns the deployments with short shas made full."""
    present, whole = git.complete_history(target, [d.sha for d in deployments if d.sha], since=since)
    deployments = [resolve_sha(git, deployment) for deployment in deployments]
    missing = [d for d in deployments if d.sha and d.sha not in present and not git.try_resolve(d.sha)]
    if missing:
        where = "even after fetching from origin" if git.has_remote() else "and there is no origin to fetch it from"
        names = "; ".join(f"{d.component} runs {d.sha} ({d.source or 'deployed-shas'})" for d in missing)
        raise GitError(
            f"deployed commit not in this clone's history {where}: {names}; {FETCH_DEPTH_HINT}, "
            "or check that the deployed sha belongs to this repository",
            key="history",
        )
    if not whole:
        raise GitError(
            f"this clone is shallow and its history does not reach the deployed commits from {target[:12]}, "
            f"even after deepening from origin; {FETCH_DEPTH_HINT}",
            key="history",
        )
    return deployments


def component_filters(component: Component) -> list[str]:
    """The filter names whose paths impact a component: its own and those of its shared groups."""
    return [f"component:{component.name}", *(f"shared:{group}" for group in component.uses)]


def read_all(reader: DeploymentReader, components: tuple[Component, ...]) -> list[Deployment]:
    """Each component's deployment, read a few at a time: the requests wait on the network, not on us.
    GitHub deployments of all of them come first, in one GraphQL query per 100 environments."""
    prefetch = getattr(reader, "prefetch", None)
    if prefetch is not None:
        prefetch(components)
    if len(components) < 2 or getattr(reader, "repo", None) is None:
        return [reader.read(component) for component in components]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        return list(pool.map(reader.read, components))


def resolve_sha(git: Git, deployment: Deployment) -> Deployment:
    """A short sha (from a version endpoint, say) made full; an unknown one is left for `classify`."""
    if deployment.sha and len(deployment.sha) < 40:
        full = git.try_resolve(deployment.sha)
        if full:
            return replace(deployment, sha=full)
    return deployment


def production_target(git: Git, config: Config, reader: DeploymentReader, target_sha: str | None = None) -> str:
    """The commit production runs: the given one, else the newest known deploy of an `auto`
    component, else the default branch's head."""
    if target_sha:
        return git.resolve(target_sha, what="--target-sha")
    prefetch = getattr(reader, "prefetch", None)
    if prefetch is not None:
        prefetch(config.components)  # the assessment that follows reads the others: one query for all
    deployed = [
        resolve_sha(git, reader.read(component)) for component in config.components if component.deploy == "auto"
    ]
    git.fetch_commits([d.sha for d in deployed if d.sha])  # a depth-1 checkout lacks them: ask origin
    known = [d for d in deployed if d.sha and git.try_resolve(d.sha)]
    if known:
        newest = max(known, key=lambda deployment: deployment.deployed_at or 0)
        return git.resolve(newest.sha)
    try:
        return git.resolve(git.default_branch(), what="default branch")
    except DualDeployError:
        return git.resolve("HEAD")


# --- what the suite cannot see ------------------------------------------------------------------


def unknown_drifts(drifts) -> list[Drift]:
    """The components whose deployed commit could not be established: never a pass."""
    return [drift for drift in drifts if drift.status == UNKNOWN]


def unknown_line(drift: Drift) -> str:
    """One component the suite cannot see: the cause and the fix, in one line."""
    return f"cannot tell what {drift.component} runs: {drift.reason}; fix: {drift.fix}"


def blind_line(unknown: list[Drift]) -> str:
    """Every component the suite cannot see, in the one line a failing run ends with."""
    if len(unknown) == 1:
        return unknown_line(unknown[0])
    causes = "; ".join(f"{drift.component}: {drift.reason} (fix: {drift.fix})" for drift in unknown)
    return f"cannot tell what {len(unknown)} components run: {causes}"

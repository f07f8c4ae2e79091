"""The suite's success metrics, per manual component over a window: deploy gaps, lag, current lag.

Pure functions of the target's history (commits that matter to the component, with the time each
landed on the target) and the component's successful deployments (sha, time), oldest first.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from dualdeploy.drift import UNKNOWN, Deployment, Drift, PendingCommit

WINDOW_DAYS = 30


@dataclass(frozen=True)
class ComponentMetrics:
    component: str
    window_days: int
    commits: int  # commits that mattered to the component and landed in the window
    deployed: int  # of those, how many reached a deploy
    deploy_gaps: int  # episodes during which the component was overdue
    lag_median: float | None  # seconds from landing on the target to the deploy that carried it
    lag_p90: float | None
    lag_max: float | None
    current_lag: int  # seconds the oldest undeployed commit has waited (0 when in sync)
    deploys: int = 0  # successful deploys in the window, every one however many
    status: str = "measured"  # or "unknown": no deploy to measure from (see `reason`)
    reason: str = ""
    lag_reason: str = ""  # why the lag figures are null: no deployment history with times

    def to_json(self) -> dict:
        unknown = {"status": self.status, "reason": self.reason} if self.status == UNKNOWN else {}
        return {
            "component": self.component,
            **unknown,
            "window_days": self.window_days,
            "commits": self.commits,
            "deployed": self.deployed,
            "deploys": self.deploys,
            "deploy_gaps": self.deploy_gaps,
            "lag_seconds": {"median": self.lag_median, "p90": self.lag_p90, "max": self.lag_max},
            **({"lag_reason": self.lag_reason} if self.lag_reason else {}),
            "current_lag_seconds": self.current_lag,
        }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p90 of 10 values is the 9th), which needs no interpolation."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def component_metrics(
    component: str,
    relevant: Sequence[PendingCommit],
    deployments: Sequence[Deployment],
    contains: Callable[[str, str], bool],
    *,
    now: int,
    window_seconds: int,
    overdue_after: int,
    pending: frozenset[str] | set[str] = frozenset(),
    runs_the_rest: bool = False,
    lag_reason: str = "",
) -> ComponentMetrics:
    """`relevant`: commits that touched the component, any order; `deployments`: successful ones,
    oldest first; `contains(deployed_sha, commit_sha)`: whether the deploy carried the commit;
    `pending`: shas the component still lacks (counted even when they landed before the window).
    `runs_the_rest`: the component's deployed commit is known, so every relevant commit not pending
    is deployed, even when no timed deploy says when (then it has no lag figure, and no gap).
    `lag_reason`: why there is no lag figure when no deploy has a time (no deployment history)."""
    since = now - window_seconds
    lags: list[float] = []
    overdue_spans: list[tuple[int, int]] = []
    current_lag = 0
    untimed = 0  # deployed (the running commit contains it), but no deploy with a time says when
    # A commit still pending counts however long ago it landed: it is the current lag.
    in_window = [item.commit for item in relevant if item.commit.landed_at >= since or item.commit.sha in pending]
    for commit in in_window:
        carrier = next(
            (
                d
                for d in deployments
                if d.deployed_at is not None
                and d.deployed_at >= commit.landed_at
                and d.sha
                and contains(d.sha, commit.sha)
            ),
            None,
        )
        if carrier is None and runs_the_rest and commit.sha not in pending:
            untimed += 1
            continue
        end = carrier.deployed_at if carrier else now
        if carrier:
            lags.append(end - commit.landed_at)
        else:
            current_lag = max(current_lag, now - commit.landed_at)
        if end - commit.landed_at > overdue_after:
            overdue_spans.append((commit.landed_at + overdue_after, end))
    return ComponentMetrics(
        component=component,
        window_days=window_seconds // 86400,
        commits=len(in_window),
        deployed=len(lags) + untimed,
        deploy_gaps=len(_merge(overdue_spans)),
        lag_median=statistics.median(lags) if lags else None,
        lag_p90=percentile(lags, 0.9) if lags else None,
        lag_max=max(lags) if lags else None,
        current_lag=current_lag,
        lag_reason="" if lags else lag_reason,
    )


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def compute_metrics(
    git, config, components, target: str, reader, now: int, max_age: int, drifts: dict[str, Drift] | None = None
) -> list:
    """Lag metrics over the window; commits still pending now count whenever they landed."""
    from dualdeploy.changes import History
    from dualdeploy.deployments import deployment_histories
    from dualdeploy.drift import ComponentPaths, relevant_commits

    window = WINDOW_DAYS * 86400
    since = now - window
    histories = deployment_histories(reader, components, since)
    # History on demand: a depth-1 checkout is deepened back over the window and to the deploys.
    shas = [d.sha for deployments in histories.values() for d in deployments if d.sha]
    present, _ = git.complete_history(target, shas, since=since)
    history = History(git, target, sorted(present), since=since)
    paths = ComponentPaths(config.filters())
    commits = list(history.commits.values())
    paths.index(commits)
    results = []
    for component in components:
        filters = [f"component:{component.name}", *(f"shared:{group}" for group in component.uses)]
        relevant = list(relevant_commits(paths, filters, commits))
        drift = (drifts or {}).get(component.name)
        if drift is not None and drift.status == UNKNOWN and not histories[component.name]:
            # Never deployed (or unreadable): zero lag would be a lie, so no figures at all.
            results.append(unknown_metrics(component.name, window, drift.reason))
            continue
        pending = drift.pending if drift else ()
        relevant += [item for item in pending if item.commit.sha not in history.commits]
        known = [d for d in histories[component.name] if d.sha in present]
        measured = component_metrics(
            component.name,
            relevant,
            known,
            history.contains,
            now=now,
            window_seconds=window,
            overdue_after=max_age,
            pending={item.commit.sha for item in pending},
            runs_the_rest=drift is not None and drift.status != UNKNOWN,
            lag_reason=no_history_reason(drift, known),
        )
        deploys = sum(1 for d in histories[component.name] if (d.deployed_at or 0) >= since)
        results.append(replace(measured, deploys=deploys))
    return results


def no_history_reason(drift: Drift | None, deployments: Sequence[Deployment]) -> str:
    """Why a component's lag cannot be measured: no deploy with a time to measure to (never invented)."""
    if any(d.deployed_at is not None for d in deployments):
        return ""
    if drift is not None and drift.deployment.source == "deployed-shas input":
        return "no deployment history: commits given directly (deployed-shas) carry no deploy times"
    source = drift.deployment.source if drift is not None and drift.deployment.source else "its source"
    return f"no deployment history: {source} says what runs, not when each commit was deployed"


def unknown_metrics(component: str, window_seconds: int, reason: str) -> ComponentMetrics:
    return ComponentMetrics(
        component=component,
        window_days=window_seconds // 86400,
        commits=0,
        deployed=0,
        deploy_gaps=0,
        lag_median=None,
        lag_p90=None,
        lag_max=None,
        current_lag=0,
        status=UNKNOWN,
        reason=reason or "no successful deployment to measure from",
    )


def metrics_markdown(metrics) -> str:
    if not metrics:
        return ""
    from dualdeploy.render import render

    return render("metrics.md.j2", metrics=metrics)

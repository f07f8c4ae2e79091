"""metrics.component_metrics with plain values: lag, p90, deploy gaps, current lag, the window."""

from __future__ import annotations

import pytest

from dualdeploy.changes import Commit
from dualdeploy.drift import Deployment, PendingCommit
from dualdeploy.metrics import component_metrics, percentile

HOUR = 3600
DAY = 86400
NOW = 1_705_309_200  # 2024-01-15 09:00 UTC
WINDOW = 30 * DAY
MAX_AGE = HOUR


def landed(sha: str, at: int) -> PendingCommit:
    return PendingCommit(Commit(sha, f"change {sha}", "Ada", at, at, ("agent/x.ts",)), ("agent/x.ts",))


def deployed(sha: str, at: int) -> Deployment:
    return Deployment("tenant-agent", sha, at, "github-deployment:tenant-agent")


def linear(*order: str):
    """`contains` for a straight history: a deploy of X carries X and every commit before it."""

    def contains(deployed_sha: str, commit_sha: str) -> bool:
        return order.index(commit_sha) <= order.index(deployed_sha)

    return contains


def measure(relevant, deployments, contains, *, now: int = NOW, window: int = WINDOW, max_age: int = MAX_AGE):
    return component_metrics(
        "tenant-agent", relevant, deployments, contains, now=now, window_seconds=window, overdue_after=max_age
    )


def test_lag_runs_from_landing_to_the_first_deploy_that_carried_the_commit() -> None:
    commits = [landed("a", NOW - 10 * HOUR), landed("b", NOW - 9 * HOUR)]
    # The first deploy (at a) does not carry b; the second (at b) carries it; the third is later noise.
    deployments = [deployed("a", NOW - 8 * HOUR), deployed("b", NOW - 6 * HOUR), deployed("b", NOW - HOUR)]
    metrics = measure(commits, deployments, linear("a", "b"))
    assert (metrics.commits, metrics.deployed) == (2, 2)
    assert sorted([metrics.lag_max, metrics.lag_median]) == [2.5 * HOUR, 3 * HOUR]  # a: 2 h, b: 3 h
    assert metrics.lag_p90 == 3 * HOUR
    assert metrics.current_lag == 0


def test_a_deploy_before_the_commit_landed_never_carries_it() -> None:
    # The deploy of a later sha is recorded before the commit "landed" (a deploy from a branch);
    # the lag is measured to the first deploy after landing.
    commits = [landed("a", NOW - 5 * HOUR)]
    deployments = [deployed("a", NOW - 6 * HOUR), deployed("a", NOW - 2 * HOUR)]
    metrics = measure(commits, deployments, linear("a"))
    assert metrics.lag_max == 3 * HOUR and metrics.deployed == 1


@pytest.mark.parametrize(
    ("count", "rank"),
    [(1, 1), (2, 2), (3, 3), (9, 9), (10, 9), (11, 10), (19, 18), (20, 18), (21, 19), (100, 90)],
)
def test_p90_is_the_nearest_rank(count: int, rank: int) -> None:
    values = [float(minutes * 60) for minutes in range(count, 0, -1)]  # unordered on purpose: descending
    assert percentile(values, 0.9) == rank * 60


def test_median_p90_and_max_over_ten_deploys() -> None:
    order = [f"c{index}" for index in range(10)]
    # Commit i lands at NOW - 100 h + 10 h * i and waits (i + 1) * 10 minutes for its own deploy.
    commits = [landed(sha, NOW - 100 * HOUR + index * 10 * HOUR) for index, sha in enumerate(order)]
    deployments = [
        deployed(sha, NOW - 100 * HOUR + index * 10 * HOUR + (index + 1) * 600) for index, sha in enumerate(order)
    ]
    metrics = measure(commits, deployments, linear(*order))
    assert metrics.deployed == 10
    assert metrics.lag_median == 5.5 * 600  # between the 5th and 6th of 10
    assert metrics.lag_p90 == 9 * 600  # nearest rank: the 9th of 10, not an interpolation
    assert metrics.lag_max == 10 * 600
    # Lags of 70..100 min are past the 60-minute max age: four separate episodes.
    assert metrics.deploy_gaps == 4


def test_overlapping_overdue_spans_are_one_gap() -> None:
    # a and b both wait past the max age and their overdue spans overlap: one deploy carries both.
    commits = [landed("a", NOW - 10 * HOUR), landed("b", NOW - 9 * HOUR)]
    deployments = [deployed("b", NOW - 5 * HOUR)]
    metrics = measure(commits, deployments, linear("a", "b"))
    assert metrics.deploy_gaps == 1
    assert (metrics.lag_median, metrics.lag_max) == (4.5 * HOUR, 5 * HOUR)


def test_spans_overdue_back_to_back_are_one_gap() -> None:
    # a is overdue from -9 h until its deploy at -6 h; b becomes overdue at exactly -6 h.
    commits = [landed("a", NOW - 10 * HOUR), landed("b", NOW - 7 * HOUR)]
    deployments = [deployed("a", NOW - 6 * HOUR), deployed("b", NOW - 4 * HOUR)]
    metrics = measure(commits, deployments, linear("a", "b"))
    assert metrics.deploy_gaps == 1


def test_two_separate_episodes_are_two_gaps() -> None:
    commits = [landed("a", NOW - 20 * HOUR), landed("b", NOW - 10 * HOUR)]
    deployments = [deployed("a", NOW - 17 * HOUR), deployed("b", NOW - 7 * HOUR)]
    metrics = measure(commits, deployments, linear("a", "b"))
    assert metrics.deploy_gaps == 2
    assert metrics.lag_max == 3 * HOUR


def test_a_deploy_within_the_max_age_is_no_gap() -> None:
    commits = [landed("a", NOW - 10 * HOUR), landed("b", NOW - 5 * HOUR)]
    deployments = [deployed("a", NOW - 10 * HOUR + MAX_AGE), deployed("b", NOW - 5 * HOUR + 60)]
    metrics = measure(commits, deployments, linear("a", "b"))
    assert metrics.deploy_gaps == 0  # exactly the max age is not past it
    assert metrics.lag_max == MAX_AGE


def test_current_lag_is_the_oldest_undeployed_commit() -> None:
    commits = [landed("a", NOW - 10 * HOUR), landed("b", NOW - 3 * HOUR), landed("c", NOW - HOUR // 2)]
    deployments = [deployed("a", NOW - 9 * HOUR)]
    metrics = measure(commits, deployments, linear("a", "b", "c"))
    assert metrics.current_lag == 3 * HOUR
    assert (metrics.commits, metrics.deployed) == (3, 1)
    # a's hour is not past the max age; b is overdue now, c is not yet: one ongoing episode.
    assert metrics.deploy_gaps == 1


def test_current_lag_under_the_max_age_is_not_a_gap() -> None:
    metrics = measure([landed("a", NOW - 20 * 60)], [], linear("a"))
    assert metrics.current_lag == 20 * 60
    assert metrics.deploy_gaps == 0
    assert (metrics.lag_median, metrics.lag_p90, metrics.lag_max) == (None, None, None)


def test_an_ongoing_gap_after_a_closed_one_counts_twice() -> None:
    commits = [landed("a", NOW - 30 * HOUR), landed("b", NOW - 5 * HOUR)]
    deployments = [deployed("a", NOW - 25 * HOUR)]
    metrics = measure(commits, deployments, linear("a", "b"))
    assert metrics.deploy_gaps == 2 and metrics.current_lag == 5 * HOUR


def test_commits_that_landed_before_the_window_are_left_out() -> None:
    commits = [landed("old", NOW - 31 * DAY), landed("edge", NOW - WINDOW), landed("new", NOW - 2 * DAY)]
    deployments = [deployed("old", NOW - 30 * DAY - HOUR), deployed("new", NOW - 2 * DAY + 2 * HOUR)]
    metrics = measure(commits, deployments, linear("old", "edge", "new"))
    assert metrics.window_days == 30
    # "edge" landed exactly at the window's start and counts; "old" (and its 23 h lag) does not.
    assert (metrics.commits, metrics.deployed) == (2, 2)
    assert metrics.lag_max == 30 * DAY - 2 * DAY + 2 * HOUR  # edge waited for the deploy of "new"


def test_shorter_window_cuts_more() -> None:
    commits = [landed("a", NOW - 3 * DAY), landed("b", NOW - HOUR)]
    metrics = measure(commits, [deployed("a", NOW - 3 * DAY + 60)], linear("a", "b"), window=DAY)
    assert (metrics.window_days, metrics.commits, metrics.deployed, metrics.current_lag) == (1, 1, 0, HOUR)


def test_nothing_relevant_is_all_zero() -> None:
    metrics = measure([], [deployed("a", NOW - DAY)], linear("a"))
    assert metrics.to_json() == {
        "component": "tenant-agent",
        "window_days": 30,
        "commits": 0,
        "deployed": 0,
        "deploys": 0,
        "deploy_gaps": 0,
        "lag_seconds": {"median": None, "p90": None, "max": None},
        "current_lag_seconds": 0,
    }


def test_unknown_deploy_times_and_shas_are_ignored() -> None:
    commits = [landed("a", NOW - 2 * HOUR)]
    deployments = [
        Deployment("tenant-agent", "a", None, "url"),
        Deployment("tenant-agent", None, NOW - HOUR, "url"),
        deployed("a", NOW - HOUR),
    ]
    metrics = measure(commits, deployments, linear("a"))
    assert metrics.lag_max == HOUR

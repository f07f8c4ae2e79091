"""What the suite keeps on a pull request besides the comment's text: its labels, and its memory;
and the pull request's life after review: merged, waiting for the deploy of each manual component
it impacted, deployed. The sticky comment tells that story.

The memory is the sticky comment's hidden state (`markers.hidden_state`): a JSON object the suite
reads back on the next run. Each feature owns its keys and leaves the others as they are:
- `labels_added` lists the labels the suite itself put on the pull request, so that it removes only
  those, and a label a person added stays whatever the suite computes;
- `manual`: the manual components the pull request impacted, sorted (so no diff is recomputed and
  no history is scanned after the merge);
- `merged_at` (unix seconds) and `merge_commit`: set once it is merged; `closed`: true once it was
  closed without merging;
- `deployed`: {component: {"sha", "at", "url"}}, the first successful deploy that carried the merge.

The functions are pure; `PullRequestDesk` at the bottom reads and writes GitHub (PyGithub through
`dualdeploy.github`): one listing for all candidates, then a few requests per pull request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from dualdeploy.config import Config
from dualdeploy.drift import Deployment
from dualdeploy.markers import hidden_state, read_hidden_state

COMMENT_MARKER = "<!-- dualdeploy:detect-agent-impact -->"
MANAGED_LABELS = ("agent-changes", "requires-manual-deploy")
LABELS_ADDED = "labels_added"


@dataclass(frozen=True)
class LabelPlan:
    """What to do to the suite's labels on one pull request, and what to remember afterwards."""

    to_add: tuple[str, ...]
    to_remove: tuple[str, ...]
    labels_added: tuple[str, ...]  # the new value of the hidden state's `labels_added`
    kept_by_hand: tuple[str, ...]  # no longer true, but a person added them: the suite leaves them


def wanted_labels(requires_manual_deploy: bool) -> set[str]:
    """The suite's labels that are true for an impact."""
    return set(MANAGED_LABELS) if requires_manual_deploy else set()


def labels_added_before(state: dict, *, legacy_comment: bool = False, present: set[str] = frozenset()) -> set[str]:
    """The labels the suite recorded as its own (lower case); anything unreadable counts as none.

    A comment of a version before the hidden state (`legacy_comment`: ours, without any state) kept
    the labels in step without remembering: its managed labels present now count as the suite's.
    """
    if legacy_comment:
        return {name for name in MANAGED_LABELS if name in {label.lower() for label in present}}
    value = state.get(LABELS_ADDED)
    if not isinstance(value, list):
        return set()
    return {name.lower() for name in value if isinstance(name, str)}


def plan_labels(
    wanted: set[str],
    present: set[str],
    added_before: set[str],
    *,
    managed: tuple[str, ...] = MANAGED_LABELS,
    remembers: bool = True,
) -> LabelPlan:
    """Add the wanted labels that are missing; remove a managed label only when the suite added it
    (it is in `added_before`) and it is no longer wanted.

    A label stays recorded until a run sees it gone, so a removal that failed half way is retried
    rather than forgotten. Without a place to remember (`remembers` false: no sticky comment),
    the suite cannot tell its labels from a person's, so it adds and never removes.
    """
    present = {name.lower() for name in present}
    added_before = {name.lower() for name in added_before} & present if remembers else set()
    to_add = tuple(sorted(name for name in wanted if name.lower() not in present))
    unwanted = [name for name in managed if name not in wanted and name.lower() in present]
    to_remove = tuple(sorted(name for name in unwanted if name.lower() in added_before))
    kept_by_hand = tuple(sorted(name for name in unwanted if name.lower() not in added_before))
    recorded = {name for name in managed if name.lower() in added_before} | set(to_add)
    return LabelPlan(
        to_add=to_add,
        to_remove=to_remove,
        labels_added=tuple(sorted(recorded)) if remembers else (),
        kept_by_hand=kept_by_hand if remembers else (),
    )


WAITING_LABEL = "requires-manual-deploy"
CHANGES_LABEL = "agent-changes"
LIFE_KEYS = ("manual", "merged_at", "merge_commit", "closed", "deployed")
WINDOW_DAYS = 30
DEFAULT_LAG_TARGET_MINUTES = 30


@dataclass(frozen=True)
class ComponentDeploy:
    """The deploy of one component that first carried a pull request's merge commit."""

    sha: str
    at: int  # unix seconds
    url: str | None = None

    def to_state(self) -> dict:
        return {"sha": self.sha, "at": self.at, "url": self.url}


@dataclass(frozen=True)
class PullRequestLife:
    number: int
    manual: tuple[str, ...] = ()
    merged_at: int | None = None
    merge_commit: str | None = None
    closed_unmerged: bool = False
    deployed: Mapping[str, ComponentDeploy] = field(default_factory=dict)
    title: str = ""
    url: str | None = None

    @property
    def merged(self) -> bool:
        return self.merged_at is not None and bool(self.merge_commit)

    @property
    def waiting(self) -> tuple[str, ...]:
        """The impacted manual components that do not run the merge commit yet (once merged)."""
        if not self.merged:
            return ()
        return tuple(name for name in self.manual if name not in self.deployed)

    @property
    def fully_deployed(self) -> bool:
        return self.merged and bool(self.manual) and not self.waiting

    @property
    def phase(self) -> str:
        """open, closed (without merging), merged (waiting for a deploy) or deployed."""
        if self.closed_unmerged:
            return "closed"
        if not self.merged:
            return "open"
        return "merged" if self.waiting else "deployed"

    @property
    def deployed_at(self) -> int | None:
        """When its last impacted manual component got the merge commit."""
        if not self.fully_deployed:
            return None
        return max(self.deployed[name].at for name in self.manual)

    @property
    def merge_to_deploy(self) -> int | None:
        deployed_at = self.deployed_at
        return None if deployed_at is None or self.merged_at is None else max(0, deployed_at - self.merged_at)

    def age(self, now: int) -> int:
        return max(0, now - self.merged_at) if self.merged_at is not None else 0

    def with_deploy(self, component: str, deploy: ComponentDeploy) -> PullRequestLife:
        return replace(self, deployed={**self.deployed, component: deploy})

    def to_state(self, previous: Mapping | None = None) -> dict:
        """The hidden state to keep: this life, on top of the keys other features keep there."""
        state = {key: value for key, value in (previous or {}).items() if key not in LIFE_KEYS}
        state["manual"] = list(self.manual)
        if self.merged:
            state["merged_at"] = self.merged_at
            state["merge_commit"] = self.merge_commit
        if self.closed_unmerged:
            state["closed"] = True
        if self.deployed:
            state["deployed"] = {name: self.deployed[name].to_state() for name in sorted(self.deployed)}
        return state


def life_from_state(number: int, state: Mapping, *, title: str = "", url: str | None = None) -> PullRequestLife:
    """A pull request's life as its comment's hidden state tells it (missing or odd values are dropped)."""
    manual = state.get("manual")
    merged_at = state.get("merged_at")
    merge_commit = state.get("merge_commit")
    deployed = {}
    for name, deploy in (state.get("deployed") or {}).items() if isinstance(state.get("deployed"), dict) else ():
        if isinstance(deploy, dict) and isinstance(deploy.get("sha"), str) and isinstance(deploy.get("at"), int):
            url_value = deploy.get("url")
            deployed[name] = ComponentDeploy(
                deploy["sha"], deploy["at"], url_value if isinstance(url_value, str) else None
            )
    return PullRequestLife(
        number=number,
        manual=tuple(sorted(str(name) for name in manual)) if isinstance(manual, list) else (),
        merged_at=merged_at if isinstance(merged_at, int) else None,
        merge_commit=merge_commit if isinstance(merge_commit, str) else None,
        closed_unmerged=state.get("closed") is True,
        deployed=deployed,
        title=title,
        url=url,
    )


def epoch_of(value: str | datetime | None) -> int | None:
    """An ISO 8601 time (an event's `merged_at`) or a datetime as unix seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    from datetime import timezone

    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return int((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())


def first_carrier(
    merge_commit: str, merged_at: int, deployments: Sequence[Deployment], contains: Callable[[str, str], bool | None]
) -> tuple[Deployment | None, bool]:
    """The earliest successful deploy (oldest first) whose commit has the merge commit in its history,
    and whether every answer was known: an unknown answer never counts as carried."""
    known = True
    for deployment in sorted(deployments, key=lambda d: d.deployed_at or 0):
        if not deployment.sha or deployment.deployed_at is None:
            continue
        answer = contains(deployment.sha, merge_commit)
        if answer is None:
            known = False
            continue
        if answer:
            return deployment, known
    return None, known


def settle(
    life: PullRequestLife,
    deployments: Mapping[str, Sequence[Deployment]],
    contains: Callable[[str, str], bool | None],
) -> tuple[PullRequestLife, list[str]]:
    """The life with every waiting component whose deploys carry the merge commit marked deployed;
    also the components whose answer was unknown (they stay waiting)."""
    unknown = []
    if not life.merged or life.merge_commit is None or life.merged_at is None:
        return life, unknown
    for name in life.waiting:
        carrier, known = first_carrier(life.merge_commit, life.merged_at, deployments.get(name, ()), contains)
        if carrier is not None and carrier.sha and carrier.deployed_at is not None:
            life = life.with_deploy(name, ComponentDeploy(carrier.sha, carrier.deployed_at, carrier.url))
        elif not known:
            unknown.append(name)
    return life, unknown


@dataclass(frozen=True)
class WaitingPull:
    """A merged pull request still waiting for the deploy of one component."""

    number: int
    title: str
    url: str | None
    merged_at: int
    age: int  # seconds since the merge


def waiting_by_component(lives: Iterable[PullRequestLife], now: int) -> dict[str, list[WaitingPull]]:
    """Per component, the merged pull requests still waiting for its deploy, oldest merge first."""
    waiting: dict[str, list[WaitingPull]] = {}
    for life in lives:
        if life.merged_at is None:
            continue
        for name in life.waiting:
            waiting.setdefault(name, []).append(
                WaitingPull(life.number, life.title, life.url, life.merged_at, life.age(now))
            )
    return {name: sorted(pulls, key=lambda p: (p.merged_at, p.number)) for name, pulls in sorted(waiting.items())}


def waiting_json(waiting: dict[str, list[WaitingPull]]) -> dict[str, list[dict]]:
    """The waiting pull requests per component, as --format json gives them."""
    return {
        name: [{"number": p.number, "merged_at": p.merged_at, "age_seconds": p.age} for p in items]
        for name, items in waiting.items()
    }


@dataclass(frozen=True)
class PullRequestMetrics:
    """Merge-to-deploy time per pull request over a window: from the merge to the deploy of its last
    impacted manual component."""

    window_days: int
    target_minutes: int
    merged: int  # merged in the window with at least one manual component
    deployed: int  # of those, every manual component runs the merge
    waiting: int
    median: float | None  # seconds
    p90: float | None
    within_target: int
    share_within_target: float | None  # of the decided ones: deployed, or waiting longer than the target
    pulls: tuple[dict, ...] = ()
    unknown: tuple[dict, ...] = ()  # {"number", "reason"}: pull requests whose life could not be read, left out

    def to_json(self) -> dict:
        return {
            "window_days": self.window_days,
            "target_minutes": self.target_minutes,
            "merged": self.merged,
            "deployed": self.deployed,
            "waiting": self.waiting,
            "merge_to_deploy_seconds": {"median": self.median, "p90": self.p90},
            "within_target": self.within_target,
            "share_within_target": self.share_within_target,
            "pull_requests": list(self.pulls),
            "unknown": list(self.unknown),
        }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p90 of 10 values is the 9th), as the component metrics use."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def pull_request_metrics(
    lives: Iterable[PullRequestLife],
    *,
    now: int,
    target_minutes: int,
    window_days: int = WINDOW_DAYS,
    unknown: Mapping[int, str] | None = None,
) -> PullRequestMetrics:
    """A pull request still waiting longer than the target counts against the share; one waiting less
    long is undecided and left out of it. `unknown`: pull requests whose life could not be read (by
    number, why): left out of the figures, and listed so the figures never look complete."""
    since = now - window_days * 86400
    target = target_minutes * 60
    merged = [
        life for life in lives if life.merged and life.manual and life.merged_at is not None and life.merged_at >= since
    ]
    merged.sort(key=lambda life: (life.merged_at or 0, life.number))
    times = [life.merge_to_deploy for life in merged if life.merge_to_deploy is not None]
    waiting = [life for life in merged if life.merge_to_deploy is None]
    late_waiting = [life for life in waiting if life.age(now) > target]
    within = sum(1 for seconds in times if seconds <= target)
    decided = len(times) + len(late_waiting)
    pulls = tuple(
        {
            "number": life.number,
            "merged_at": life.merged_at,
            "deployed_at": life.deployed_at,
            "merge_to_deploy_seconds": life.merge_to_deploy,
            "waiting_for": list(life.waiting),
        }
        for life in merged
    )
    import statistics  # only the metrics need it, and it costs detect's start-up some 5 ms

    return PullRequestMetrics(
        window_days=window_days,
        target_minutes=target_minutes,
        merged=len(merged),
        deployed=len(times),
        waiting=len(waiting),
        median=statistics.median(times) if times else None,
        p90=percentile(times, 0.9) if times else None,
        within_target=within,
        share_within_target=round(within / decided, 4) if decided else None,
        pulls=pulls,
        unknown=tuple({"number": number, "reason": reason} for number, reason in sorted((unknown or {}).items())),
    )


def render_comment(
    life: PullRequestLife, config: Config, repo_url: str | None, state: Mapping, branch: str = "main"
) -> str:
    """The sticky comment once the pull request is closed: merged and waiting, deployed, or closed."""
    from dualdeploy.render import SafeMarkdown, format_duration, format_time, render

    components = []
    for name in life.manual:
        component = next((c for c in config.components if c.name == name), None)
        deploy = life.deployed.get(name)
        components.append(
            {
                "name": name,
                "known": component is not None,
                "workflow": component.deploy_workflow if component else None,
                "deploy_url": component.deploy_url(repo_url) if component else None,
                "deploy_command": component.deploy_command(branch) if component else None,
                "owners": component.owners if component else (),
                "deploy": deploy,
                "after": format_duration(max(0, deploy.at - life.merged_at))
                if deploy and life.merged_at is not None
                else None,
                "commit_url": f"{repo_url}/commit/{deploy.sha}" if deploy and repo_url else None,
            }
        )
    return render(
        "pr_comment_after_merge.md.j2",
        marker=SafeMarkdown(COMMENT_MARKER),
        state=SafeMarkdown(hidden_state(dict(state))),
        life=life,
        components=components,
        waiting=[c for c in components if c["deploy"] is None],
        merge_url=f"{repo_url}/commit/{life.merge_commit}" if repo_url and life.merge_commit else None,
        merged_when=SafeMarkdown(format_time(life.merged_at)),
    )


def manual_of_merge(
    git, config: Config, merge_commit: str, files_of: Callable[[], list[str] | None] | None = None
) -> tuple[str, ...] | None:
    """The manual components a merged pull request changed, for one whose comment holds no state;
    None when that cannot be known.

    A true merge commit (two parents) against its first parent is the whole pull request. A squash or
    rebase merge's commit is not: a rebase leaves several commits, and GitHub names the last one the
    merge commit, so its own diff may miss the agent change. Then `files_of` (the pull request's
    files as GitHub lists them; None when it lists only part) gives them.
    """
    from dualdeploy.errors import DualDeployError
    from dualdeploy.impact import compute_impact, impact_of_paths

    parent = git.try_resolve(f"{merge_commit}^1") if git is not None else None
    if parent is not None and git.try_resolve(f"{merge_commit}^2") is not None:
        try:
            impact = compute_impact(config, git.changed_files(parent, merge_commit), base=parent, head=merge_commit)
        except DualDeployError:
            return None
        return tuple(sorted(component.name for component in impact.manual_components))
    paths = files_of() if files_of is not None else None
    if paths is None:
        return None
    impact = impact_of_paths(config, paths, base=parent or merge_commit, head=merge_commit)
    return tuple(sorted(component.name for component in impact.manual_components))


@dataclass
class TrackedPull:
    """A closed pull request as GitHub has it: its issue, the suite's comment on it, their state."""

    issue: object  # PyGithub Issue
    comment: object | None  # the sticky comment, None when the pull request has none
    state: dict
    life: PullRequestLife
    labels: set[str]
    problem: str = ""  # why its life could not be established (it is then left as it is)


class PullRequestDesk:
    """Finds the closed pull requests the suite follows and keeps their comment and label in step.

    Candidates come from one issue listing by label and state (closed pull requests that still
    carry `requires-manual-deploy`), never from the history; each costs one request for its
    comments, one more for its merge commit when its comment does not know it, and one or two
    writes when it changed.
    """

    def __init__(self, repo, config: Config, *, repo_url: str | None, git=None, branch: str = "main") -> None:
        self.repo, self.config, self.repo_url, self.git, self.branch = repo, config, repo_url, git, branch

    def waiting(self) -> list[TrackedPull]:
        """Closed pull requests that still carry `requires-manual-deploy`, oldest first."""
        return self._listed([WAITING_LABEL], since=None)

    def closed_since(
        self, since: int, *, skip: set[int] | None = None, labels: Sequence[str] = (CHANGES_LABEL, WAITING_LABEL)
    ) -> list[TrackedPull]:
        """Closed pull requests labelled by the suite and updated since a time (for the metrics),
        except those in `skip` (already read this run)."""
        found: dict[int, TrackedPull] = {}
        for label in labels:
            for tracked in self._listed([label], since=since, skip=set(found) | set(skip or ())):
                found[tracked.issue.number] = tracked
        return sorted(found.values(), key=lambda t: t.issue.number)

    def _listed(self, labels: list[str], *, since: int | None, skip: set[int] | None = None) -> list[TrackedPull]:
        from datetime import timezone

        from dualdeploy.github import call

        options: dict = {"state": "closed", "labels": labels, "sort": "created", "direction": "asc"}
        if since is not None:
            options["since"] = datetime.fromtimestamp(since, tz=timezone.utc)
        tracked = []
        with call(
            f"list closed pull requests labelled {', '.join(labels)}",
            permission="pull-requests: read",
        ):
            issues = [
                issue
                for issue in self.repo.get_issues(**options)
                if issue.pull_request is not None
                and issue.number not in (skip or set())
                # Closed (so merged, if at all) before the window: only updated since, not counted.
                and not (since is not None and issue.closed_at is not None and epoch_of(issue.closed_at) < since)
            ]
        for issue in issues:
            tracked.append(self.track(issue))
        return tracked

    def track(self, issue) -> TrackedPull:
        from dualdeploy.github import call, sticky_comments

        ours = sticky_comments(issue, COMMENT_MARKER)
        comment = ours[0] if ours else None
        state = read_hidden_state(comment.body) if comment is not None else {}
        labels = {label.name.lower() for label in issue.labels}
        life = life_from_state(issue.number, state, title=issue.title or "", url=issue.html_url)
        problem = ""
        if not life.merged and not life.closed_unmerged:
            # Merged before the suite followed merges, or the closed event did not run: ask GitHub.
            with call(f"read pull request #{issue.number}", permission="pull-requests: read"):
                pull = self.repo.get_pull(issue.number)
                merged, merge_commit, merged_at = pull.merged, pull.merge_commit_sha, pull.merged_at
            if merged and merge_commit and merged_at is not None:
                life = replace(life, merged_at=epoch_of(merged_at), merge_commit=merge_commit)
            elif merged or merged_at is not None:
                # Merged, but GitHub does not say as which commit (or when): unknown, never 'closed'.
                missing = "merge commit" if not merge_commit else "merge time"
                problem = (
                    f"#{issue.number} is merged but GitHub gives no {missing} for it, so whether a deploy "
                    "carries it is unknown; it stays waiting"
                )
                return TrackedPull(issue, comment, state, life, labels, problem)
            else:
                life = replace(life, closed_unmerged=True)
        if "manual" not in state and life.merged and life.merge_commit:
            manual = manual_of_merge(self.git, self.config, life.merge_commit, lambda: self.files_of(issue.number))
            if manual is None:
                problem = (
                    f"cannot tell which components #{issue.number} changed: its comment records no impact, "
                    f"and neither its merge commit {life.merge_commit[:12]} in this clone (fetch-depth: 0) nor "
                    "GitHub's list of its files (at most 3,000) tells"
                )
            else:
                life = replace(life, manual=manual)
        return TrackedPull(issue, comment, state, life, labels, problem)

    def files_of(self, number: int) -> list[str] | None:
        """The paths a pull request changes, as GitHub lists them (a rename: both names); None when
        GitHub lists only part of them."""
        from dualdeploy.github import call

        with call(f"list the files of pull request #{number}", permission="pull-requests: read"):
            pull = self.repo.get_pull(number)
            files = list(pull.get_files())
            total = pull.changed_files
        if total is not None and total > len(files):
            return None
        paths = [file.filename for file in files]
        paths += [file.previous_filename for file in files if getattr(file, "previous_filename", None)]
        return list(dict.fromkeys(paths))

    def publish(self, tracked: TrackedPull, life: PullRequestLife) -> list[str]:
        """Write the comment and the label for a life; nothing when neither changed. Returns what it did.

        Only what the suite made is touched: its own comment (a pull request without one keeps having
        none), and `requires-manual-deploy` only when its memory says the suite added it.
        """
        from dualdeploy.github import GithubException, call

        if tracked.problem or tracked.comment is None:
            tracked.life = life
            return []
        done = []
        state = life.to_state(tracked.state)
        # A comment from before the hidden state kept the labels without remembering: they are the suite's.
        added = labels_added_before(tracked.state, legacy_comment=not tracked.state, present=tracked.labels)
        done_waiting = life.phase in ("deployed", "closed") or (life.merged and not life.manual)
        drop_label = done_waiting and WAITING_LABEL in tracked.labels and WAITING_LABEL in added
        if drop_label:
            state[LABELS_ADDED] = sorted(name for name in added if name != WAITING_LABEL)
        body = render_comment(life, self.config, self.repo_url, state, self.branch)
        number = tracked.issue.number
        if tracked.comment.body != body:
            with call(f"edit comment {tracked.comment.id} on #{number}", permission="pull-requests: write"):
                tracked.comment.edit(body)
            done.append(f"#{number}: comment updated ({life.phase})")
        if drop_label:
            with call(f"remove label {WAITING_LABEL!r} from #{number}", permission="pull-requests: write"):
                try:
                    tracked.issue.remove_from_labels(WAITING_LABEL)
                except GithubException as error:
                    if error.status != 404:  # removed meanwhile: the outcome we wanted
                        raise
            tracked.labels.discard(WAITING_LABEL)
            done.append(f"#{number}: label {WAITING_LABEL} removed")
        tracked.state, tracked.life = state, life
        return done


@dataclass
class FollowOutcome:
    """What following the waiting pull requests did and saw."""

    lives: list[PullRequestLife] = field(default_factory=list)  # every candidate, after this run
    actions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown: dict[int, str] = field(default_factory=dict)  # pull requests whose life could not be read


def follow(
    desk: PullRequestDesk,
    deployments_of: Callable[[str], Sequence[Deployment]],
    contains: Callable[[str, str], bool | None],
    *,
    only: str | None = None,
    write: bool = True,
) -> FollowOutcome:
    """Mark each waiting pull request's components deployed where a successful deploy carries its
    merge commit, and update its comment and label (not with `write` false: the metrics only read).
    `only`: look at that component's deploys alone (record-deployment knows just the one it recorded)."""
    outcome = FollowOutcome()
    for tracked in desk.waiting():
        if tracked.problem:
            outcome.warnings.append(tracked.problem)
            outcome.unknown[tracked.issue.number] = tracked.problem
            outcome.lives.append(tracked.life)
            continue
        components = [name for name in tracked.life.waiting if only is None or name == only]
        life, unknown = settle(tracked.life, {name: deployments_of(name) for name in components}, contains)
        for name in unknown:
            outcome.warnings.append(
                f"cannot tell whether {name}'s deploy carries #{tracked.issue.number}'s merge commit "
                f"{(life.merge_commit or '')[:12]}: this clone lacks the commits (check out with fetch-depth: 0); "
                "the pull request stays waiting"
            )
        if write:
            outcome.actions.extend(desk.publish(tracked, life))
        else:
            tracked.life = life
        outcome.lives.append(tracked.life)
    return outcome


class DeployLookup:
    """Each component's successful deploys since a time, oldest first, read once per run through the
    deployment providers, plus what it runs now; a component not in the config has none."""

    def __init__(self, reader, config: Config, since: int, current: Mapping[str, Deployment] | None = None) -> None:
        self.reader, self.config, self.since = reader, config, since
        self.current = dict(current or {})
        self._found: dict[str, list[Deployment]] = {}

    def __call__(self, name: str) -> list[Deployment]:
        if name not in self._found:
            from dualdeploy.deployments import deployment_history

            component = next((c for c in self.config.components if c.name == name), None)
            found = deployment_history(self.reader, component, self.since) if component is not None else []
            now_running = self.current.get(name)
            if now_running is not None and now_running.sha and now_running.deployed_at is not None:
                # The same deploy seen twice: keep the provider's link to its run.
                found = [d for d in found if (d.sha, d.deployed_at) != (now_running.sha, now_running.deployed_at)]
                found = [*found, now_running]
            self._found[name] = found
        return self._found[name]


def lives_in_window(
    desk: PullRequestDesk,
    since: int,
    deployments_of: Callable[[str], Sequence[Deployment]],
    contains: Callable[[str, str], bool | None],
    known: Iterable[PullRequestLife] = (),
    unknown: dict[int, str] | None = None,
) -> list[PullRequestLife]:
    """Every closed pull request the suite labelled and that changed since a time, with its deploys as
    they are now (settled in memory; nothing is written). `known`: lives already read this run;
    `unknown` collects those whose life could not be read (number: why)."""
    lives = {life.number: life for life in known if unknown is None or life.number not in unknown}
    # Those still labelled requires-manual-deploy are `known` (follow listed them): one listing more.
    for tracked in desk.closed_since(since, skip=set(lives) | set(unknown or ()), labels=(CHANGES_LABEL,)):
        if tracked.problem:
            if unknown is not None:
                unknown[tracked.issue.number] = tracked.problem
            continue
        life, _unknown = settle(tracked.life, {name: deployments_of(name) for name in tracked.life.waiting}, contains)
        lives[life.number] = life
    return sorted(lives.values(), key=lambda life: life.number)


@dataclass
class PullRequestReport:
    """The merged pull requests as one run saw them: what it did, who still waits, the metrics."""

    outcome: FollowOutcome
    waiting: dict[str, list[WaitingPull]]
    metrics: PullRequestMetrics | None
    problem: str = ""  # why the pull requests could not be read (then all else is empty)


def report(
    desk: PullRequestDesk,
    lookup: Callable[[str], Sequence[Deployment]],
    contains: Callable[[str, str], bool | None],
    *,
    now: int,
    target_minutes: int,
    write: bool,
    with_metrics: bool = True,
) -> PullRequestReport:
    """Follow the waiting pull requests (writing their comment and label when `write`), list who
    still waits, and the merge-to-deploy metrics over the window. A GitHub failure is not fatal: the
    report says it could not read the pull requests, and nothing counts as deployed."""
    from dualdeploy.errors import DualDeployError

    try:
        outcome = follow(desk, lookup, contains, write=write)
        metrics = None
        if with_metrics:
            since = now - WINDOW_DAYS * 86400
            unknown = dict(outcome.unknown)
            lives = lives_in_window(desk, since, lookup, contains, known=outcome.lives, unknown=unknown)
            metrics = pull_request_metrics(lives, now=now, target_minutes=target_minutes, unknown=unknown)
    except DualDeployError as error:
        return PullRequestReport(FollowOutcome(), {}, None, problem=error.message)
    return PullRequestReport(outcome, waiting_by_component(outcome.lives, now), metrics)


__all__ = [
    "CHANGES_LABEL",
    "COMMENT_MARKER",
    "LABELS_ADDED",
    "MANAGED_LABELS",
    "WAITING_LABEL",
    "ComponentDeploy",
    "DeployLookup",
    "FollowOutcome",
    "LabelPlan",
    "PullRequestDesk",
    "PullRequestLife",
    "PullRequestMetrics",
    "PullRequestReport",
    "TrackedPull",
    "WaitingPull",
    "labels_added_before",
    "life_from_state",
    "lives_in_window",
    "follow",
    "plan_labels",
    "pull_request_metrics",
    "render_comment",
    "report",
    "settle",
    "waiting_by_component",
    "wanted_labels",
]

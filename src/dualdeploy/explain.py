"""Why isn't my change live? For one change, each impacted component's answer: deployed, pending, unknown.

A pure function from facts already read (the change's commit and paths, each component's
deployment, and whether a deployed commit contains the change's commit) to a report. Like the
drift core it decides by content: a component is *deployed* only when the commit it runs has the
change's commit in its history. What could not be read is *unknown*, never deployed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dualdeploy.changes import ChangedFile
from dualdeploy.config import Config
from dualdeploy.drift import Deployment
from dualdeploy.impact import compute_impact

DEPLOYED = "deployed"
PENDING = "pending"
UNKNOWN = "unknown"
STATUSES = (DEPLOYED, PENDING, UNKNOWN)


@dataclass(frozen=True)
class Change:
    """The change to explain: the commit a deploy must contain, and the paths it changed."""

    sha: str
    subject: str
    paths: tuple[str, ...]
    asked: str  # how the user named it: "commit", "pull request", "path"
    pull: int | None = None  # the pull request, when asked by number
    path: str | None = None  # the path, when asked by path
    merged: bool = True  # on the default branch (or, for a pull request, merged)
    branch: str = "main"  # the default branch


@dataclass(frozen=True)
class ComponentAnswer:
    """One impacted component: whether the commit it runs contains the change, and what to do if not."""

    name: str
    deploy: str  # "auto" | "manual"
    via: tuple[str, ...]  # shared groups the change reached it through; empty when direct
    files: tuple[str, ...]
    status: str  # deployed | pending | unknown
    deployed_sha: str | None
    deployed_at: int | None  # unix seconds
    run: str | None  # the run or deployment that deployed what it runs
    reason: str = ""  # unknown: why; pending: what it runs lacks
    fix: str = ""  # unknown: what makes it known (the source's own advice)
    deploying: bool = False  # a deploy is running right now
    deploy_command: str | None = None  # pending manual component: the `gh workflow run` line
    deploy_url: str | None = None
    deploy_workflow: str | None = None
    owners: tuple[str, ...] = ()

    @property
    def manual(self) -> bool:
        return self.deploy == "manual"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "deploy": self.deploy,
            "via": list(self.via),
            "status": self.status,
            "deployed_sha": self.deployed_sha,
            "deployed_at": self.deployed_at,
            "run": self.run,
        }


@dataclass(frozen=True)
class Explanation:
    change: Change
    components: tuple[ComponentAnswer, ...]

    def of(self, status: str) -> tuple[ComponentAnswer, ...]:
        return tuple(answer for answer in self.components if answer.status == status)

    def to_json(self) -> dict:
        return {"commit": self.change.sha, "components": [answer.to_json() for answer in self.components]}


def explain(
    config: Config,
    change: Change,
    deployments: Mapping[str, Deployment],
    contains: Callable[[str, str], bool | None],
    *,
    repo_url: str | None = None,
) -> Explanation:
    """Each component the change impacts, with its answer.

    `deployments` has the deployment of every impacted component (see `impacted`); `contains(deployed,
    commit)` says whether the deployed commit has the change's commit in its history, or None when
    the deployed commit is not in the clone.
    """
    answers = []
    for impact in impacted(config, change):
        component = config.component(impact.name)
        deployment = deployments[impact.name]
        common = {
            "name": impact.name,
            "deploy": impact.deploy,
            "via": impact.via,
            "files": impact.files,
            "deploy_workflow": component.deploy_workflow,
            "owners": component.owners,
            "deploy_url": component.deploy_url(repo_url),
        }
        if deployment.sha is None:
            answers.append(
                ComponentAnswer(
                    **common,
                    status=UNKNOWN,
                    deployed_sha=None,
                    deployed_at=None,
                    run=None,
                    reason=deployment.reason or "no deployment found",
                    fix=deployment.fix,
                    deploying=deployment.in_progress,
                )
            )
            continue
        found = contains(deployment.sha, change.sha)
        fix = ""
        if found is None:
            status, reason = UNKNOWN, f"the deployed commit {deployment.sha[:12]} is not in this clone's history"
            fix = "fetch it, or check out with `fetch-depth: 0`"
        elif found:
            status, reason = DEPLOYED, ""
        else:
            status, reason = PENDING, f"the deployed commit {deployment.sha[:12]} does not contain {change.sha[:12]}"
        answers.append(
            ComponentAnswer(
                **common,
                status=status,
                deployed_sha=deployment.sha,
                deployed_at=deployment.deployed_at,
                run=deployment.url,
                reason=reason,
                fix=fix,
                deploying=deployment.in_progress and status == PENDING,
                deploy_command=component.deploy_command(change.branch) if status == PENDING else None,
            )
        )
    return Explanation(change, tuple(answers))


def impacted(config: Config, change: Change):
    """The components the change's paths reach (directly or through a shared group), by name."""
    files = [ChangedFile(path, "M") for path in change.paths]
    return compute_impact(config, files, base=change.sha, head=change.sha).components

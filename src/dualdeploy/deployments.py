"""Where a component's deployed commit comes from: GitHub deployments, workflow runs, a version URL,
or a value given directly. A provider that cannot answer says `unknown` and why; it never raises and
never claims a component is in sync."""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from itertools import islice

from dualdeploy.actions_io import json_object_input
from dualdeploy.config import Component, DeployedSource
from dualdeploy.drift import Deployment
from dualdeploy.errors import DualDeployError

MAX_DEPLOYMENTS_SCANNED = 30
DEPLOYMENTS_PER_PAGE = 100  # the newest 100 deployments of an environment: the status and 30 days of history
MAX_RUNS_SCANNED = 30
URL_TIMEOUT_SECONDS = 5.0
SHA = re.compile(r"^[0-9a-f]{7,40}$")
WAITING_STATES = ("in_progress", "queued", "pending")


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def source_of(component: Component) -> DeployedSource:
    return component.deployed or DeployedSource("github-deployment", environment=component.name)


def describe(source: DeployedSource) -> str:
    if source.kind == "github-deployment":
        return f"github-deployment:{source.environment}"
    if source.kind == "workflow":
        return f"workflow:{source.workflow}" + (f" job:{source.job}" if source.job else "")
    return f"url:{source.url}"


class DeploymentReader:
    """Reads each component's deployed commit from its configured source."""

    def __init__(
        self,
        repo=None,
        *,
        default_branch: str = "main",
        given: Mapping[str, str] | None = None,
        url_timeout: float = URL_TIMEOUT_SECONDS,
    ) -> None:
        self.repo = repo  # a PyGithub Repository, or None without a token
        self._default_branch = default_branch
        self._listings: dict[str, list] = {}
        self._statuses: dict[int, list] = {}
        self.given = dict(given or {})
        self.url_timeout = url_timeout

    def read(self, component: Component) -> Deployment:
        source = source_of(component)
        label = describe(source)
        if component.name in self.given:
            return Deployment(component.name, self.given[component.name], source="deployed-shas input")
        try:
            if source.kind == "url":
                return self._from_url(component.name, source, label)
            if self.repo is None:
                return Deployment(
                    component.name,
                    None,
                    source=label,
                    reason="no GitHub token, so deployments cannot be read (pass deployed-shas or a token)",
                )
            if source.kind == "workflow":
                return self._from_workflow(component.name, source, label)
            return self._from_github_deployment(component.name, source, label)
        except DualDeployError as error:
            return Deployment(component.name, None, source=label, reason=error.message)

    def _from_github_deployment(self, name: str, source: DeployedSource, label: str) -> Deployment:
        from dualdeploy.github import call

        environment = source.environment or name
        deploying = False
        scanned_all = True
        with call(f"read the deployments of environment {environment!r}", permission="deployments: read"):
            for index, deployment in enumerate(self.deployments_of(environment)):
                if index >= MAX_DEPLOYMENTS_SCANNED:
                    scanned_all = False
                    break
                newest = next(iter(self.statuses_of(deployment)), None)
                if newest is None:
                    continue
                if newest.state == "success":
                    return Deployment(
                        name,
                        deployment.sha,
                        _epoch(newest.created_at),
                        label,
                        url=newest.log_url or newest.environment_url or None,
                        in_progress=deploying,
                    )
                if index == 0 and newest.state in WAITING_STATES:
                    deploying = True
        return Deployment(
            name,
            None,
            source=label,
            in_progress=deploying,
            reason=f"no successful deployment of environment {environment!r} yet"
            if scanned_all
            else f"none of the newest {MAX_DEPLOYMENTS_SCANNED} deployments of environment {environment!r} succeeded",
        )

    def deployments_of(self, environment: str) -> list:
        """The newest deployments of an environment (one page of 100), read once per run."""
        if environment not in self._listings:
            self._listings[environment] = list(
                islice(self.repo.get_deployments(environment=environment), DEPLOYMENTS_PER_PAGE)
            )
        return self._listings[environment]

    def statuses_of(self, deployment) -> list:
        """A deployment's statuses, newest first, read once per run."""
        if deployment.id not in self._statuses:
            self._statuses[deployment.id] = list(deployment.get_statuses())
        return self._statuses[deployment.id]

    @property
    def default_branch(self) -> str:
        """The branch deploy runs count on; asked of GitHub once, only when a workflow source needs it."""
        if self._default_branch is None:
            from dualdeploy.github import call

            with call("read the repository's default branch", permission="contents: read"):
                self._default_branch = self.repo.default_branch
        return self._default_branch

    def _from_workflow(self, name: str, source: DeployedSource, label: str) -> Deployment:
        from dualdeploy.github import call

        with call(f"read the runs of workflow {source.workflow!r}", permission="actions: read"):
            workflow = self.repo.get_workflow(source.workflow)
            if not source.job:
                for run in workflow.get_runs(branch=self.default_branch, status="success"):
                    return Deployment(name, run.head_sha, _epoch(run.updated_at), label, url=run.html_url)
                return Deployment(
                    name, None, source=label, reason=f"no successful run of {source.workflow} on {self.default_branch}"
                )
            for index, run in enumerate(workflow.get_runs(branch=self.default_branch, status="completed")):
                if index >= MAX_RUNS_SCANNED:
                    break
                for job in run.jobs():
                    if job.name == source.job and job.conclusion == "success":
                        return Deployment(name, run.head_sha, _epoch(job.completed_at), label, url=run.html_url)
        return Deployment(
            name,
            None,
            source=label,
            reason=f"no run of {source.workflow} on {self.default_branch} where job {source.job!r} succeeded",
        )

    def _from_url(self, name: str, source: DeployedSource, label: str) -> Deployment:
        request = urllib.request.Request(
            source.url or "", headers={"Accept": "application/json", "User-Agent": "dual-deploy-guard"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.url_timeout) as response:  # noqa: S310 (config's URL)
                body = response.read(1_000_000)
        except urllib.error.HTTPError as error:
            return Deployment(name, None, source=label, reason=f"{source.url} answered HTTP {error.code}")
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            return Deployment(name, None, source=label, reason=f"{source.url} did not answer ({reason})")
        try:
            value: object = json.loads(body)
            for part in (source.field or "").split("."):
                value = value.get(part) if isinstance(value, dict) else None
        except ValueError:
            return Deployment(name, None, source=label, reason=f"{source.url} did not return JSON")
        sha = str(value).strip().lower() if isinstance(value, str) else ""
        if not SHA.match(sha):
            return Deployment(
                name,
                None,
                source=label,
                reason=f"{source.url} has no commit sha at {source.field!r} (got {str(value)[:40]!r})",
            )
        return Deployment(name, sha, source=label, url=source.url)


STATUS_WORKERS = 8


def deployment_history(reader: DeploymentReader, component: Component, since: int) -> list[Deployment]:
    """Successful deploys of a component since a time, oldest first (for metrics).

    A GitHub deployment counts when any of its statuses is `success` (GitHub marks older ones
    `inactive` once a newer one succeeds). A source with no history (a URL) gives what it runs now.
    """
    source = source_of(component)
    label = describe(source)
    if reader.repo is None or source.kind == "url":
        current = reader.read(component)
        return [current] if current.sha and current.deployed_at else []
    from dualdeploy.github import call

    found: list[Deployment] = []
    try:
        if source.kind == "github-deployment":
            environment = source.environment or component.name
            with call(f"read the deployments of environment {environment!r}", permission="deployments: read"):
                recent = [d for d in reader.deployments_of(environment) if _epoch(d.created_at) >= since]
                # One request per deployment for its statuses: sent a few at a time, not in a row.
                with ThreadPoolExecutor(max_workers=STATUS_WORKERS) as pool:
                    statuses = list(pool.map(reader.statuses_of, recent))
                successes = [
                    next((s for s in found_statuses if s.state == "success"), None) for found_statuses in statuses
                ]
                for deployment, success in zip(recent, successes, strict=True):
                    if success is not None:
                        found.append(Deployment(component.name, deployment.sha, _epoch(success.created_at), label))
        else:
            day = datetime.fromtimestamp(since, tz=timezone.utc).strftime("%Y-%m-%d")
            with call(f"read the runs of workflow {source.workflow!r}", permission="actions: read"):
                workflow = reader.repo.get_workflow(source.workflow)
                runs = workflow.get_runs(branch=reader.default_branch, status="success", created=f">={day}")
                for run in runs:
                    finished = _epoch(run.updated_at)
                    if source.job:
                        job = next((j for j in run.jobs() if j.name == source.job and j.conclusion == "success"), None)
                        if job is None:
                            continue
                        finished = _epoch(job.completed_at)
                    found.append(Deployment(component.name, run.head_sha, finished, label, url=run.html_url))
    except DualDeployError:
        return []
    return sorted(found, key=lambda deployment: deployment.deployed_at or 0)


def parse_given(text: str | None) -> dict[str, str]:
    """The `deployed-shas` input: a JSON object of component name to sha."""
    example = '{"tenant-agent": "<sha>"}'
    value = json_object_input(text, "deployed-shas", example)
    if not all(isinstance(sha, str) for sha in value.values()):
        raise DualDeployError(f"must be a JSON object like {example}", key="deployed-shas")
    return value

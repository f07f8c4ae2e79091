"""Where a component's deployed commit comes from: GitHub deployments, workflow runs, a version URL,
or a value given directly. A provider that cannot answer says `unknown` and why; it never raises and
never claims a component is in sync. A history for metrics that GitHub cannot give raises instead:
an empty history would read as "never deployed".

GitHub deployments are read through GraphQL, every environment of a run at once: the newest
deployments of up to 100 environments in one query (an alias per environment), and the history of a
window through one connection over all environments, newest first, 100 to a page, stopping at the
window's start. Workflow runs have no GraphQL equivalent and stay on REST.
"""

from __future__ import annotations

import copy
import http.client
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone

from dualdeploy.actions_io import json_object_input
from dualdeploy.config import Component, DeployedSource
from dualdeploy.drift import Deployment
from dualdeploy.errors import DualDeployError

MAX_DEPLOYMENTS_SCANNED = 30
DEPLOYMENTS_PER_PAGE = 100  # GraphQL's largest page
ENVIRONMENTS_PER_QUERY = 100
MAX_RUNS_SCANNED = 30
URL_TIMEOUT_SECONDS = 5.0
SHA = re.compile(r"^[0-9a-f]{7,40}$")
WAITING_STATES = ("in_progress", "queued", "pending", "waiting")
DEPLOYMENT_PERMISSION = "deployments: read"
NO_TOKEN_FIX = (
    "pass `github-token` (the actions default to the job's token; grant `deployments: read`, "
    "and `actions: read` for a workflow source) or give `deployed-shas`"
)
WORKFLOW_FIX = (
    "check the workflow and job named under `deployed:` in the config, or give `deployed-shas`; "
    "`on-unknown: warn` while adopting"
)
URL_FIX = "make the version URL under `deployed:` answer with the commit, or give `deployed-shas`"
NEWEST_FIRST = "orderBy: {field: CREATED_AT, direction: DESC}"
LATEST_FIELDS = "commitOid environment createdAt latestStatus { state createdAt logUrl environmentUrl }"
# A deployment GitHub marked inactive (a newer one succeeded) still succeeded once: its statuses say when.
HISTORY_QUERY = f"""
query($owner: String!, $name: String!, $environments: [String!], $first: Int!, $after: String) {{
  repository(owner: $owner, name: $name) {{
    deployments(environments: $environments, first: $first, after: $after, {NEWEST_FIRST}) {{
      nodes {{ commitOid environment createdAt latestStatus {{ state createdAt }}
              statuses(first: 10) {{ nodes {{ state createdAt }} }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def _timestamp(text: str | None) -> int | None:
    """GraphQL's DateTime (ISO 8601, `Z` for UTC) as unix seconds."""
    if not text:
        return None
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _reading(environments: Sequence[str]) -> str:
    """What a deployments query does, for its error message: one environment by name, else how many."""
    if len(environments) == 1:
        return f"read the deployments of environment {environments[0]!r}"
    return f"read the deployments of {len(environments)} environments"


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def latest_query(count: int) -> str:
    """One query for the newest deployments of `count` environments: an alias per environment."""
    variables = "".join(f", $e{index}: [String!]" for index in range(count))
    fields = "\n".join(
        f"    e{index}: deployments(environments: $e{index}, first: $first, {NEWEST_FIRST}) "
        f"{{ nodes {{ {LATEST_FIELDS} }} pageInfo {{ hasNextPage }} }}"
        for index in range(count)
    )
    return (
        f"query($owner: String!, $name: String!, $first: Int!{variables}) {{\n"
        f"  repository(owner: $owner, name: $name) {{\n{fields}\n  }}\n}}\n"
    )


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
        token_required: bool = False,
    ) -> None:
        self.repo = repo  # a PyGithub Repository, or None without a token
        # In Actions a missing token is a broken workflow, not a local dry run: fail, do not guess.
        self.token_required = token_required
        self._default_branch = default_branch
        # environment -> (newest deployments, whether older ones exist), or the error reading them
        self._latest: dict[str, tuple[list[dict], bool] | DualDeployError] = {}
        self._lock = threading.Lock()
        self.given = dict(given or {})
        self.url_timeout = url_timeout

    def read(self, component: Component) -> Deployment:
        source = source_of(component)
        label = describe(source)
        if component.name in self.given:
            return Deployment(component.name, self.given[component.name], source="deployed-shas input")
        if source.kind == "url":
            return self._from_url(component.name, source, label)
        if self.repo is None:
            if self.token_required:
                raise DualDeployError(
                    f"no GitHub token, so the deployed commit of {component.name} ({label}) cannot be read; "
                    f"{NO_TOKEN_FIX}",
                    key="github-token",
                )
            return Deployment(
                component.name,
                None,
                source=label,
                reason="no GitHub token, so deployments cannot be read",
                fix=NO_TOKEN_FIX,
            )
        # A GitHub call that fails raises (exit 2, the cause classified): only "GitHub has no
        # deployment for it" makes a component unknown.
        if source.kind == "workflow":
            return self._from_workflow(component.name, source, label)
        return self._from_github_deployment(component.name, source, label)

    def _from_github_deployment(self, name: str, source: DeployedSource, label: str) -> Deployment:
        environment = source.environment or name
        deploying = False
        nodes, more = self.latest_deployments(environment)
        for index, node in enumerate(nodes):
            newest = node.get("latestStatus")
            if not newest:
                continue
            state = str(newest.get("state") or "").lower()
            if state == "success":
                return Deployment(
                    name,
                    node.get("commitOid"),
                    _timestamp(newest.get("createdAt")),
                    label,
                    url=newest.get("logUrl") or newest.get("environmentUrl") or None,
                    in_progress=deploying,
                )
            if index == 0 and state in WAITING_STATES:
                deploying = True
        return Deployment(
            name,
            None,
            source=label,
            in_progress=deploying,
            reason=f"none of the newest {MAX_DEPLOYMENTS_SCANNED} deployments of environment {environment!r} succeeded"
            if more
            else f"no successful deployment of environment {environment!r} yet",
        )

    def environment_of(self, component: Component) -> str | None:
        """The GitHub environment a component's deployments are read from (None: another source)."""
        source = source_of(component)
        return (source.environment or component.name) if source.kind == "github-deployment" else None

    def prefetch(self, components: Iterable[Component]) -> None:
        """Read the newest deployments of every environment these components use, 100 to a query,
        so the reads that follow cost no request."""
        if self.repo is None:
            return
        with self._lock:
            wanted = {
                environment
                for component in components
                if component.name not in self.given and (environment := self.environment_of(component))
            }
            for chunk in _chunks(sorted(wanted - set(self._latest)), ENVIRONMENTS_PER_QUERY):
                self._fetch_latest(chunk)

    def latest_deployments(self, environment: str) -> tuple[list[dict], bool]:
        """The newest deployments of an environment (at most MAX_DEPLOYMENTS_SCANNED), newest first,
        and whether older ones exist; read once per run."""
        with self._lock:
            if environment not in self._latest:
                self._fetch_latest([environment])
            found = self._latest[environment]
        if isinstance(found, DualDeployError):
            raise copy.copy(found)
        return found

    def _fetch_latest(self, environments: Sequence[str]) -> None:
        from dualdeploy.github import graphql

        owner, _, name = self.repo.full_name.partition("/")
        variables = {"owner": owner, "name": name, "first": MAX_DEPLOYMENTS_SCANNED}
        variables.update({f"e{index}": [environment] for index, environment in enumerate(environments)})
        what = _reading(environments)
        try:
            data = graphql(
                self.repo, latest_query(len(environments)), variables, what=what, permission=DEPLOYMENT_PERMISSION
            )
        except DualDeployError as error:
            for environment in environments:
                self._latest[environment] = error
            return
        repository = data.get("repository") or {}
        for index, environment in enumerate(environments):
            connection = repository.get(f"e{index}") or {}
            more = bool((connection.get("pageInfo") or {}).get("hasNextPage"))
            self._latest[environment] = (list(connection.get("nodes") or []), more)

    def deployments_since(self, environments: Sequence[str], since: int) -> list[dict]:
        """Every deployment of these environments created since a time, newest first: one
        connection over all of them, a page of 100 per request, stopping at the window's start."""
        from dualdeploy.github import graphql

        owner, _, name = self.repo.full_name.partition("/")
        what = _reading(environments)
        found: list[dict] = []
        after = None
        while True:
            variables = {
                "owner": owner,
                "name": name,
                "environments": list(environments),
                "first": DEPLOYMENTS_PER_PAGE,
                "after": after,
            }
            data = graphql(self.repo, HISTORY_QUERY, variables, what=what, permission=DEPLOYMENT_PERMISSION)
            connection = (data.get("repository") or {}).get("deployments") or {}
            nodes = connection.get("nodes") or []
            found += [node for node in nodes if (_timestamp(node.get("createdAt")) or 0) >= since]
            page = connection.get("pageInfo") or {}
            if not nodes or (_timestamp(nodes[-1].get("createdAt")) or 0) < since or not page.get("hasNextPage"):
                return found
            after = page.get("endCursor")

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
                    name,
                    None,
                    source=label,
                    reason=f"no successful run of {source.workflow} on {self.default_branch}",
                    fix=WORKFLOW_FIX,
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
            fix=WORKFLOW_FIX,
        )

    def _from_url(self, name: str, source: DeployedSource, label: str) -> Deployment:
        request = urllib.request.Request(
            source.url or "", headers={"Accept": "application/json", "User-Agent": "dual-deploy-guard"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.url_timeout) as response:  # noqa: S310 (config's URL)
                body = response.read(1_000_000)
        except urllib.error.HTTPError as error:
            return Deployment(name, None, source=label, reason=f"{source.url} answered HTTP {error.code}", fix=URL_FIX)
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            return Deployment(name, None, source=label, reason=f"{source.url} did not answer ({reason})", fix=URL_FIX)
        try:
            value: object = json.loads(body)
            for part in (source.field or "").split("."):
                value = value.get(part) if isinstance(value, dict) else None
        except ValueError:
            return Deployment(name, None, source=label, reason=f"{source.url} did not return JSON", fix=URL_FIX)
        sha = str(value).strip().lower() if isinstance(value, str) else ""
        if not SHA.match(sha):
            return Deployment(
                name,
                None,
                source=label,
                reason=f"{source.url} has no commit sha at {source.field!r} (got {str(value)[:40]!r})",
                fix=URL_FIX,
            )
        return Deployment(name, sha, source=label, url=source.url)


def deployment_histories(
    reader: DeploymentReader, components: Sequence[Component], since: int
) -> dict[str, list[Deployment]]:
    """Successful deploys of each component since a time, oldest first (for metrics): every one in
    the window, however many. GitHub deployments of all components are read together, in as few
    GraphQL pages as the window needs; a GitHub error is raised, never read as "no deploys".

    A GitHub deployment counts when any of its statuses is `success` (GitHub marks older ones
    `inactive` once a newer one succeeds). A source with no history (a URL) gives what it runs now.
    """
    histories: dict[str, list[Deployment]] = {}
    by_environment: dict[str, list[Component]] = {}
    for component in components:
        environment = reader.environment_of(component) if reader.repo is not None else None
        if environment is None:
            histories[component.name] = deployment_history(reader, component, since)
        else:
            by_environment.setdefault(environment, []).append(component)
    for chunk in _chunks(sorted(by_environment), ENVIRONMENTS_PER_QUERY):
        nodes = reader.deployments_since(chunk, since)
        for environment in chunk:
            for component in by_environment[environment]:
                label = describe(source_of(component))
                histories[component.name] = sorted(
                    (
                        Deployment(component.name, node.get("commitOid"), success, label)
                        for node in nodes
                        if node.get("environment") == environment and (success := _succeeded_at(node)) is not None
                    ),
                    key=lambda deployment: deployment.deployed_at or 0,
                )
    return {component.name: histories[component.name] for component in components}


def _succeeded_at(node: Mapping) -> int | None:
    """When a deployment succeeded (its newest `success` status), or None if it never did."""
    statuses = [node.get("latestStatus") or {}, *((node.get("statuses") or {}).get("nodes") or [])]
    times = [_timestamp(status.get("createdAt")) for status in statuses if status.get("state") == "SUCCESS"]
    return max((moment for moment in times if moment is not None), default=None)


def deployment_history(reader: DeploymentReader, component: Component, since: int) -> list[Deployment]:
    """One component's successful deploys since a time, oldest first (see deployment_histories)."""
    source = source_of(component)
    label = describe(source)
    if reader.repo is None or source.kind == "url":
        current = reader.read(component)
        return [current] if current.sha and current.deployed_at else []
    if source.kind == "github-deployment":
        return deployment_histories(reader, [component], since)[component.name]
    from dualdeploy.github import call

    found: list[Deployment] = []
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
    return sorted(found, key=lambda deployment: deployment.deployed_at or 0)


def parse_given(text: str | None) -> dict[str, str]:
    """The `deployed-shas` input: a JSON object of component name to sha."""
    example = '{"tenant-agent": "<sha>"}'
    value = json_object_input(text, "deployed-shas", example)
    if not all(isinstance(sha, str) for sha in value.values()):
        raise DualDeployError(f"must be a JSON object like {example}", key="deployed-shas")
    return value

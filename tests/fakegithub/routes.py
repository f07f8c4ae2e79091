"""The endpoints: for each method and path GitHub serves, who may call it and what it answers.

Handlers read the parsed request (`Call`), change the store, and return a `Reply` or, for lists
GitHub pages through, a `Listing`; the server adds paging, headers and errors around them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from fakegithub import search as issue_search
from fakegithub.auth import Token
from fakegithub.payloads import Payloads
from fakegithub.state import ApiError, Issue, Repo, Store, invalid_request, label_names, validation_failed

DOCS = "https://docs.github.com/rest"


@dataclass
class Reply:
    body: Any = None  # None: no body at all (204)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Listing:
    """A list GitHub pages through with `page`/`per_page` and a Link header."""

    items: list[Any]
    envelope: str | None = None  # set when the page sits in `{"total_count": n, envelope: [...]}`
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    """One request, parsed: path parameters, query, JSON body and the token that sent it."""

    store: Store
    payloads: Payloads
    token: Token
    params: dict[str, str]
    query: dict[str, str]
    body: Any

    @cached_property
    def repo(self) -> Repo:
        return self.store.repo(f"{self.params['owner']}/{self.params['repo']}")

    @property
    def actor(self) -> str:
        return self.token.login

    def number(self, name: str) -> int:
        return int(self.params[name])

    def fields(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise invalid_request(f"For 'links/0/schema', {self.body!r} is not an object.")
        return self.body

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.fields().get(name)
        if value is None:
            if required:
                raise invalid_request(f'"{name}" wasn\'t supplied.')
            return None
        if not isinstance(value, str):
            raise invalid_request(f"For 'properties/{name}', {value!r} is not a string.")
        return value

    def since(self) -> datetime | None:
        raw = self.query.get("since")
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise validation_failed("Issue", "invalid", "since") from None


Handler = Callable[[Call], "Reply | Listing"]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    scopes: tuple[str, ...]  # any one of these permissions at `level` lets the call through
    level: str
    docs: str
    resource: str | None = "core"  # rate-limit bucket; None: free, like GET /rate_limit

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        def group(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.endswith(("_number", "_id")) and name != "workflow_id":
                return rf"(?P<{name}>\d+)"
            # Label names and refs may hold "/", which PyGithub leaves unescaped in the path.
            return rf"(?P<{name}>.+)" if name in ("name", "ref") else rf"(?P<{name}>[^/]+)"

        return re.compile(re.sub(r"\{(\w+)\}", group, self.template) + "$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def effective_scopes(route: Route, call: Call) -> tuple[str, ...]:
    """Issue endpoints on a pull request also accept `pull_requests`, as GitHub's do."""
    if "issues" not in route.scopes or "pull_requests" in route.scopes:
        return route.scopes
    number = _issue_number(call)
    issue = call.repo.issues.get(number) if number is not None else None
    return (*route.scopes, "pull_requests") if issue is not None and issue.pull else route.scopes


def _issue_number(call: Call) -> int | None:
    if "issue_number" in call.params:
        return call.number("issue_number")
    if "comment_id" in call.params:
        comment = call.repo.comments.get(call.number("comment_id"))
        return comment.issue_number if comment else None
    return None


def created(body: dict[str, Any]) -> Reply:
    return Reply(body, 201, {"location": body["url"]})


# --- repositories, pull requests, commits -----------------------------------------------------


def get_repo(call: Call) -> Reply:
    return Reply(call.payloads.repo(call.repo))


def get_pull(call: Call) -> Reply:
    return Reply(call.payloads.pull(call.repo, call.store.pull(call.repo, call.number("pull_number"))))


def list_pull_files(call: Call) -> Listing:
    pull = call.store.pull(call.repo, call.number("pull_number")).pull
    assert pull is not None
    return Listing([call.payloads.changed_file(call.repo, pull.head_sha, file) for file in pull.files])


def get_commit(call: Call) -> Reply:
    return Reply(call.payloads.commit(call.repo, call.store.commit(call.repo, call.params["ref"])))


# --- issues -----------------------------------------------------------------------------------


def list_issues(call: Call) -> Listing:
    query = call.query
    state = query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise validation_failed("Issue", "invalid", "state")
    wanted_labels = {name.strip().lower() for name in query.get("labels", "").split(",") if name.strip()}
    since = call.since()

    def keep(issue: Issue) -> bool:
        return (
            (state == "all" or issue.state == state)
            and wanted_labels <= {name.lower() for name in issue.labels}
            and ("creator" not in query or issue.user.lower() == query["creator"].lower())
            and _assigned(issue, query.get("assignee"))
            and (since is None or issue.updated_at >= since)
        )

    issues = [issue for issue in call.repo.issues.values() if keep(issue)]
    sort = query.get("sort", "created")
    comment_counts = {issue.number: len(call.store.comments_on(call.repo, issue.number)) for issue in issues}
    sort_keys: dict[str, Callable[[Issue], Any]] = {
        "created": lambda issue: (issue.created_at, issue.id),
        "updated": lambda issue: (issue.updated_at, issue.id),
        "comments": lambda issue: (comment_counts[issue.number], issue.id),
    }
    if sort not in sort_keys:
        raise validation_failed("Issue", "invalid", "sort")
    issues.sort(key=sort_keys[sort], reverse=query.get("direction", "desc") != "asc")
    return Listing([call.payloads.issue(call.repo, issue) for issue in issues])


def _assigned(issue: Issue, assignee: str | None) -> bool:
    if assignee is None:
        return True
    if assignee == "none":
        return not issue.assignees
    if assignee == "*":
        return bool(issue.assignees)
    return assignee.lower() in (login.lower() for login in issue.assignees)


def create_issue(call: Call) -> Reply:
    fields = call.fields()
    title = fields.get("title")
    if title is None:
        raise invalid_request('"title" wasn\'t supplied.')
    assignees = fields.get("assignees") or ([fields["assignee"]] if fields.get("assignee") else [])
    issue = call.store.create_issue(
        call.repo,
        title=str(title),
        user=call.actor,
        body=call.text("body"),
        labels=label_names(fields.get("labels", [])),
        assignees=assignees,
    )
    return created(call.payloads.issue(call.repo, issue))


def get_issue(call: Call) -> Reply:
    return Reply(call.payloads.issue(call.repo, call.store.issue(call.repo, call.number("issue_number"))))


def edit_issue(call: Call) -> Reply:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    editable = ("title", "body", "state", "state_reason", "labels", "assignees", "assignee")
    changes = {key: value for key, value in call.fields().items() if key in editable}
    call.store.edit_issue(call.repo, issue, changes, actor=call.actor)
    return Reply(call.payloads.issue(call.repo, issue))


def add_assignees(call: Call) -> Reply:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    call.store.add_assignees(issue, list(call.fields().get("assignees") or []))
    return Reply(call.payloads.issue(call.repo, issue), 201)


def remove_assignees(call: Call) -> Reply:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    assignees = call.fields().get("assignees")
    if not isinstance(assignees, list):
        raise invalid_request('"assignees" wasn\'t supplied.')
    call.store.remove_assignees(issue, [str(login) for login in assignees])
    return Reply(call.payloads.issue(call.repo, issue))


# --- comments ---------------------------------------------------------------------------------


def list_comments(call: Call) -> Listing:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    since = call.since()
    comments = [
        comment
        for comment in call.store.comments_on(call.repo, issue.number)
        if since is None or comment.updated_at >= since
    ]
    return Listing([call.payloads.comment(call.repo, comment) for comment in comments])


def create_comment(call: Call) -> Reply:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    body = call.text("body", required=True)
    assert body is not None
    comment = call.store.add_comment(call.repo, issue, body, user=call.actor)
    return created(call.payloads.comment(call.repo, comment))


def get_comment(call: Call) -> Reply:
    return Reply(call.payloads.comment(call.repo, call.store.comment(call.repo, call.number("comment_id"))))


def edit_comment(call: Call) -> Reply:
    comment = call.store.comment(call.repo, call.number("comment_id"))
    body = call.text("body", required=True)
    assert body is not None
    return Reply(call.payloads.comment(call.repo, call.store.edit_comment(comment, body)))


def delete_comment(call: Call) -> Reply:
    comment = call.store.comment(call.repo, call.number("comment_id"))
    del call.repo.comments[comment.id]
    return Reply(status=204)


# --- labels -----------------------------------------------------------------------------------


def list_repo_labels(call: Call) -> Listing:
    labels = sorted(call.repo.labels.values(), key=lambda label: label.name.casefold())
    return Listing([call.payloads.label(call.repo, label) for label in labels])


def create_label(call: Call) -> Reply:
    name = call.text("name", required=True)
    assert name is not None
    label = call.store.create_label(call.repo, name, call.text("color"), call.text("description"))
    return created(call.payloads.label(call.repo, label))


def get_label(call: Call) -> Reply:
    return Reply(call.payloads.label(call.repo, call.store.label(call.repo, call.params["name"])))


def edit_label(call: Call) -> Reply:
    label = call.store.label(call.repo, call.params["name"])
    call.store.edit_label(
        call.repo, label, new_name=call.text("new_name"), color=call.text("color"), description=call.text("description")
    )
    return Reply(call.payloads.label(call.repo, label))


def delete_label(call: Call) -> Reply:
    call.store.delete_label(call.repo, call.store.label(call.repo, call.params["name"]))
    return Reply(status=204)


def _issue_labels_reply(call: Call, issue: Issue) -> Reply:
    return Reply(call.payloads.issue_labels(call.repo, issue))


def list_issue_labels(call: Call) -> Listing:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    return Listing(call.payloads.issue_labels(call.repo, issue))


def add_issue_labels(call: Call) -> Reply:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    call.store.add_issue_labels(call.repo, issue, label_names(call.body))
    return _issue_labels_reply(call, issue)


def set_issue_labels(call: Call) -> Reply:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    call.store.edit_issue(call.repo, issue, {"labels": label_names(call.body)}, actor=call.actor)
    return _issue_labels_reply(call, issue)


def remove_all_issue_labels(call: Call) -> Reply:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    call.store.edit_issue(call.repo, issue, {"labels": []}, actor=call.actor)
    return Reply(status=204)


def remove_issue_label(call: Call) -> Reply:
    issue = call.store.issue(call.repo, call.number("issue_number"))
    call.store.remove_issue_label(call.repo, issue, call.params["name"])
    return _issue_labels_reply(call, issue)


# --- deployments ------------------------------------------------------------------------------


def list_deployments(call: Call) -> Listing:
    filters = {key: call.query[key] for key in ("sha", "ref", "task", "environment") if key in call.query}
    deployments = [
        deployment
        for deployment in call.repo.deployments.values()
        if all(getattr(deployment, key) == value for key, value in filters.items())
    ]
    deployments.sort(key=lambda deployment: deployment.id, reverse=True)
    return Listing([call.payloads.deployment(call.repo, deployment) for deployment in deployments])


def create_deployment(call: Call) -> Reply:
    fields = call.fields()
    ref = call.text("ref", required=True)
    assert ref is not None
    payload = fields.get("payload")
    if payload is not None and not isinstance(payload, (dict, str)):
        raise invalid_request(f"For 'properties/payload', {payload!r} is not an object or a string.")
    deployment = call.store.create_deployment(
        call.repo,
        ref=ref,
        creator=call.actor,
        environment=call.text("environment") or "production",
        task=call.text("task") or "deploy",
        payload=payload,
        description=call.text("description"),
        transient_environment=bool(fields.get("transient_environment", False)),
        production_environment=fields.get("production_environment"),
    )
    return Reply(call.payloads.deployment(call.repo, deployment), 201)


def get_deployment(call: Call) -> Reply:
    deployment = call.store.deployment(call.repo, call.number("deployment_id"))
    return Reply(call.payloads.deployment(call.repo, deployment))


def list_deployment_statuses(call: Call) -> Listing:
    deployment = call.store.deployment(call.repo, call.number("deployment_id"))
    return Listing(
        [call.payloads.deployment_status(call.repo, deployment, status) for status in reversed(deployment.statuses)]
    )


def create_deployment_status(call: Call) -> Reply:
    deployment = call.store.deployment(call.repo, call.number("deployment_id"))
    state = call.text("state", required=True)
    assert state is not None
    status = call.store.add_deployment_status(
        call.repo,
        deployment,
        state,
        creator=call.actor,
        description=call.text("description") or "",
        environment=call.text("environment"),
        environment_url=call.text("environment_url") or "",
        # `target_url` is the old name of `log_url`; GitHub still takes either.
        log_url=call.text("log_url") or call.text("target_url") or "",
        auto_inactive=bool(call.fields().get("auto_inactive", True)),
    )
    return created(call.payloads.deployment_status(call.repo, deployment, status))


# --- actions ----------------------------------------------------------------------------------


def get_workflow(call: Call) -> Reply:
    return Reply(call.payloads.workflow(call.repo, call.store.workflow(call.repo, call.params["workflow_id"])))


def list_workflow_runs(call: Call) -> Listing:
    workflow = call.store.workflow(call.repo, call.params["workflow_id"])
    query = call.query
    runs = [
        run
        for run in call.repo.runs.values()
        if run.workflow_id == workflow.id
        and query.get("branch", run.head_branch) == run.head_branch
        and query.get("event", run.event) == run.event
        and query.get("head_sha", run.head_sha) == run.head_sha
        and query.get("actor", run.actor).lower() == run.actor.lower()
        # `status` filters on a status (queued, completed) or a conclusion (success, failure).
        and query.get("status") in (None, run.status, run.conclusion)
    ]
    runs.sort(key=lambda run: (run.created_at, run.id), reverse=True)
    return Listing([call.payloads.run(call.repo, run) for run in runs], envelope="workflow_runs")


def get_run(call: Call) -> Reply:
    return Reply(call.payloads.run(call.repo, call.store.run(call.repo, call.number("run_id"))))


def list_run_jobs(call: Call) -> Listing:
    run = call.store.run(call.repo, call.number("run_id"))
    return Listing([call.payloads.job(call.repo, run, job) for job in run.jobs], envelope="jobs")


# --- search, rate limit, user -----------------------------------------------------------------


def search_issues(call: Call) -> Listing:
    if not call.query.get("q"):
        raise ApiError(422, "Validation Failed", errors=[{"resource": "Search", "field": "q", "code": "missing"}])
    found = issue_search.search(call.store, issue_search.parse(call.query["q"]))
    sort = call.query.get("sort")
    if sort in ("created", "updated", "comments"):

        def sort_key(pair: tuple[Repo, Issue]) -> Any:
            repo, issue = pair
            if sort == "comments":
                return len(call.store.comments_on(repo, issue.number))
            return issue.created_at if sort == "created" else issue.updated_at

        found.sort(key=sort_key, reverse=call.query.get("order", "desc") != "asc")
    return Listing(
        [call.payloads.search_item(repo, issue) for repo, issue in found],
        envelope="items",
        extra={"incomplete_results": False, "search_type": "lexical"},
    )


def rate_limit(call: Call) -> Reply:
    resources = {name: {**bucket.as_json(), "resource": name} for name, bucket in call.token.buckets.items()}
    return Reply(Payloads.rate_limit(resources))


def authenticated_user(call: Call) -> Reply:
    if call.token.anonymous:
        raise ApiError(
            401, "Requires authentication", documentation_url=f"{DOCS}/users/users#get-the-authenticated-user"
        )
    if call.token.is_app:
        # An installation token (the workflow's GITHUB_TOKEN) is no user: GitHub refuses it here.
        raise ApiError(
            403,
            "Resource not accessible by integration",
            documentation_url=f"{DOCS}/users/users#get-the-authenticated-user",
        )
    return Reply(call.payloads.authenticated_user(call.store.user(call.actor)))


# --- the table --------------------------------------------------------------------------------

REPO = "/repos/{owner}/{repo}"
ISSUES = ("issues",)
PULLS = ("pull_requests",)
ISSUES_OR_PULLS = ("issues", "pull_requests")


def _routes() -> list[Route]:
    issues_docs, comments_docs, labels_docs = (
        f"{DOCS}/issues/issues",
        f"{DOCS}/issues/comments",
        f"{DOCS}/issues/labels",
    )
    deploy_docs, status_docs = f"{DOCS}/deployments/deployments", f"{DOCS}/deployments/statuses"
    return [
        Route("GET", REPO, get_repo, ("metadata",), "read", f"{DOCS}/repos/repos#get-a-repository"),
        Route(
            "GET", f"{REPO}/pulls/{{pull_number}}", get_pull, PULLS, "read", f"{DOCS}/pulls/pulls#get-a-pull-request"
        ),
        Route(
            "GET",
            f"{REPO}/pulls/{{pull_number}}/files",
            list_pull_files,
            PULLS,
            "read",
            f"{DOCS}/pulls/pulls#list-pull-requests-files",
        ),
        Route(
            "GET", f"{REPO}/commits/{{ref}}", get_commit, ("contents",), "read", f"{DOCS}/commits/commits#get-a-commit"
        ),
        Route("GET", f"{REPO}/issues", list_issues, ISSUES_OR_PULLS, "read", f"{issues_docs}#list-repository-issues"),
        Route("POST", f"{REPO}/issues", create_issue, ISSUES, "write", f"{issues_docs}#create-an-issue"),
        Route(
            "GET",
            f"{REPO}/issues/comments/{{comment_id}}",
            get_comment,
            ISSUES,
            "read",
            f"{comments_docs}#get-an-issue-comment",
        ),
        Route(
            "PATCH",
            f"{REPO}/issues/comments/{{comment_id}}",
            edit_comment,
            ISSUES,
            "write",
            f"{comments_docs}#update-an-issue-comment",
        ),
        Route(
            "DELETE",
            f"{REPO}/issues/comments/{{comment_id}}",
            delete_comment,
            ISSUES,
            "write",
            f"{comments_docs}#delete-an-issue-comment",
        ),
        Route("GET", f"{REPO}/issues/{{issue_number}}", get_issue, ISSUES, "read", f"{issues_docs}#get-an-issue"),
        Route(
            "PATCH", f"{REPO}/issues/{{issue_number}}", edit_issue, ISSUES, "write", f"{issues_docs}#update-an-issue"
        ),
        Route(
            "POST",
            f"{REPO}/issues/{{issue_number}}/assignees",
            add_assignees,
            ISSUES,
            "write",
            f"{DOCS}/issues/assignees#add-assignees-to-an-issue",
        ),
        Route(
            "DELETE",
            f"{REPO}/issues/{{issue_number}}/assignees",
            remove_assignees,
            ISSUES,
            "write",
            f"{DOCS}/issues/assignees#remove-assignees-from-an-issue",
        ),
        Route(
            "GET",
            f"{REPO}/issues/{{issue_number}}/comments",
            list_comments,
            ISSUES,
            "read",
            f"{comments_docs}#list-issue-comments",
        ),
        Route(
            "POST",
            f"{REPO}/issues/{{issue_number}}/comments",
            create_comment,
            ISSUES,
            "write",
            f"{comments_docs}#create-an-issue-comment",
        ),
        Route(
            "GET",
            f"{REPO}/issues/{{issue_number}}/labels",
            list_issue_labels,
            ISSUES,
            "read",
            f"{labels_docs}#list-labels-for-an-issue",
        ),
        Route(
            "POST",
            f"{REPO}/issues/{{issue_number}}/labels",
            add_issue_labels,
            ISSUES,
            "write",
            f"{labels_docs}#add-labels-to-an-issue",
        ),
        Route(
            "PUT",
            f"{REPO}/issues/{{issue_number}}/labels",
            set_issue_labels,
            ISSUES,
            "write",
            f"{labels_docs}#set-labels-for-an-issue",
        ),
        Route(
            "DELETE",
            f"{REPO}/issues/{{issue_number}}/labels",
            remove_all_issue_labels,
            ISSUES,
            "write",
            f"{labels_docs}#remove-all-labels-from-an-issue",
        ),
        Route(
            "DELETE",
            f"{REPO}/issues/{{issue_number}}/labels/{{name}}",
            remove_issue_label,
            ISSUES,
            "write",
            f"{labels_docs}#remove-a-label-from-an-issue",
        ),
        Route(
            "GET",
            f"{REPO}/labels",
            list_repo_labels,
            ISSUES_OR_PULLS,
            "read",
            f"{labels_docs}#list-labels-for-a-repository",
        ),
        Route("POST", f"{REPO}/labels", create_label, ISSUES_OR_PULLS, "write", f"{labels_docs}#create-a-label"),
        Route("GET", f"{REPO}/labels/{{name}}", get_label, ISSUES_OR_PULLS, "read", f"{labels_docs}#get-a-label"),
        Route(
            "PATCH", f"{REPO}/labels/{{name}}", edit_label, ISSUES_OR_PULLS, "write", f"{labels_docs}#update-a-label"
        ),
        Route(
            "DELETE", f"{REPO}/labels/{{name}}", delete_label, ISSUES_OR_PULLS, "write", f"{labels_docs}#delete-a-label"
        ),
        Route(
            "GET", f"{REPO}/deployments", list_deployments, ("deployments",), "read", f"{deploy_docs}#list-deployments"
        ),
        Route(
            "POST",
            f"{REPO}/deployments",
            create_deployment,
            ("deployments",),
            "write",
            f"{deploy_docs}#create-a-deployment",
        ),
        Route(
            "GET",
            f"{REPO}/deployments/{{deployment_id}}",
            get_deployment,
            ("deployments",),
            "read",
            f"{deploy_docs}#get-a-deployment",
        ),
        Route(
            "GET",
            f"{REPO}/deployments/{{deployment_id}}/statuses",
            list_deployment_statuses,
            ("deployments",),
            "read",
            f"{status_docs}#list-deployment-statuses",
        ),
        Route(
            "POST",
            f"{REPO}/deployments/{{deployment_id}}/statuses",
            create_deployment_status,
            ("deployments",),
            "write",
            f"{status_docs}#create-a-deployment-status",
        ),
        Route(
            "GET",
            f"{REPO}/actions/workflows/{{workflow_id}}",
            get_workflow,
            ("actions",),
            "read",
            f"{DOCS}/actions/workflows#get-a-workflow",
        ),
        Route(
            "GET",
            f"{REPO}/actions/workflows/{{workflow_id}}/runs",
            list_workflow_runs,
            ("actions",),
            "read",
            f"{DOCS}/actions/workflow-runs#list-workflow-runs-for-a-workflow",
        ),
        Route(
            "GET",
            f"{REPO}/actions/runs/{{run_id}}",
            get_run,
            ("actions",),
            "read",
            f"{DOCS}/actions/workflow-runs#get-a-workflow-run",
        ),
        Route(
            "GET",
            f"{REPO}/actions/runs/{{run_id}}/jobs",
            list_run_jobs,
            ("actions",),
            "read",
            f"{DOCS}/actions/workflow-jobs#list-jobs-for-a-workflow-run",
        ),
        Route(
            "GET",
            "/search/issues",
            search_issues,
            (),
            "read",
            f"{DOCS}/search/search#search-issues-and-pull-requests",
            resource="search",
        ),
        Route(
            "GET",
            "/rate_limit",
            rate_limit,
            (),
            "read",
            f"{DOCS}/rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user",
            resource=None,
        ),
        Route("GET", "/user", authenticated_user, (), "read", f"{DOCS}/users/users#get-the-authenticated-user"),
    ]


ROUTES = _routes()


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None

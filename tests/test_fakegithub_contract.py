"""Every kind of answer the fake GitHub gives, checked against GitHub's own OpenAPI description.

Each case sends one real request to the fake and validates the response (status, documented
headers, JSON body) with openapi-core against the operation in tests/github-rest/openapi-subset.json,
as if api.github.com had answered. A status the description does not list for an operation
(GitHub answers 401, 403, 404 and 5xx on any endpoint) is checked against GitHub's `basic-error`.

Operations the fake serves that the subset lacks, so only their status and JSON are checked here:
- GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs (PyGithub's WorkflowRun.jobs())
- GET /user
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.contrib.requests import RequestsOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest
from openapi_schema_validator import OAS30Validator

from fakegithub import ChangedFile, FakeGitHub
from fakegithub.routes import ROUTES

SPEC_PATH = Path(__file__).parent / "github-rest" / "openapi-subset.json"
API_HOST = "https://api.github.com"
REPO = "octo/mono"
HEAD_SHA = "c0ffee" + "1" * 34
BASE_SHA = "ba5e" + "2" * 36
NOT_IN_SUBSET = {("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs"), ("GET", "/user")}

Setup = Callable[[FakeGitHub], None]


@dataclass(frozen=True)
class Case:
    method: str
    template: str  # the operation's path as the OpenAPI description spells it
    status: int
    why: str = ""
    params: dict[str, str] = field(default_factory=dict)  # path parameters overriding the defaults
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw_body: str | None = None
    token: str | None = "test-token"
    setup: Setup | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.template} {self.status}" + (f" {self.why}" if self.why else "")


def fault(method: str, path_regex: str, status: int) -> Setup:
    return lambda fake: fake.fail_next(method, path_regex, status)


def exhausted(fake: FakeGitHub) -> None:
    fake.exhaust_rate_limit(reset_in=60)


def secondary(fake: FakeGitHub) -> None:
    fake.secondary_rate_limit("*", ".*")


R = "/repos/{owner}/{repo}"
ISSUE = f"{R}/issues/{{issue_number}}"
COMMENT = f"{R}/issues/comments/{{comment_id}}"
LABEL = f"{R}/labels/{{name}}"
DEPLOYMENT = f"{R}/deployments/{{deployment_id}}"
MISSING_REPO = {"repo": "missing"}
RO = "read-only"

CASES = [
    Case("GET", R, 200),
    Case("GET", R, 404, "unknown repository", params=MISSING_REPO),
    Case("GET", R, 403, "primary rate limit spent", setup=exhausted),
    Case("GET", R, 401, "unknown token", token="bad-token"),
    Case("GET", R, 502, "injected fault", setup=fault("GET", "", 502)),
    Case("GET", f"{R}/pulls/{{pull_number}}", 200),
    Case("GET", f"{R}/pulls/{{pull_number}}", 200, "merged", params={"pull_number": "10"}),
    Case("GET", f"{R}/pulls/{{pull_number}}", 404, "an issue, not a pull", params={"pull_number": "8"}),
    Case("GET", f"{R}/pulls/{{pull_number}}", 500, "injected fault", setup=fault("GET", "/pulls/", 500)),
    Case("GET", f"{R}/pulls/{{pull_number}}", 503, "injected fault", setup=fault("GET", "/pulls/", 503)),
    Case("GET", f"{R}/pulls/{{pull_number}}/files", 200),
    Case("GET", f"{R}/pulls/{{pull_number}}/files", 404, "unknown pull", params={"pull_number": "99"}),
    Case("GET", f"{R}/pulls/{{pull_number}}/files", 503, "injected fault", setup=fault("GET", "/files", 503)),
    Case("GET", f"{R}/commits/{{ref}}", 200),
    Case("GET", f"{R}/commits/{{ref}}", 200, "by branch", params={"ref": "main"}),
    Case("GET", f"{R}/commits/{{ref}}", 422, "unknown sha", params={"ref": "f" * 40}),
    Case("GET", f"{R}/commits/{{ref}}", 404, "unknown repository", params=MISSING_REPO),
    Case("GET", f"{R}/issues", 200),
    Case("GET", f"{R}/issues", 200, "closed, labelled", query={"state": "closed", "labels": "bug"}),
    Case(
        "GET",
        f"{R}/issues",
        200,
        "merged pull requests still waiting",
        query={"state": "closed", "labels": "requires-manual-deploy", "sort": "created", "direction": "asc"},
    ),
    Case(
        "GET",
        f"{R}/issues",
        200,
        "closed and labelled since",
        query={"state": "closed", "labels": "agent-changes", "since": "2024-01-01T00:00:00Z"},
    ),
    Case("GET", f"{R}/issues", 404, "unknown repository", params=MISSING_REPO),
    Case("GET", f"{R}/issues", 422, "bad state", query={"state": "sideways"}),
    Case("POST", f"{R}/issues", 201, body={"title": "New", "body": "text", "labels": ["bug"], "assignees": ["ada"]}),
    Case("POST", f"{R}/issues", 400, "unparsable JSON", raw_body="{"),
    Case("POST", f"{R}/issues", 403, "read-only token", body={"title": "New"}, token=RO),
    Case("POST", f"{R}/issues", 404, "unknown repository", params=MISSING_REPO, body={"title": "New"}),
    Case("POST", f"{R}/issues", 422, "no title", body={"body": "text"}),
    Case("POST", f"{R}/issues", 503, "injected fault", body={"title": "New"}, setup=fault("POST", "", 503)),
    Case("GET", ISSUE, 200),
    Case("GET", ISSUE, 200, "a pull request", params={"issue_number": "7"}),
    Case("GET", ISSUE, 200, "closed", params={"issue_number": "9"}),
    Case("GET", ISSUE, 404, "unknown issue", params={"issue_number": "99"}),
    Case("PATCH", ISSUE, 200, body={"state": "closed", "state_reason": "not_planned", "labels": ["docs"]}),
    Case("PATCH", ISSUE, 403, "read-only token", body={"title": "x"}, token=RO),
    Case("PATCH", ISSUE, 404, "unknown issue", params={"issue_number": "99"}, body={"title": "x"}),
    Case("PATCH", ISSUE, 422, "bad state", body={"state": "sideways"}),
    Case("PATCH", ISSUE, 503, "injected fault", body={"title": "x"}, setup=fault("PATCH", "", 503)),
    Case("POST", f"{ISSUE}/assignees", 201, body={"assignees": ["grace"]}),
    Case("DELETE", f"{ISSUE}/assignees", 200, body={"assignees": ["ada"]}),
    Case("DELETE", f"{ISSUE}/assignees", 403, "read-only token", body={"assignees": ["ada"]}, token=RO),
    Case("GET", f"{ISSUE}/comments", 200),
    Case("GET", f"{ISSUE}/comments", 404, "unknown issue", params={"issue_number": "99"}),
    Case("POST", f"{ISSUE}/comments", 201, body={"body": "hello"}),
    Case("POST", f"{ISSUE}/comments", 403, "read-only token", body={"body": "hello"}, token=RO),
    Case("POST", f"{ISSUE}/comments", 404, "unknown issue", params={"issue_number": "99"}, body={"body": "x"}),
    Case("POST", f"{ISSUE}/comments", 422, "no body", body={}),
    Case("POST", f"{ISSUE}/comments", 422, "body too long", body={"body": "x" * 65537}),
    Case("GET", COMMENT, 200),
    Case("GET", COMMENT, 404, "unknown comment", params={"comment_id": "1"}),
    Case("PATCH", COMMENT, 200, body={"body": "edited"}),
    Case("PATCH", COMMENT, 422, "no body", body={}),
    Case("PATCH", COMMENT, 404, "unknown comment", params={"comment_id": "1"}, body={"body": "x"}),
    Case("PATCH", COMMENT, 403, "read-only token", body={"body": "x"}, token=RO),
    Case("DELETE", COMMENT, 204),
    Case("GET", f"{ISSUE}/labels", 200),
    Case("GET", f"{ISSUE}/labels", 404, "unknown issue", params={"issue_number": "99"}),
    Case("POST", f"{ISSUE}/labels", 200, body={"labels": ["docs", "New-Label"]}),
    Case("POST", f"{ISSUE}/labels", 200, "a bare list, as PyGithub sends", body=["docs"]),
    Case("POST", f"{ISSUE}/labels", 404, "unknown issue", params={"issue_number": "99"}, body=["docs"]),
    Case("POST", f"{ISSUE}/labels", 422, "labels not a list", body={"labels": "docs"}),
    Case("PUT", f"{ISSUE}/labels", 200, body={"labels": ["docs"]}),
    Case("DELETE", f"{ISSUE}/labels", 204),
    Case("DELETE", f"{ISSUE}/labels/{{name}}", 200, params={"name": "BUG"}),
    Case("DELETE", f"{ISSUE}/labels/{{name}}", 404, "not on the issue", params={"name": "docs"}),
    Case("GET", f"{R}/labels", 200),
    Case("GET", f"{R}/labels", 404, "unknown repository", params=MISSING_REPO),
    Case("POST", f"{R}/labels", 201, body={"name": "deployment", "color": "0e8a16", "description": "About deploys"}),
    Case("POST", f"{R}/labels", 404, "unknown repository", params=MISSING_REPO, body={"name": "x"}),
    Case("POST", f"{R}/labels", 422, "already exists", body={"name": "Bug"}),
    Case("POST", f"{R}/labels", 422, "bad colour", body={"name": "x", "color": "green"}),
    Case("POST", f"{R}/labels", 403, "read-only token", body={"name": "x"}, token=RO),
    Case("GET", LABEL, 200),
    Case("GET", LABEL, 404, "unknown label", params={"name": "nope"}),
    Case("PATCH", LABEL, 200, body={"new_name": "bug/critical", "color": "ff0000", "description": "Bad"}),
    Case("PATCH", LABEL, 422, "renamed onto another", body={"new_name": "docs"}),
    Case("DELETE", LABEL, 204),
    Case("DELETE", LABEL, 404, "unknown label", params={"name": "nope"}),
    Case("GET", f"{R}/deployments", 200),
    Case("GET", f"{R}/deployments", 200, "filtered", query={"environment": "worker-production", "sha": BASE_SHA}),
    Case("GET", f"{R}/deployments", 404, "unknown repository", params=MISSING_REPO),
    Case("POST", f"{R}/deployments", 201, body={"ref": "main", "environment": "staging", "payload": {"a": 1}}),
    Case("POST", f"{R}/deployments", 201, "payload as a string", body={"ref": HEAD_SHA, "payload": "{}"}),
    Case("POST", f"{R}/deployments", 422, "unknown ref", body={"ref": "no-such-branch"}),
    Case("POST", f"{R}/deployments", 403, "read-only token", body={"ref": "main"}, token=RO),
    Case("GET", DEPLOYMENT, 200),
    Case("GET", DEPLOYMENT, 404, "unknown deployment", params={"deployment_id": "1"}),
    Case("GET", f"{DEPLOYMENT}/statuses", 200),
    Case("GET", f"{DEPLOYMENT}/statuses", 404, "unknown deployment", params={"deployment_id": "1"}),
    Case(
        "POST",
        f"{DEPLOYMENT}/statuses",
        201,
        body={"state": "success", "environment_url": "https://worker.example.com", "log_url": "https://ci.example.com"},
    ),
    Case("POST", f"{DEPLOYMENT}/statuses", 201, "no URLs", body={"state": "in_progress"}),
    Case("POST", f"{DEPLOYMENT}/statuses", 422, "bad state", body={"state": "done"}),
    Case("GET", f"{R}/actions/workflows/{{workflow_id}}", 200),
    Case("GET", f"{R}/actions/workflows/{{workflow_id}}", 200, "by id", params={"workflow_id": "{workflow_id_number}"}),
    Case("GET", f"{R}/actions/workflows/{{workflow_id}}", 404, "unknown workflow", params={"workflow_id": "x.yml"}),
    Case("GET", f"{R}/actions/workflows/{{workflow_id}}/runs", 200),
    Case(
        "GET",
        f"{R}/actions/workflows/{{workflow_id}}/runs",
        200,
        "filtered",
        query={"branch": "main", "status": "success", "event": "push"},
    ),
    Case("GET", f"{R}/actions/runs/{{run_id}}", 200),
    Case("GET", f"{R}/actions/runs/{{run_id}}", 200, "in progress", params={"run_id": "{running_run_id}"}),
    Case("GET", f"{R}/actions/runs/{{run_id}}", 404, "unknown run", params={"run_id": "1"}),
    Case("GET", f"{R}/actions/runs/{{run_id}}/jobs", 200),
    Case("GET", "/search/issues", 200, query={"q": 'repo:octo/mono is:issue is:open label:bug "marker"'}),
    Case("GET", "/search/issues", 200, "an issue without a body", query={"q": "repo:octo/mono is:closed"}),
    Case("GET", "/search/issues", 422, "no query"),
    Case("GET", "/search/issues", 401, "unknown token", query={"q": "x"}, token="bad-token"),
    Case("GET", "/search/issues", 403, "secondary rate limit", query={"q": "x"}, setup=secondary),
    Case("GET", "/search/issues", 503, "injected fault", query={"q": "x"}, setup=fault("GET", "", 503)),
    Case("GET", "/rate_limit", 200),
    Case("GET", "/user", 200, token="personal-token"),
    Case("GET", "/user", 403, "an app token is no user"),
]


def seed(fake: FakeGitHub) -> dict[str, str]:
    """The world every case starts from; returns the ids cases put into paths."""
    fake.add_token("read-only", write=False)
    fake.add_token("personal-token", login="ada")
    fake.add_repo(REPO, head_sha=BASE_SHA, description="A monorepo")
    fake.add_commit(REPO, BASE_SHA, message="Base")
    fake.add_commit(
        REPO,
        HEAD_SHA,
        message="Fix",
        author_login="ada",
        parents=[BASE_SHA],
        files=[
            "services/worker/main.py",
            ChangedFile("docs/new.md", status="renamed", previous_filename="docs/old.md", patch="@@"),
        ],
    )
    fake.add_pull(
        REPO,
        7,
        head_sha=HEAD_SHA,
        head_ref="agent/fix",
        labels=["bug"],
        body="Fixes it",
        files=["services/worker/main.py", {"filename": "web/app.ts", "status": "added", "additions": 3}],
    )
    fake.add_pull(
        REPO,
        10,
        head_sha=HEAD_SHA,
        head_ref="agent/merged",
        labels=["agent-changes", "requires-manual-deploy"],
        state="closed",
        merged_at="2024-01-15T08:00:00Z",
        merge_commit_sha=BASE_SHA,
    )
    fake.add_issue(REPO, 8, title="Deploy gap", body="<!-- marker -->", labels=["bug"], assignees=["ada"])
    fake.add_issue(REPO, 9, title="Old", state="closed", state_reason="completed")
    fake.add_label(REPO, "docs", "0075ca", "Documentation")
    comments = [fake.add_issue_comment(REPO, 8, f"comment {index}") for index in range(35)]  # two pages: Link
    deployment = fake.add_deployment(
        REPO,
        sha=BASE_SHA,
        ref="main",
        environment="worker-production",
        payload={"component": "worker"},
        description="by hand",
    )
    fake.add_deployment_status(
        REPO,
        deployment.id,
        "success",
        environment_url="https://worker.example.com",
        log_url="https://ci.example.com/runs/1",
        description="done",
    )
    workflow = fake.add_workflow(REPO, ".github/workflows/deploy.yml", name="Deploy")
    run = fake.add_workflow_run(REPO, workflow.id, head_sha=HEAD_SHA, jobs=["build", "deploy"])
    running = fake.add_workflow_run(REPO, workflow.id, head_sha=BASE_SHA, status="in_progress", jobs=["build"])
    return {
        "owner": "octo",
        "repo": "mono",
        "pull_number": "7",
        "issue_number": "8",
        "name": "bug",
        "comment_id": str(comments[0].id),
        "deployment_id": str(deployment.id),
        "workflow_id": "deploy.yml",
        "workflow_id_number": str(workflow.id),
        "run_id": str(run.id),
        "running_run_id": str(running.id),
        "ref": HEAD_SHA,
    }


def allow_null_state_reason(schemas: dict[str, Any]) -> None:
    """An issue never closed has `"state_reason": null`; OAS 3.0.3 wants null listed in a nullable enum."""
    schemas["issue"]["properties"]["state_reason"]["enum"].append(None)


def allow_null_commit_accounts(schemas: dict[str, Any]) -> None:
    """A commit whose e-mail belongs to no account has `"author": null`; `nullable` next to `oneOf`
    does not let null through the `oneOf`, so null becomes a branch of its own."""
    for role in ("author", "committer"):
        schemas["commit"]["properties"][role]["oneOf"].append({"nullable": True, "enum": [None]})


# Where GitHub's description contradicts what api.github.com sends, the fake follows the API and
# the description gets a narrow, named correction here rather than a silent one in the copy.
ERRATA = [allow_null_state_reason, allow_null_commit_accounts]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    spec = json.loads(SPEC_PATH.read_text())
    for correct in ERRATA:
        correct(spec["components"]["schemas"])
    return spec


@pytest.fixture(scope="module")
def openapi(spec: dict[str, Any]) -> OpenAPI:
    # The subset dropped the `description`s OpenAPI requires on responses (and keeps a plain-text
    # license), so the structural check of the document itself is off; its schemas are intact.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def send(case: Case) -> tuple[requests.Response, str]:
    """Run the case against a freshly seeded fake; returns the response and the concrete path."""
    with FakeGitHub() as fake:
        ids = seed(fake)
        values = {**ids, **{key: value.format(**ids) for key, value in case.params.items()}}
        path = case.template.format(**values)
        if case.setup:
            case.setup(fake)
        headers = {"Authorization": f"token {case.token}"} if case.token else {}
        data = (
            case.raw_body if case.raw_body is not None else (json.dumps(case.body) if case.body is not None else None)
        )
        response = requests.request(
            case.method, f"{fake.url}{path}", params=case.query, data=data, headers=headers, timeout=10
        )
    return response, path


def documented(spec: dict[str, Any], case: Case) -> bool:
    operation = spec["paths"].get(case.template, {}).get(case.method.lower())
    return operation is not None and str(case.status) in operation["responses"]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_response_matches_githubs_description(case: Case, spec: dict[str, Any], openapi: OpenAPI) -> None:
    response, path = send(case)

    assert response.status_code == case.status, response.text
    if documented(spec, case):
        problems = violations(openapi, MockRequest(API_HOST, case.method.lower(), path, args=case.query), response)
        if problems:
            pytest.fail(f"{case.id}: not what GitHub sends:\n" + "\n".join(problems), pytrace=False)
    elif response.status_code >= 400:
        OAS30Validator(spec["components"]["schemas"]["basic-error"]).validate(response.json())
    else:
        assert (case.method, case.template) in NOT_IN_SUBSET, f"{case.id}: add the status to the case list"
        assert isinstance(response.json(), dict)
    if response.status_code >= 400:
        assert_github_error_envelope(response)


def violations(openapi: OpenAPI, request: MockRequest, response: requests.Response) -> list[str]:
    try:
        openapi.validate_response(request, RequestsOpenAPIResponse(response))
    except OpenAPIError as error:
        return schema_errors(error)
    return []


def schema_errors(error: BaseException) -> list[str]:
    """The schema violations inside openapi-core's exception chain, one short line each."""
    lines: list[str] = []
    cause: BaseException | None = error
    while cause is not None:
        for violation in getattr(cause, "schema_errors", None) or ():
            where = "/".join(map(str, violation.absolute_path)) or "(body)"
            lines.append(f"  {where}: {violation.message[:300]}")
        cause = cause.__cause__
    return lines or [f"  {error}"]


def assert_github_error_envelope(response: requests.Response) -> None:
    """`basic-error` requires nothing; GitHub always sends a message and where to read more."""
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    assert body["documentation_url"].startswith("https://docs.github.com/")
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_every_route_of_the_fake_has_a_case() -> None:
    covered = {(case.method, case.template) for case in CASES}

    assert [
        f"{route.method} {route.template}" for route in ROUTES if (route.method, route.template) not in covered
    ] == []


def test_the_operations_missing_from_the_subset_are_the_ones_listed(spec: dict[str, Any]) -> None:
    missing = {
        (route.method, route.template)
        for route in ROUTES
        if route.method.lower() not in spec["paths"].get(route.template, {})
    }

    assert missing == NOT_IN_SUBSET


def test_a_missing_required_field_fails_the_contract(monkeypatch: pytest.MonkeyPatch, openapi: OpenAPI) -> None:
    """The check bites: a label without its required `description` is caught."""
    from fakegithub.payloads import Payloads

    render = Payloads.label

    def without_description(self: Payloads, repo: Any, label: Any) -> dict[str, Any]:
        return {key: value for key, value in render(self, repo, label).items() if key != "description"}

    monkeypatch.setattr(Payloads, "label", without_description)
    response, path = send(Case("GET", LABEL, 200))

    assert violations(openapi, MockRequest(API_HOST, "get", path), response) == [
        "  (body): 'description' is a required property"
    ]


def test_a_field_of_the_wrong_type_fails_the_contract(monkeypatch: pytest.MonkeyPatch, openapi: OpenAPI) -> None:
    """The check bites on types too, for a property named `description` as for any other: the
    subset once lost every such property when its annotations were stripped, and a label whose
    description was a number passed."""
    from fakegithub.payloads import Payloads

    render = Payloads.label

    def numeric_description(self: Payloads, repo: Any, label: Any) -> dict[str, Any]:
        return {**render(self, repo, label), "description": 42}

    monkeypatch.setattr(Payloads, "label", numeric_description)
    response, path = send(Case("GET", LABEL, 200))

    assert violations(openapi, MockRequest(API_HOST, "get", path), response) == [
        "  description: 42 is not of type 'string'"
    ]


def test_the_subset_keeps_the_properties_named_description(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("label", "repository", "deployment", "deployment-status", "issue-type", "team"):
        assert "description" in schemas[name]["properties"], name
    assert schemas["label"]["properties"]["description"] == {"nullable": True, "type": "string"}

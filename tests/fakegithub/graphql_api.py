"""GitHub's GraphQL endpoint (`POST /graphql`, `POST /api/graphql` on Enterprise Server) for the fake.

Every document is parsed and validated against the pinned subset of GitHub's published schema
(tests/github-graphql/schema-subset.graphql, cut by cut_subset.py there), so a query GitHub would
reject (an unknown field, a wrong argument, a missing variable, `first` over 100) fails here too.
It is answered from the same store as the REST routes: a deployment read through GraphQL is the
one REST lists, with the same statuses. Answers follow GitHub: HTTP 200 with `data` and, when
something failed, an `errors` list whose entries carry `type` (NOT_FOUND, FORBIDDEN,
RATE_LIMITED, ...), `path` and `locations`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    build_schema,
    execute,
    parse,
    validate,
)

from fakegithub.auth import Token
from fakegithub.payloads import HTML_URL, node_id
from fakegithub.state import (
    MAX_PINNED_ISSUES,
    ApiError,
    Deployment,
    DeploymentStatus,
    Discussion,
    DiscussionCategory,
    Issue,
    Repo,
    Store,
    check_body_length,
)

SCHEMA_PATH = Path(__file__).parent.parent / "github-graphql" / "schema-subset.graphql"
PATHS = ("/graphql", "/api/graphql")
MAX_PAGE = 100
DOCS = "https://docs.github.com/graphql"
AUTH_DOCS = f"{DOCS}/guides/forming-calls-with-graphql#authenticating-with-graphql"
# Errors GitHub finds before running anything: the whole answer is then `errors` without `data`.
STATIC_ERRORS = ("MISSING_PAGINATION_BOUNDARIES", "EXCESSIVE_PAGINATION")


@cache
def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_PATH.read_text())


class Failure(Exception):
    """An error a resolver reports the way GitHub does: a message and a `type`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Context:
    """What resolvers see: the store, the caller, and the rate-limit bucket the query spends."""

    def __init__(self, store: Store, token: Token) -> None:
        self.store = store
        self.token = token

    def require(self, scope: str, level: str) -> None:
        if not self.token.grants((scope,), level):
            raise Failure("FORBIDDEN", "Resource not accessible by integration")

    def node(self, kind: str, raw_id: object) -> tuple[Repo, Any]:
        """The record a global node id names, with its repository; NOT_FOUND for anything else."""
        record_id = parse_node_id(kind, raw_id)
        for repo in self.store.repos.values():
            found = find_record(repo, kind, record_id)
            if found is not None:
                if repo.private and self.token.anonymous:
                    break
                return repo, found
        raise Failure("NOT_FOUND", f"Could not resolve to a node with the global id of '{raw_id}'")


def answer(store: Store, token: Token, body: Any) -> tuple[int, Any]:
    """(HTTP status, JSON body) for one POST to the GraphQL endpoint."""
    if token.anonymous:
        return 401, {"message": "This endpoint requires you to be authenticated.", "documentation_url": AUTH_DOCS}
    if not token.buckets["graphql"].take():
        return 200, {"errors": [{"type": "RATE_LIMITED", "message": f"API rate limit exceeded for {token.login}."}]}
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return 200, {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return 200, {"errors": [{"message": "Variables are invalid JSON."}]}
    try:
        document = parse(body["query"])
    except GraphQLSyntaxError as error:
        return 200, {"errors": [shape(error)]}
    problems = validate(schema(), document)
    if problems:
        return 200, {"errors": [shape(problem) for problem in problems]}
    operation = next(
        (
            definition
            for definition in document.definitions
            if isinstance(definition, OperationDefinitionNode)
            and (body.get("operationName") in (None, definition.name and definition.name.value))
        ),
        None,
    )
    if operation is not None and operation.operation == OperationType.SUBSCRIPTION:
        return 200, {"errors": [{"message": "Subscriptions are not supported."}]}
    result = execute(
        schema(),
        document,
        context_value=Context(store, token),
        variable_values=variables,
        operation_name=body.get("operationName"),
        field_resolver=resolve,
    )
    if not result.errors:
        return 200, {"data": result.data}
    errors = [shape(error) for error in result.errors]
    if result.data is None:  # the variables did not fit the operation: nothing ran
        return 200, {"errors": errors}
    if any(error.get("type") in STATIC_ERRORS for error in errors):
        return 200, {"errors": [error for error in errors if error.get("type") in STATIC_ERRORS]}
    return 200, {"data": result.data, "errors": errors}


def shape(error: GraphQLError) -> dict[str, Any]:
    """One entry of GitHub's `errors` list."""
    entry: dict[str, Any] = {}
    original = error.original_error
    if isinstance(original, Failure):
        entry["type"] = original.kind
    if error.path:
        entry["path"] = list(error.path)
    if error.locations:
        entry["locations"] = [{"line": location.line, "column": location.column} for location in error.locations]
    entry["message"] = error.message
    return entry


# --- resolvers ------------------------------------------------------------------------------------

Resolver = Callable[..., Any]
RESOLVERS: dict[tuple[str, str], Resolver] = {}


def resolves(type_name: str, *field_names: str) -> Callable[[Resolver], Resolver]:
    def register(function: Resolver) -> Resolver:
        for field_name in field_names:
            RESOLVERS[(type_name, field_name)] = function
        return function

    return register


def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """One resolver for every field: a registered function, else the key of a plain dict."""
    function = RESOLVERS.get((info.parent_type.name, info.field_name))
    if function is not None:
        return function(source, info.context, info, **args)
    if isinstance(source, dict):
        return source.get(info.field_name)
    raise AssertionError(f"the fake has no resolver for {info.parent_type.name}.{info.field_name}")


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def parse_node_id(kind: str, raw_id: object) -> int:
    """The record id inside a global node id of `kind` (see payloads.node_id); -1 when it is not one."""
    try:
        text = base64.b64decode(str(raw_id), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return -1
    prefix = f"0{len(kind)}:{kind}"
    return int(text[len(prefix) :]) if text.startswith(prefix) and text[len(prefix) :].isdigit() else -1


def find_record(repo: Repo, kind: str, record_id: int) -> Any:
    if kind == "Repository":
        return repo if repo.id == record_id else None
    if kind == "Issue":
        return next((issue for issue in repo.issues.values() if issue.id == record_id and not issue.pull), None)
    if kind == "Discussion":
        return next((found for found in repo.discussions.values() if found.id == record_id), None)
    if kind == "DiscussionCategory":
        return repo.discussion_categories.get(record_id)
    raise AssertionError(f"no lookup for {kind} ids")


def connection(info: GraphQLResolveInfo, items: Sequence[Any], key: Callable[[Any], int], **args: Any) -> dict:
    """A page of a connection as GitHub gives it: `first`/`last` 1..100, opaque cursors, pageInfo."""
    name = info.field_name
    first, last, after, before = args.get("first"), args.get("last"), args.get("after"), args.get("before")
    if first is None and last is None:
        raise Failure(
            "MISSING_PAGINATION_BOUNDARIES",
            f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
        )
    for argument, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise Failure(
                "EXCESSIVE_PAGINATION",
                f"Requesting {value} records on the `{name}` connection exceeds the `{argument}` limit of "
                f"{MAX_PAGE} records.",
            )
        if value is not None and value < 0:
            raise Failure("INVALID_ARGUMENTS", f"`{argument}` on the `{name}` connection cannot be less than zero.")
    keys = [key(item) for item in items]
    start, end = 0, len(items)
    if after is not None:
        start = position(keys, after) + 1
    if before is not None:
        end = position(keys, before)
    window = list(items[start:end])
    page = window
    has_next = end < len(items)
    has_previous = start > 0
    if first is not None:
        page = window[:first]
        has_next = len(window) > first
    if last is not None:
        has_previous = len(page) > last or has_previous
        page = page[len(page) - last :] if last else []
    edges = [{"cursor": cursor(key(item)), "node": item} for item in page]
    return {
        "nodes": page,
        "edges": edges,
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def cursor(record_id: int) -> str:
    return base64.b64encode(f"cursor:v2:{record_id}".encode()).decode()


def position(keys: list[int], raw: str) -> int:
    try:
        record_id = int(base64.b64decode(raw, validate=True).decode().removeprefix("cursor:v2:"))
        return keys.index(record_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Failure("INVALID_CURSOR_ARGUMENTS", f"`{raw}` does not appear to be a valid cursor.") from None


# Query


@resolves("Query", "repository")
def query_repository(_source: Any, context: Context, _info: Any, *, owner: str, name: str, **_: Any) -> Repo:
    repo = context.store.repos.get(f"{owner}/{name}".lower())
    if repo is None or (repo.private and context.token.anonymous):
        raise Failure("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")
    return repo


@resolves("Query", "rateLimit")
def query_rate_limit(_source: Any, context: Context, _info: Any, **_: Any) -> dict:
    bucket = context.token.buckets["graphql"].as_json()
    return {
        "cost": 1,
        "limit": bucket["limit"],
        "nodeCount": 0,
        "remaining": bucket["remaining"],
        "resetAt": iso(datetime.fromtimestamp(bucket["reset"], tz=timezone.utc)),
        "used": bucket["used"],
    }


# Repository


@resolves("Repository", "id", "databaseId", "name", "nameWithOwner", "url")
def repository_field(repo: Repo, _context: Context, info: GraphQLResolveInfo) -> Any:
    return {
        "id": node_id("Repository", repo.id),
        "databaseId": repo.id,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "url": f"{HTML_URL}/{repo.full_name}",
    }[info.field_name]


@resolves("Repository", "deployments")
def repository_deployments(
    repo: Repo,
    context: Context,
    info: GraphQLResolveInfo,
    *,
    environments: list[str] | None = None,
    orderBy: dict[str, str],  # noqa: N803 (GraphQL's argument name)
    **page: Any,
) -> dict:
    context.require("deployments", "read")
    chosen = [
        deployment
        for deployment in repo.deployments.values()
        if environments is None or deployment.environment in environments
    ]
    chosen.sort(key=lambda deployment: (deployment.created_at, deployment.id), reverse=orderBy["direction"] == "DESC")
    return connection(info, chosen, lambda deployment: deployment.id, **page)


@resolves("Repository", "discussionCategories")
def repository_discussion_categories(
    repo: Repo, context: Context, info: GraphQLResolveInfo, *, filterByAssignable: bool = False, **page: Any
) -> dict:  # noqa: N803
    context.require("discussions", "read")
    categories = sorted(repo.discussion_categories.values(), key=lambda category: category.id)
    return connection(info, categories, lambda category: category.id, **page)


@resolves("Repository", "discussions")
def repository_discussions(
    repo: Repo,
    context: Context,
    info: GraphQLResolveInfo,
    *,
    categoryId: str | None = None,  # noqa: N803
    orderBy: dict[str, str],  # noqa: N803
    states: list[str] | None = None,
    answered: bool | None = None,
    **page: Any,
) -> dict:
    context.require("discussions", "read")
    chosen = list(repo.discussions.values())
    if categoryId is not None:
        category_id = parse_node_id("DiscussionCategory", categoryId)
        if category_id not in repo.discussion_categories:
            raise Failure("NOT_FOUND", f"Could not resolve to a node with the global id of '{categoryId}'")
        chosen = [found for found in chosen if found.category_id == category_id]
    field = "created_at" if orderBy["field"] == "CREATED_AT" else "updated_at"
    chosen.sort(key=lambda found: (getattr(found, field), found.id), reverse=orderBy["direction"] == "DESC")
    return connection(info, chosen, lambda found: found.id, **page)


@resolves("Repository", "discussion")
def repository_discussion(repo: Repo, context: Context, _info: Any, *, number: int) -> Discussion:
    context.require("discussions", "read")
    found = repo.discussions.get(number)
    if found is None:
        raise Failure("NOT_FOUND", f"Could not resolve to a Discussion with the number of {number}.")
    return found


@resolves("Repository", "issue")
def repository_issue(repo: Repo, context: Context, _info: Any, *, number: int) -> Issue:
    if not context.token.grants(("issues", "pull_requests"), "read"):
        raise Failure("FORBIDDEN", "Resource not accessible by integration")
    found = repo.issues.get(number)
    if found is None or found.pull is not None:
        raise Failure("NOT_FOUND", f"Could not resolve to an issue or pull request with the number of {number}.")
    return found


# Deployments

DEPLOYMENT_STATE = {"success": "ACTIVE"}  # REST status -> GraphQL Deployment.state, else upper case


@resolves(
    "Deployment",
    "id",
    "databaseId",
    "commitOid",
    "environment",
    "latestEnvironment",
    "originalEnvironment",
    "createdAt",
    "updatedAt",
    "state",
    "latestStatus",
    "task",
    "description",
    "payload",
)
def deployment_field(deployment: Deployment, _context: Context, info: GraphQLResolveInfo) -> Any:
    latest = deployment.statuses[-1] if deployment.statuses else None
    name = info.field_name
    if name == "state":
        return DEPLOYMENT_STATE.get(latest.state, latest.state.upper()) if latest else "PENDING"
    if name == "payload":
        payload = deployment.payload
        return payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return {
        "id": lambda: node_id("Deployment", deployment.id),
        "databaseId": lambda: deployment.id,
        "commitOid": lambda: deployment.sha,
        "environment": lambda: deployment.environment,
        "latestEnvironment": lambda: deployment.environment,
        "originalEnvironment": lambda: deployment.original_environment,
        "createdAt": lambda: iso(deployment.created_at),
        "updatedAt": lambda: iso(deployment.updated_at),
        "latestStatus": lambda: latest,
        "task": lambda: deployment.task,
        "description": lambda: deployment.description,
    }[name]()


@resolves("Deployment", "statuses")
def deployment_statuses(deployment: Deployment, _context: Context, info: GraphQLResolveInfo, **page: Any) -> dict:
    newest_first = list(reversed(deployment.statuses))
    return connection(info, newest_first, lambda status: status.id, **page)


@resolves(
    "DeploymentStatus",
    "id",
    "state",
    "createdAt",
    "updatedAt",
    "description",
    "environment",
    "environmentUrl",
    "logUrl",
    "deployment",
)
def deployment_status_field(status: DeploymentStatus, context: Context, info: GraphQLResolveInfo) -> Any:
    name = info.field_name
    if name == "deployment":
        return next(
            deployment
            for repo in context.store.repos.values()
            for deployment in repo.deployments.values()
            if status in deployment.statuses
        )
    return {
        "id": node_id("DeploymentStatus", status.id),
        "state": status.state.upper(),
        "createdAt": iso(status.created_at),
        "updatedAt": iso(status.updated_at),
        "description": status.description or None,
        "environment": status.environment or None,
        "environmentUrl": status.environment_url or None,
        "logUrl": status.log_url or None,
    }[name]


# Discussions and issues


@resolves("DiscussionCategory", "id", "name", "slug", "description", "emoji", "isAnswerable", "createdAt", "updatedAt")
def category_field(category: DiscussionCategory, _context: Context, info: GraphQLResolveInfo) -> Any:
    return {
        "id": node_id("DiscussionCategory", category.id),
        "name": category.name,
        "slug": category.slug,
        "description": category.description or None,
        "emoji": category.emoji,
        "isAnswerable": category.is_answerable,
        "createdAt": iso(category.created_at),
        "updatedAt": iso(category.updated_at),
    }[info.field_name]


@resolves("Discussion", "id", "databaseId", "number", "title", "body", "url", "category", "createdAt", "updatedAt")
def discussion_field(discussion: Discussion, context: Context, info: GraphQLResolveInfo) -> Any:
    name = info.field_name
    if name in ("url", "category"):
        repo = next(
            repo for repo in context.store.repos.values() if repo.discussions.get(discussion.number) is discussion
        )
        if name == "url":
            return f"{HTML_URL}/{repo.full_name}/discussions/{discussion.number}"
        return repo.discussion_categories[discussion.category_id]
    return {
        "id": node_id("Discussion", discussion.id),
        "databaseId": discussion.id,
        "number": discussion.number,
        "title": discussion.title,
        "body": discussion.body,
        "createdAt": iso(discussion.created_at),
        "updatedAt": iso(discussion.updated_at),
    }[name]


@resolves("Issue", "id", "databaseId", "number", "title", "body", "url", "state", "isPinned")
def issue_field(issue: Issue, context: Context, info: GraphQLResolveInfo) -> Any:
    name = info.field_name
    if name == "url":
        repo = next(repo for repo in context.store.repos.values() if repo.issues.get(issue.number) is issue)
        return f"{HTML_URL}/{repo.full_name}/issues/{issue.number}"
    return {
        "id": node_id("Issue", issue.id),
        "databaseId": issue.id,
        "number": issue.number,
        "title": issue.title,
        "body": issue.body or "",
        "state": issue.state.upper(),
        "isPinned": issue.pinned,
    }[name]


# Mutations


@resolves("Mutation", "createDiscussion")
def create_discussion(_source: Any, context: Context, _info: Any, *, input: dict[str, Any]) -> dict:  # noqa: A002
    context.require("discussions", "write")
    repo, _ = context.node("Repository", input["repositoryId"])
    category = repo.discussion_categories.get(parse_node_id("DiscussionCategory", input["categoryId"]))
    if category is None:
        raise Failure("NOT_FOUND", f"Could not resolve to a node with the global id of '{input['categoryId']}'")
    if not input["title"].strip():
        raise Failure("UNPROCESSABLE", "Title can't be blank")
    check_text(input["body"])
    found = context.store.create_discussion(
        repo, category, title=input["title"], body=input["body"], user=context.token.login
    )
    return {"clientMutationId": input.get("clientMutationId"), "discussion": found}


@resolves("Mutation", "updateDiscussion")
def update_discussion(_source: Any, context: Context, _info: Any, *, input: dict[str, Any]) -> dict:  # noqa: A002
    context.require("discussions", "write")
    repo, found = context.node("Discussion", input["discussionId"])
    if input.get("title") is not None:
        if not input["title"].strip():
            raise Failure("UNPROCESSABLE", "Title can't be blank")
        found.title = input["title"]
    if input.get("body") is not None:
        check_text(input["body"])
        found.body = input["body"]
    if input.get("categoryId") is not None:
        category_id = parse_node_id("DiscussionCategory", input["categoryId"])
        if category_id not in repo.discussion_categories:
            raise Failure("NOT_FOUND", f"Could not resolve to a node with the global id of '{input['categoryId']}'")
        found.category_id = category_id
    found.updated_at = context.store.now
    return {"clientMutationId": input.get("clientMutationId"), "discussion": found}


@resolves("Mutation", "pinIssue")
def pin_issue(_source: Any, context: Context, _info: Any, *, input: dict[str, Any]) -> dict:  # noqa: A002
    context.require("issues", "write")
    repo, issue = context.node("Issue", input["issueId"])
    if not issue.pinned:
        if sum(1 for other in repo.issues.values() if other.pinned) >= MAX_PINNED_ISSUES:
            raise Failure("UNPROCESSABLE", f"Repository can only have {MAX_PINNED_ISSUES} pinned issues")
        issue.pinned = True
    return {"clientMutationId": input.get("clientMutationId"), "issue": issue}


def check_text(body: str) -> None:
    try:
        check_body_length("Discussion", body)
    except ApiError as error:
        raise Failure("UNPROCESSABLE", (error.errors or [{}])[0].get("message") or error.message) from None

"""The fake GitHub's GraphQL endpoint: documents are checked against GitHub's published schema (the
pinned subset under tests/github-graphql/), answers come from the same state as the REST routes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import graphql
import pytest
import requests

from fakegithub import FakeGitHub
from fakegithub.payloads import node_id

REPO = "octo/mono"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
SUBSET = Path(__file__).parent / "github-graphql" / "schema-subset.graphql"

DEPLOYMENTS = """
query($owner: String!, $name: String!, $environments: [String!], $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    deployments(environments: $environments, first: $first, after: $after,
                orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes { id databaseId commitOid environment createdAt state
              latestStatus { state createdAt logUrl environmentUrl } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
}
"""


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(REPO)
    fake_github.now = START
    return fake_github


def post(
    fake: FakeGitHub, query: str, variables: dict | None = None, *, token: str | None = "test-token", path="/graphql"
):
    headers = {"Authorization": f"bearer {token}"} if token else {}
    return requests.post(
        f"{fake.url}{path}", json={"query": query, "variables": variables or {}}, headers=headers, timeout=10
    )


def data_of(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def errors_of(response: requests.Response) -> list[dict]:
    assert response.status_code == 200, response.text  # GitHub answers a refused query with 200 and `errors`
    return response.json()["errors"]


def deploy(fake: FakeGitHub, sha: str, *states: str, environment: str = "api", minutes: int = 0) -> int:
    created = START + timedelta(minutes=minutes)
    deployment = fake.add_deployment(REPO, sha=sha, environment=environment, created_at=created)
    for index, state in enumerate(states, start=1):
        fake.add_deployment_status(
            REPO, deployment.id, state, created_at=created + timedelta(seconds=index), log_url=f"https://ci/{sha}"
        )
    return deployment.id


# --- the schema -------------------------------------------------------------------------------


def test_the_pinned_subset_is_a_valid_schema_cut_from_the_published_one() -> None:
    text = SUBSET.read_text()
    schema = graphql.build_schema(text)

    assert graphql.validate_schema(schema) == []
    assert "@octokit/graphql-schema 15.26.1" in text.splitlines()[0]
    assert {"Repository", "Deployment", "DeploymentStatus", "Discussion", "DiscussionCategory"} <= set(schema.type_map)
    assert set(schema.mutation_type.fields) == {"createDiscussion", "updateDiscussion", "pinIssue"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('{ repository(owner: "octo", name: "mono") { stars } }', "Cannot query field 'stars' on type 'Repository'."),
        ('{ repository(owner: "octo", name: "mono", visibility: 1) { id } }', "Unknown argument 'visibility'"),
        ("{ repository(owner: 1) { id } }", "String cannot represent a non string value: 1"),
        ('{ repository(owner: "octo", name: "mono") { deployments(first: 1) { nodes } } }', "must have a selection"),
        ("query($n: String!) { repository(owner: $n, name: $n) { id } }", "Variable '$n' of required type"),
        ("{ repository(owner: ", "Syntax Error"),
    ],
)
def test_a_query_github_would_reject_fails(fake: FakeGitHub, query: str, expected: str) -> None:
    errors = errors_of(post(fake, query))

    assert any(expected in error["message"] for error in errors), errors
    assert "data" not in post(fake, query).json()


@pytest.mark.parametrize(
    ("page", "kind", "message"),
    [
        ("first: 101", "EXCESSIVE_PAGINATION", "Requesting 101 records on the `deployments` connection exceeds"),
        ("last: 500", "EXCESSIVE_PAGINATION", "exceeds the `last` limit of 100 records"),
        ("", "MISSING_PAGINATION_BOUNDARIES", "You must provide a `first` or `last` value"),
    ],
)
def test_connections_take_1_to_100_records_like_githubs(fake: FakeGitHub, page: str, kind: str, message: str) -> None:
    arguments = f"({page})" if page else ""
    query = f'{{ repository(owner: "octo", name: "mono") {{ deployments{arguments} {{ totalCount }} }} }}'

    errors = errors_of(post(fake, query))

    assert [error["type"] for error in errors] == [kind]
    assert message in errors[0]["message"]
    assert errors[0]["path"] == ["repository", "deployments"]


def test_graphql_needs_a_token_and_answers_on_the_enterprise_path_too(fake: FakeGitHub) -> None:
    query = '{ repository(owner: "octo", name: "mono") { nameWithOwner } }'

    assert post(fake, query, token=None).status_code == 401
    assert data_of(post(fake, query, path="/api/graphql")) == {"repository": {"nameWithOwner": REPO}}


def test_an_unknown_repository_is_not_found_with_its_path(fake: FakeGitHub) -> None:
    response = post(fake, '{ repository(owner: "octo", name: "gone") { id } }')

    assert response.json()["data"] == {"repository": None}
    error = errors_of(response)[0]
    assert (error["type"], error["path"]) == ("NOT_FOUND", ["repository"])
    assert error["message"] == "Could not resolve to a Repository with the name 'octo/gone'."


def test_a_token_without_the_permission_gets_forbidden(fake: FakeGitHub) -> None:
    fake.add_token("no-deployments", permissions={"contents": "read"})

    error = errors_of(post(fake, DEPLOYMENTS, {"owner": "octo", "name": "mono", "first": 1}, token="no-deployments"))[0]

    assert (error["type"], error["message"]) == ("FORBIDDEN", "Resource not accessible by integration")


def test_a_spent_graphql_limit_answers_rate_limited(fake: FakeGitHub) -> None:
    fake.exhaust_rate_limit(resource="graphql")

    response = post(fake, '{ repository(owner: "octo", name: "mono") { id } }')

    assert errors_of(response)[0]["type"] == "RATE_LIMITED"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-resource"] == "graphql"


# --- deployments: one state, two APIs ---------------------------------------------------------


def test_rest_and_graphql_views_of_one_deployment_agree(fake: FakeGitHub) -> None:
    deployment_id = deploy(fake, "a" * 40, "in_progress", "success")
    rest = requests.get(
        f"{fake.url}/repos/{REPO}/deployments/{deployment_id}", headers={"Authorization": "token test-token"}, timeout=5
    ).json()
    statuses = requests.get(
        f"{fake.url}/repos/{REPO}/deployments/{deployment_id}/statuses",
        headers={"Authorization": "token test-token"},
        timeout=5,
    ).json()

    node = data_of(post(fake, DEPLOYMENTS, {"owner": "octo", "name": "mono", "first": 10}))["repository"][
        "deployments"
    ]["nodes"][0]

    assert node["id"] == rest["node_id"]
    assert node["databaseId"] == rest["id"]
    assert node["commitOid"] == rest["sha"]
    assert node["environment"] == rest["environment"]
    assert node["createdAt"] == rest["created_at"]
    assert node["state"] == "ACTIVE"
    newest = statuses[0]  # REST lists statuses newest first
    assert node["latestStatus"] == {
        "state": newest["state"].upper(),
        "createdAt": newest["created_at"],
        "logUrl": newest["log_url"],
        "environmentUrl": None,
    }


def test_deployments_come_newest_first_across_environments_page_by_page(fake: FakeGitHub) -> None:
    for minute in range(150):
        deploy(fake, f"{minute:040x}", "success", environment=("api", "web", "other")[minute % 3], minutes=minute)
    variables = {"owner": "octo", "name": "mono", "environments": ["api", "web"], "first": 60}

    seen: list[dict] = []
    pages = 0
    after = None
    while True:
        connection = data_of(post(fake, DEPLOYMENTS, {**variables, "after": after}))["repository"]["deployments"]
        pages += 1
        seen += connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    assert pages == 2
    assert connection["totalCount"] == 100
    assert [node["environment"] for node in seen[:3]] == ["web", "api", "web"]  # minutes 148, 147, 145
    assert [node["createdAt"] for node in seen] == sorted((node["createdAt"] for node in seen), reverse=True)
    assert len({node["id"] for node in seen}) == 100


# --- discussions and pinned issues --------------------------------------------------------------

CATEGORIES = """
query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id
    discussionCategories(first: 25) { nodes { id name } }
  }
}
"""
CREATE = """
mutation($repositoryId: ID!, $categoryId: ID!, $title: String!, $body: String!) {
  createDiscussion(input: {repositoryId: $repositoryId, categoryId: $categoryId, title: $title, body: $body}) {
    discussion { id number title body url }
  }
}
"""
UPDATE = """
mutation($discussionId: ID!, $body: String!) {
  updateDiscussion(input: {discussionId: $discussionId, body: $body}) { discussion { id body } }
}
"""
LIST = """
query($owner: String!, $name: String!, $categoryId: ID) {
  repository(owner: $owner, name: $name) {
    discussions(first: 10, categoryId: $categoryId) { nodes { id number title body url } }
  }
}
"""
PIN = "mutation($issueId: ID!) { pinIssue(input: {issueId: $issueId}) { issue { number isPinned } } }"


def test_discussions_are_created_listed_by_category_and_updated(fake: FakeGitHub) -> None:
    fake.add_discussion_category(REPO, "General")
    fake.add_discussion_category(REPO, "Announcements")
    fake.add_discussion(REPO, "General", title="Hello", body="hi")
    fake.add_issue(REPO, 7, title="An issue")
    repository = data_of(post(fake, CATEGORIES, {"owner": "octo", "name": "mono"}))["repository"]
    rest_repo = requests.get(f"{fake.url}/repos/{REPO}", headers={"Authorization": "token test-token"}, timeout=5)
    announcements = next(c["id"] for c in repository["discussionCategories"]["nodes"] if c["name"] == "Announcements")

    created = data_of(
        post(fake, CREATE, {"repositoryId": repository["id"], "categoryId": announcements, "title": "v2", "body": "x"})
    )["createDiscussion"]["discussion"]
    data_of(post(fake, UPDATE, {"discussionId": created["id"], "body": "y"}))
    listed = data_of(post(fake, LIST, {"owner": "octo", "name": "mono", "categoryId": announcements}))

    assert repository["id"] == rest_repo.json()["node_id"]  # the GraphQL id is REST's node_id
    assert created["number"] == 8  # one sequence with issues and pull requests
    assert created["url"] == f"https://github.com/{REPO}/discussions/8"
    assert listed["repository"]["discussions"]["nodes"] == [{**created, "body": "y"}]
    assert [(d.title, d.body) for d in fake.discussions(REPO)] == [("Hello", "hi"), ("v2", "y")]


def test_discussion_writes_need_the_discussions_permission(fake: FakeGitHub) -> None:
    category = fake.add_discussion_category(REPO, "Announcements")
    fake.add_token("read-only", write=False)
    variables = {
        "repositoryId": node_id("Repository", fake.repo(REPO).id),
        "categoryId": node_id("DiscussionCategory", category.id),
        "title": "v2",
        "body": "x",
    }

    response = post(fake, CREATE, variables, token="read-only")

    assert errors_of(response)[0]["type"] == "FORBIDDEN"
    assert response.json()["data"] == {"createDiscussion": None}
    assert fake.discussions(REPO) == []


def test_pin_issue_pins_at_most_three(fake: FakeGitHub) -> None:
    issues = [fake.add_issue(REPO, number, title=f"#{number}") for number in range(1, 5)]

    for issue in issues[:3]:
        assert data_of(post(fake, PIN, {"issueId": node_id("Issue", issue.id)}))["pinIssue"]["issue"]["isPinned"]
    refused = errors_of(post(fake, PIN, {"issueId": node_id("Issue", issues[3].id)}))

    assert [fake.issue(REPO, number).pinned for number in range(1, 5)] == [True, True, True, False]
    assert "only have 3 pinned issues" in refused[0]["message"]

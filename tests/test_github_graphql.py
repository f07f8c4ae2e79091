"""`github.graphql`: GraphQL through PyGithub's requester, with REST's retries, budget, request count
and one-line errors, against the fake GitHub's /graphql."""

from __future__ import annotations

import time

import pytest

from dualdeploy import github
from fakegithub import FakeGitHub

REPO = "octo/mono"
NAME = "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { nameWithOwner } }"
VARIABLES = {"owner": "octo", "name": "mono"}


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(REPO)
    return fake_github


def ask(client_or_repo, query: str = NAME, variables: dict | None = None) -> dict:
    return github.graphql(
        client_or_repo,
        query,
        VARIABLES if variables is None else variables,
        what="read the repository",
        permission="contents: read",
    )


@pytest.mark.usefixtures("keep_request_count")
def test_a_query_goes_through_the_client_or_a_repository_and_is_counted_as_graphql(fake: FakeGitHub) -> None:
    client = github.connect("test-token", base_url=fake.url, budget_seconds=5)
    before = github.REQUESTS.by_kind["graphql"]

    assert ask(client) == {"repository": {"nameWithOwner": REPO}}
    assert ask(client.get_repo(REPO)) == {"repository": {"nameWithOwner": REPO}}
    assert github.REQUESTS.by_kind["graphql"] - before == 2
    assert [request.path for request in fake.requests] == ["/graphql", "/graphql"]


def test_an_enterprise_server_base_url_posts_to_api_graphql(fake: FakeGitHub) -> None:
    client = github.connect("test-token", base_url=f"{fake.url}/api/v3", budget_seconds=5)

    assert ask(client) == {"repository": {"nameWithOwner": REPO}}
    assert [request.path for request in fake.requests] == ["/api/graphql"]


def test_a_refused_query_is_one_line_with_githubs_reason(fake: FakeGitHub) -> None:
    client = github.connect("test-token", base_url=fake.url, budget_seconds=5)

    with pytest.raises(github.GitHubError) as raised:
        ask(client, '{ repository(owner: "octo", name: "mono") { stars } }', {})

    assert raised.value.one_line() == (
        "github: GitHub: could not read the repository: GraphQL error: Cannot query field 'stars' on type "
        "'Repository'.; GitHub refused the query"
    )


def test_graphql_errors_map_to_not_found_and_missing_permission(fake: FakeGitHub) -> None:
    fake.add_token("no-deployments", permissions={"contents": "read"})
    client = github.connect("no-deployments", base_url=fake.url, budget_seconds=5)
    deployments = '{ repository(owner: "octo", name: "mono") { deployments(first: 1) { totalCount } } }'

    with pytest.raises(github.GitHubError) as missing:
        ask(client, NAME, {"owner": "octo", "name": "gone"})
    with pytest.raises(github.PermissionMissing) as denied:
        github.graphql(client, deployments, what="read the deployments", permission="deployments: read")

    assert missing.value.status == 404
    assert "GraphQL NOT_FOUND at repository: Could not resolve to a Repository" in missing.value.message
    assert denied.value.message == (
        "GitHub: could not read the deployments: GraphQL FORBIDDEN at repository.deployments: Resource not "
        "accessible by integration; the token likely lacks `deployments: read` (add it under `permissions:`; "
        "a fork's pull request gets a read-only token)"
    )


def test_rate_limited_is_reported_with_the_cause_when_the_reset_is_past_the_budget(fake: FakeGitHub) -> None:
    fake.exhaust_rate_limit(resource="graphql", reset_in=600)
    client = github.connect("test-token", base_url=fake.url, budget_seconds=5)

    with pytest.raises(github.GitHubError) as raised:
        ask(client)

    assert "GraphQL RATE_LIMITED: API rate limit exceeded" in raised.value.message
    assert "GraphQL points exhausted for this token, they reset at" in raised.value.message


def test_rate_limited_waits_for_a_reset_inside_the_budget(fake: FakeGitHub) -> None:
    fake.exhaust_rate_limit(resource="graphql", reset_in=0.2)
    client = github.connect("test-token", base_url=fake.url, budget_seconds=10)
    started = time.monotonic()

    assert ask(client) == {"repository": {"nameWithOwner": REPO}}
    assert len(fake.requests) == 2
    assert time.monotonic() - started < 5


def test_secondary_rate_limits_and_5xx_are_retried_like_rest(fake: FakeGitHub) -> None:
    fake.secondary_rate_limit("POST", "/graphql", retry_after=0)
    fake.fail_next("POST", "/graphql", 502)
    client = github.connect("test-token", base_url=fake.url, budget_seconds=10)

    assert ask(client) == {"repository": {"nameWithOwner": REPO}}
    assert len(fake.requests) == 3


def test_no_answer_within_the_budget_is_one_line(fake: FakeGitHub) -> None:
    fake.fail_next("POST", "/graphql", 502, times=50)
    client = github.connect("test-token", base_url=fake.url, budget_seconds=0.1)

    with pytest.raises(github.GitHubError) as raised:
        ask(client)

    assert raised.value.one_line().startswith("github: GitHub: could not read the repository:")

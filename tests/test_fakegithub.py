"""The fake GitHub, driven the way the suite drives GitHub: through PyGithub (and raw HTTP where
the wire format itself is the point)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import github
import pytest
import requests
from github import GithubException, GithubRetry

from fakegithub import FakeGitHub

REPO = "octo/mono"
HEAD_SHA = "a1" * 20
BASE_SHA = "b2" * 20


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(REPO, default_branch="main", head_sha=BASE_SHA)
    fake_github.add_pull(
        REPO,
        7,
        head_sha=HEAD_SHA,
        head_ref="agent/fix",
        title="Fix the worker",
        files=["services/worker/main.py", "docs/readme.md"],
    )
    fake_github.add_issue(REPO, 8, title="Deploy gap", body="<!-- dual-deploy:alert -->\nworker is behind")
    return fake_github


@pytest.fixture
def gh(fake: FakeGitHub) -> github.Github:
    return fake.client(retry=None)


def get(fake: FakeGitHub, path: str, token: str | None = "test-token", **params: str) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(f"{fake.url}{path}", headers=headers, params=params, timeout=10)


def error_of(raised: pytest.ExceptionInfo[GithubException]) -> tuple[int, dict]:
    return raised.value.status, raised.value.data


# --- comments and pagination ------------------------------------------------------------------


def test_paginated_comments_follow_the_link_header_through_every_page(fake: FakeGitHub, gh: github.Github) -> None:
    for index in range(250):
        fake.add_issue_comment(REPO, 7, f"comment {index}")
    fake.reset_requests()

    bodies = [comment.body for comment in gh.get_repo(REPO).get_issue(7).get_comments()]

    assert bodies == [f"comment {index}" for index in range(250)]
    pages = [request.query.get("page", "1") for request in fake.requests if request.path.endswith("/comments")]
    assert pages == [str(page) for page in range(1, 10)]  # 30 per page by default: 9 pages


def test_link_header_has_githubs_rels_and_keeps_the_query(fake: FakeGitHub) -> None:
    for index in range(250):
        fake.add_issue_comment(REPO, 7, f"comment {index}")
    path = f"/repos/{REPO}/issues/7/comments"

    middle = get(fake, path, per_page="100", page="2")
    first = get(fake, path, per_page="100")
    beyond_max = get(fake, path, per_page="500")

    base = f"{fake.url}{path}?per_page=100"
    assert middle.headers["link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    assert first.headers["link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    assert len(middle.json()) == 100 and middle.json()[0]["body"] == "comment 100"
    assert len(beyond_max.json()) == 100  # GitHub caps per_page at 100
    assert "link" not in get(fake, f"/repos/{REPO}/issues/8/comments").headers  # one page: no Link


def test_comments_are_created_edited_and_deleted(fake: FakeGitHub, gh: github.Github) -> None:
    fake.now = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    issue = gh.get_repo(REPO).get_issue(7)

    comment = issue.create_comment("<!-- marker -->\nfirst")
    fake.advance(minutes=5)
    comment.edit("<!-- marker -->\nsecond")

    [stored] = fake.comments(REPO, 7)
    assert (stored.body, stored.user) == ("<!-- marker -->\nsecond", "github-actions[bot]")
    assert comment.html_url == f"https://github.com/{REPO}/pull/7#issuecomment-{stored.id}"
    assert comment.created_at == datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert comment.updated_at == datetime(2024, 3, 1, 12, 5, tzinfo=timezone.utc)
    assert fake.requests[-1].body == {"body": "<!-- marker -->\nsecond"}
    comment.delete()
    assert fake.comments(REPO, 7) == []


def test_a_comment_over_githubs_size_limit_is_refused(gh: github.Github) -> None:
    with pytest.raises(GithubException) as raised:
        gh.get_repo(REPO).get_issue(7).create_comment("x" * 65537)

    status, data = error_of(raised)
    assert status == 422
    assert data["errors"][0]["message"] == "body is too long (maximum is 65536 characters)"


# --- labels -----------------------------------------------------------------------------------


def test_creating_a_label_twice_is_422_already_exists_whatever_the_case(fake: FakeGitHub, gh: github.Github) -> None:
    repo = gh.get_repo(REPO)
    repo.create_label("requires-manual-deploy", "f0883e", "Needs a manual deploy")

    with pytest.raises(GithubException) as raised:
        repo.create_label("Requires-Manual-Deploy", "000000")

    status, data = error_of(raised)
    assert status == 422
    assert data["message"] == "Validation Failed"
    assert data["errors"] == [{"resource": "Label", "code": "already_exists", "field": "name"}]
    assert data["documentation_url"] == "https://docs.github.com/rest/issues/labels#create-a-label"
    assert [(label.name, label.color) for label in fake.labels(REPO)] == [("requires-manual-deploy", "f0883e")]


def test_issue_labels_are_added_matched_case_insensitively_and_removed(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_label(REPO, "agent-changes", "8250df")
    issue = gh.get_repo(REPO).get_issue(7)

    issue.add_to_labels("AGENT-CHANGES", "brand-new")  # an unknown label is created, grey
    issue.remove_from_labels("Agent-Changes")

    assert fake.issue(REPO, 7).labels == ["brand-new"]
    assert {label.name: label.color for label in fake.labels(REPO)} == {
        "agent-changes": "8250df",
        "brand-new": "ededed",
    }
    with pytest.raises(GithubException) as raised:
        issue.remove_from_labels("agent-changes")
    assert error_of(raised) == (
        404,
        {"message": "Label does not exist", "status": "404", "documentation_url": "https://docs.github.com/rest"},
    )


def test_label_names_with_slashes_and_spaces_round_trip(fake: FakeGitHub, gh: github.Github) -> None:
    repo = gh.get_repo(REPO)
    repo.create_label("area/ci tools", "00ff00")

    label = repo.get_label("area/ci tools")
    label.edit("area/ci", "0000ff", "CI")

    assert [(label.name, label.color, label.description) for label in fake.labels(REPO)] == [
        ("area/ci", "0000ff", "CI")
    ]
    repo.get_label("AREA/CI").delete()
    assert fake.labels(REPO) == []


# --- errors and tokens ------------------------------------------------------------------------


def test_not_found_has_githubs_shape(gh: github.Github) -> None:
    with pytest.raises(github.UnknownObjectException) as raised:
        gh.get_repo("octo/missing")

    assert error_of(raised) == (
        404,
        {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"},
    )


def test_unknown_path_and_unknown_issue_are_404(fake: FakeGitHub) -> None:
    assert get(fake, f"/repos/{REPO}/no-such-thing").status_code == 404
    assert get(fake, f"/repos/{REPO}/issues/999").json()["message"] == "Not Found"
    assert get(fake, f"/repos/{REPO}/pulls/8").status_code == 404  # an issue is not a pull request


def test_an_unknown_token_is_401_bad_credentials(fake: FakeGitHub) -> None:
    with pytest.raises(github.BadCredentialsException) as raised:
        fake.client("expired-token", retry=None).get_repo(REPO)

    assert error_of(raised)[1]["message"] == "Bad credentials"


def test_a_read_only_token_reads_but_gets_403_on_writes(fake: FakeGitHub) -> None:
    fake.add_token("fork-token", write=False)
    issue = fake.client("fork-token", retry=None).get_repo(REPO).get_issue(7)

    with pytest.raises(GithubException) as raised:
        issue.create_comment("hello")

    status, data = error_of(raised)
    assert status == 403
    assert data["message"] == "Resource not accessible by integration"
    assert data["documentation_url"] == "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
    assert raised.value.headers["x-accepted-github-permissions"] == "issues=write; pull_requests=write"
    assert fake.comments(REPO, 7) == []


def test_fine_grained_permissions_follow_githubs_rules(fake: FakeGitHub) -> None:
    fake.add_token("pr-writer", permissions={"issues": "read", "pull_requests": "write"})
    repo = fake.client("pr-writer", retry=None).get_repo(REPO)

    repo.get_issue(7).create_comment("a pull request accepts pull_requests: write")
    with pytest.raises(GithubException) as raised:
        repo.get_issue(8).create_comment("an issue needs issues: write")
    with pytest.raises(GithubException) as no_deployments:
        list(repo.get_deployments())

    assert [comment.body for comment in fake.comments(REPO, 7)] == ["a pull request accepts pull_requests: write"]
    assert raised.value.status == 403
    assert no_deployments.value.status == 403  # no `deployments` permission at all: not even reads


def test_unknown_permission_names_are_a_test_bug(fake: FakeGitHub) -> None:
    with pytest.raises(ValueError, match="pull-requests"):
        fake.add_token("typo", permissions={"pull-requests": "write"})


def test_anonymous_callers_read_public_repos_only(fake: FakeGitHub) -> None:
    fake.add_repo("octo/secret", private=True)

    assert get(fake, f"/repos/{REPO}", token=None).status_code == 200
    assert get(fake, "/repos/octo/secret", token=None).status_code == 404
    assert get(fake, "/repos/octo/secret").status_code == 200


def test_user_endpoint_refuses_an_app_token_like_github(fake: FakeGitHub) -> None:
    fake.add_token("pat", login="ada")

    assert get(fake, "/user").status_code == 403  # GITHUB_TOKEN is an installation, not a user
    assert fake.client("pat", retry=None).get_user().login == "ada"


def test_a_body_that_is_not_json_is_400(fake: FakeGitHub) -> None:
    response = requests.post(
        f"{fake.url}/repos/{REPO}/issues/7/comments",
        data="{not json",
        headers={"Authorization": "token test-token"},
        timeout=10,
    )

    assert (response.status_code, response.json()["message"]) == (400, "Problems parsing JSON")


# --- headers, rate limits, faults -------------------------------------------------------------


def test_every_response_carries_githubs_headers_and_a_falling_rate_limit(fake: FakeGitHub) -> None:
    first, second = get(fake, f"/repos/{REPO}"), get(fake, f"/repos/{REPO}/issues/404")
    search = get(fake, "/search/issues", q="repo:octo/mono")

    for response in (first, second, search):
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.headers["x-github-request-id"]
        assert int(response.headers["x-ratelimit-reset"]) > time.time()
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-used"]) == ("5000", "1")
    assert int(second.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"]) - 1
    assert (search.headers["x-ratelimit-resource"], search.headers["x-ratelimit-limit"]) == ("search", "30")
    assert first.headers["x-github-request-id"] != second.headers["x-github-request-id"]


def test_rate_limit_endpoint_reports_without_counting(fake: FakeGitHub, gh: github.Github) -> None:
    get(fake, f"/repos/{REPO}")

    before = gh.get_rate_limit().resources.core.remaining
    after = gh.get_rate_limit().resources.core.remaining

    assert before == after == 4999


def test_a_502_fault_hits_once_then_the_server_recovers(fake: FakeGitHub, gh: github.Github) -> None:
    fake.fail_next("GET", rf"^/repos/{REPO}$", status=502)

    with pytest.raises(GithubException) as raised:
        gh.get_repo(REPO)

    assert error_of(raised)[0] == 502
    assert gh.get_repo(REPO).full_name == REPO


def test_pygithub_retries_through_a_502(fake: FakeGitHub) -> None:
    fake.fail_next("GET", r"/issues/7$", status=502, times=2)
    client = fake.client(retry=GithubRetry(total=3, backoff_factor=0))
    repo = client.get_repo(REPO)
    fake.reset_requests()

    assert repo.get_issue(7).title == "Fix the worker"
    assert len(fake.requests) == 3


def test_secondary_rate_limit_asks_to_retry_after_a_second(fake: FakeGitHub) -> None:
    fake.secondary_rate_limit("POST", r"/comments$")
    fake.secondary_rate_limit("GET", r"/labels$", status=429)
    repo = fake.client(retry=GithubRetry(total=3, backoff_factor=0)).get_repo(REPO)

    refused = get(fake, f"/repos/{REPO}/labels")
    started = time.monotonic()
    repo.get_issue(7).create_comment("after the wait")

    assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
    assert refused.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert time.monotonic() - started >= 1.0  # PyGithub honoured retry-after
    assert [comment.body for comment in fake.comments(REPO, 7)] == ["after the wait"]


def test_an_exhausted_primary_rate_limit_is_403_until_the_reset(fake: FakeGitHub, gh: github.Github) -> None:
    fake.exhaust_rate_limit(reset_in=1.0)

    refused = get(fake, f"/repos/{REPO}")
    with pytest.raises(github.RateLimitExceededException):
        gh.get_repo(REPO)

    assert refused.status_code == 403
    assert refused.json()["message"].startswith("API rate limit exceeded")
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) <= time.time() + 1
    time.sleep(1.1)
    assert get(fake, f"/repos/{REPO}").status_code == 200


def test_a_slow_response_arrives_late_but_intact(fake: FakeGitHub, gh: github.Github) -> None:
    fake.slow_next("GET", r"/pulls/7$", delay=0.3)

    started = time.monotonic()
    pull = gh.get_repo(REPO).get_pull(7)

    assert time.monotonic() - started >= 0.3
    assert pull.head.sha == HEAD_SHA


def test_a_slow_response_can_outlast_the_client_timeout(fake: FakeGitHub) -> None:
    fake.slow_next("GET", r"/pulls/7$", delay=2)

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{fake.url}/repos/{REPO}/pulls/7", headers={"Authorization": "token test-token"}, timeout=0.2)


# --- pull requests, issues, search, commits ---------------------------------------------------


def test_pull_request_head_base_and_files(gh: github.Github) -> None:
    pull = gh.get_repo(REPO).get_pull(7)

    assert (pull.head.sha, pull.head.ref, pull.base.sha, pull.base.ref) == (HEAD_SHA, "agent/fix", BASE_SHA, "main")
    assert [file.filename for file in pull.get_files()] == ["services/worker/main.py", "docs/readme.md"]
    assert pull.as_issue().pull_request is not None


def test_issues_are_created_listed_filtered_and_closed(fake: FakeGitHub, gh: github.Github) -> None:
    repo = gh.get_repo(REPO)
    created = repo.create_issue("Manual deploy pending", body="worker", labels=["deployment"], assignees=["ada"])
    fake.advance(hours=1)
    created.edit(state="closed", state_reason="completed")

    open_titles = [issue.title for issue in repo.get_issues(state="open")]
    closed = [issue.number for issue in repo.get_issues(state="closed", labels=["Deployment"])]
    stored = fake.issue(REPO, created.number)

    assert open_titles == ["Deploy gap", "Fix the worker"]  # pull requests are issues too; newest first
    assert closed == [created.number]
    assert (stored.state, stored.state_reason, stored.closed_by, stored.assignees) == (
        "closed",
        "completed",
        "github-actions[bot]",
        ["ada"],
    )
    assert stored.closed_at == fake.now


def test_search_finds_issues_by_repo_state_label_and_body_text(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_issue(REPO, 9, title="Other", body="nothing here", labels=["alert"])
    fake.add_issue(REPO, 10, title="Closed alert", body="<!-- dual-deploy:alert -->", labels=["alert"], state="closed")
    alert = fake.issue(REPO, 8)

    found = gh.search_issues('repo:octo/mono is:issue is:open in:body "dual-deploy:alert"')
    labelled = gh.search_issues("repo:octo/mono is:issue label:alert")

    assert [issue.number for issue in found] == [alert.number]
    assert found.totalCount == 1
    assert sorted(issue.number for issue in labelled) == [9, 10]


def test_commits_are_found_by_sha_prefix_and_unknown_ones_are_422(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_commit(
        REPO,
        HEAD_SHA,
        message="Fix the worker",
        author="Ada Tester <ada@example.com>",
        parents=[BASE_SHA],
        files=["services/worker/main.py"],
    )
    repo = gh.get_repo(REPO)

    commit = repo.get_commit(HEAD_SHA[:7])
    with pytest.raises(GithubException) as raised:
        repo.get_commit("f" * 40)

    assert (commit.sha, commit.commit.message, commit.commit.author.name) == (HEAD_SHA, "Fix the worker", "Ada Tester")
    assert [parent.sha for parent in commit.parents] == [BASE_SHA]
    assert [file.filename for file in commit.files] == ["services/worker/main.py"]
    assert error_of(raised)[0] == 422


# --- deployments ------------------------------------------------------------------------------


def test_deployments_and_statuses_round_trip(fake: FakeGitHub, gh: github.Github) -> None:
    repo = gh.get_repo(REPO)
    older = fake.add_deployment(
        REPO, sha=BASE_SHA, ref="main", environment="worker-production", production_environment=True
    )
    fake.add_deployment_status(REPO, older.id, "success", environment_url="https://worker.example.com")

    fake.advance(minutes=10)
    deployment = repo.create_deployment(
        ref="main",
        environment="worker-production",
        payload={"component": "worker"},
        description="by hand",
        production_environment=True,
    )
    deployment.create_status("in_progress", target_url="https://ci.example.com/1")  # GitHub's old log_url
    fake.advance(minutes=1)
    deployment.create_status("success", environment_url="https://worker.example.com")

    listed = [(d.id, d.sha, d.payload) for d in repo.get_deployments(environment="worker-production")]
    statuses = [status.state for status in repo.get_deployment(deployment.id).get_statuses()]

    assert listed == [(deployment.id, BASE_SHA, {"component": "worker"}), (older.id, BASE_SHA, {})]
    assert statuses == ["success", "in_progress"]  # newest first
    assert [status.state for status in fake.deployments(REPO)[1].statuses] == ["success"]  # production: kept
    assert fake.deployments(REPO)[0].statuses[0].log_url == "https://ci.example.com/1"
    assert deployment.creator.login == "github-actions[bot]"
    assert deployment.created_at == fake.now.replace(minute=10)


def test_a_newer_success_retires_older_non_production_deployments(fake: FakeGitHub, gh: github.Github) -> None:
    repo = gh.get_repo(REPO)
    staging = fake.add_deployment(REPO, sha=BASE_SHA, environment="staging")
    fake.add_deployment_status(REPO, staging.id, "success")

    newer = repo.create_deployment(ref=HEAD_SHA, environment="staging")
    newer.create_status("success")

    assert [status.state for status in repo.get_deployment(staging.id).get_statuses()] == ["inactive", "success"]
    assert get(fake, f"/repos/{REPO}/deployments", sha=HEAD_SHA).json()[0]["id"] == newer.id


def test_a_deployment_of_an_unknown_ref_is_422(gh: github.Github) -> None:
    with pytest.raises(GithubException) as raised:
        gh.get_repo(REPO).create_deployment(ref="no-such-branch")

    assert error_of(raised)[0] == 422


# --- workflow runs ----------------------------------------------------------------------------


def test_workflow_runs_are_filtered_and_their_jobs_listed(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_workflow(REPO, ".github/workflows/deploy.yml", name="Deploy")
    fake.add_workflow_run(
        REPO, "deploy.yml", head_sha=BASE_SHA, conclusion="failure", created_at="2024-01-15T08:00:00Z"
    )
    good = fake.add_workflow_run(
        REPO,
        "deploy.yml",
        head_sha=HEAD_SHA,
        created_at="2024-01-15T08:30:00Z",
        jobs=["build", {"name": "deploy worker", "conclusion": "success", "completed_at": "2024-01-15T08:41:00Z"}],
    )
    fake.add_workflow_run(REPO, "deploy.yml", head_sha=HEAD_SHA, head_branch="agent/fix", event="pull_request")

    workflow = gh.get_repo(REPO).get_workflow("deploy.yml")
    runs = workflow.get_runs(branch="main", status="success")
    [run] = list(runs)
    jobs = list(run.jobs())

    assert (workflow.name, workflow.path) == ("Deploy", ".github/workflows/deploy.yml")
    assert runs.totalCount == 1
    assert (run.id, run.head_sha, run.event, run.conclusion, run.run_number) == (
        good.id,
        HEAD_SHA,
        "push",
        "success",
        2,
    )
    assert [(job.name, job.conclusion) for job in jobs] == [("build", "success"), ("deploy worker", "success")]
    assert jobs[1].completed_at == datetime(2024, 1, 15, 8, 41, tzinfo=timezone.utc)
    assert [run.event for run in workflow.get_runs()] == ["pull_request", "push", "push"]  # newest first


def test_an_unknown_workflow_is_404(gh: github.Github) -> None:
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo(REPO).get_workflow("nope.yml")


# --- the server itself ------------------------------------------------------------------------


def test_concurrent_writes_all_land_with_unique_ids(fake: FakeGitHub) -> None:
    def post_comments(worker: int) -> None:
        with requests.Session() as session:
            for index in range(20):
                session.post(
                    f"{fake.url}/repos/{REPO}/issues/7/comments",
                    json={"body": f"{worker}-{index}"},
                    headers={"Authorization": "token test-token"},
                    timeout=10,
                ).raise_for_status()

    threads = [threading.Thread(target=post_comments, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    comments = fake.comments(REPO, 7)
    assert len(comments) == len({comment.id for comment in comments}) == 160


def test_the_server_stops_cleanly_with_a_keep_alive_connection_open() -> None:
    threads_before = threading.active_count()
    fake = FakeGitHub().start()
    fake.add_repo(REPO)
    session = requests.Session()
    assert session.get(f"{fake.url}/repos/{REPO}", timeout=10).status_code == 200
    url = fake.url

    started = time.monotonic()
    fake.stop()

    assert time.monotonic() - started < 2
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/repos/{REPO}", timeout=2)
    session.close()
    deadline = time.monotonic() + 2
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= threads_before


def test_seeding_mistakes_name_what_is_missing(fake: FakeGitHub) -> None:
    with pytest.raises(KeyError, match="octo/other"):
        fake.add_issue("octo/other", title="x")
    with pytest.raises(KeyError, match="#99"):
        fake.add_issue_comment(REPO, 99, "x")

"""Every provider of the deployed commit: against the fake GitHub and a loopback version endpoint.

A provider that cannot answer gives a Deployment with sha=None and the reason; it never raises.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import graphql
import pytest

from dualdeploy import assessment, github
from dualdeploy.changes import Git
from dualdeploy.config import Component, DeployedSource
from dualdeploy.deployments import (
    ENVIRONMENTS_PER_QUERY,
    HISTORY_QUERY,
    MAX_DEPLOYMENTS_SCANNED,
    DeploymentReader,
    deployment_histories,
    latest_query,
    parse_given,
)
from dualdeploy.errors import DualDeployError
from fakegithub import FakeGitHub
from gitrepo import GitRepo

REPO = "octo/mono"
START = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("keep_request_count")  # every test here connects itself


def sha(number: int) -> str:
    return f"{number:040x}"


def component(name: str = "tenant-agent", deployed: DeployedSource | None = None) -> Component:
    return Component(name, "manual", ("server/src/agent-v2/deploy/tenant/**",), deployed=deployed)


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(REPO)
    fake_github.now = START
    return fake_github


def reader_for(fake: FakeGitHub, *, token: str = "test-token", **options) -> DeploymentReader:
    client = github.connect(token, base_url=fake.url, budget_seconds=5)
    return DeploymentReader(client.get_repo(REPO), **options)


def deploy(
    fake: FakeGitHub, commit: str, *states: str, environment: str = "tenant-agent", minutes: int = 0, **status
) -> int:
    """A deployment created `minutes` after START whose statuses follow one minute apart."""
    created = START + timedelta(minutes=minutes)
    deployment = fake.add_deployment(REPO, sha=commit, environment=environment, created_at=created)
    for index, state in enumerate(states, start=1):
        fake.add_deployment_status(REPO, deployment.id, state, created_at=created + timedelta(minutes=index), **status)
    return deployment.id


# --- github-deployment --------------------------------------------------------------------------


def test_newest_successful_deployment_gives_its_sha_and_status_time(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "in_progress", "success", minutes=0)
    deploy(fake, sha(2), "in_progress", "success", minutes=10, log_url="https://ci.example.com/run/2")
    deploy(fake, sha(3), "success", environment="support-agent", minutes=20)  # another environment
    deployment = reader_for(fake).read(component())
    assert deployment.sha == sha(2)
    assert deployment.deployed_at == int((START + timedelta(minutes=12)).timestamp())  # the success status
    assert deployment.source == "github-deployment:tenant-agent"
    assert deployment.url == "https://ci.example.com/run/2"
    assert not deployment.in_progress and not deployment.reason


def test_configured_environment_is_read(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "success", environment="tenant-production")
    deploy(fake, sha(2), "success", environment="tenant-agent", minutes=5)
    source = DeployedSource("github-deployment", environment="tenant-production")
    deployment = reader_for(fake).read(component(deployed=source))
    assert deployment.sha == sha(1) and deployment.source == "github-deployment:tenant-production"


def test_a_failed_newest_deployment_leaves_the_older_success(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "in_progress", "success", minutes=0)
    deploy(fake, sha(2), "in_progress", "failure", minutes=10)
    deploy(fake, sha(3), "error", minutes=20)
    deployment = reader_for(fake).read(component())
    assert deployment.sha == sha(1) and not deployment.in_progress


def test_a_success_marked_inactive_by_a_newer_one_does_not_win(fake: FakeGitHub) -> None:
    # GitHub marks older successful deployments inactive when a newer one succeeds.
    deploy(fake, sha(1), "success", minutes=0)
    deploy(fake, sha(2), "success", minutes=10)
    deploy(fake, sha(3), "failure", minutes=20)
    assert [s.state for s in fake.deployments(REPO)[-1].statuses] == ["success", "inactive"]
    assert reader_for(fake).read(component()).sha == sha(2)


@pytest.mark.parametrize("state", ["in_progress", "queued", "pending"])
def test_a_deploy_running_now_sets_in_progress(fake: FakeGitHub, state: str) -> None:
    deploy(fake, sha(1), "success", minutes=0)
    deploy(fake, sha(2), state, minutes=10)
    deployment = reader_for(fake).read(component())
    assert deployment.sha == sha(1) and deployment.in_progress


def test_a_first_deploy_in_progress_is_unknown_yet_flagged(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "in_progress")
    deployment = reader_for(fake).read(component())
    assert deployment.sha is None and deployment.in_progress
    assert "no successful deployment of environment 'tenant-agent'" in deployment.reason


def test_no_deployment_is_unknown_with_the_reason(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "success", environment="support-agent")
    deployment = reader_for(fake).read(component())
    assert deployment.sha is None
    assert deployment.reason == "no successful deployment of environment 'tenant-agent' yet"
    assert deployment.source == "github-deployment:tenant-agent"


def test_an_older_success_behind_many_failures_is_found(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "success", minutes=0)
    for index in range(2, 27):  # 25 newer failures
        deploy(fake, sha(index), "in_progress", "failure", minutes=index)
    assert reader_for(fake).read(component()).sha == sha(1)


def test_many_deployments_cost_one_graphql_query(fake: FakeGitHub) -> None:
    for index in range(1, 121):  # more than a page of 100
        deploy(fake, sha(index), "success", minutes=index)
    fake.reset_requests()
    assert reader_for(fake).read(component()).sha == sha(120)
    assert [(r.method, r.path) for r in fake.requests] == [("POST", "/graphql")]


def test_every_environment_is_read_in_one_query(fake: FakeGitHub) -> None:
    names = [f"agent-{index}" for index in range(ENVIRONMENTS_PER_QUERY + 1)]
    for minutes, name in enumerate(names):
        deploy(fake, sha(minutes + 1), "success", environment=name, minutes=minutes)
    reader = reader_for(fake)
    fake.reset_requests()

    reader.prefetch([component(name) for name in names])
    found = [reader.read(component(name)).sha for name in names]

    assert found == [sha(index + 1) for index in range(len(names))]
    assert len(fake.requests) == 2  # ENVIRONMENTS_PER_QUERY environments to a query


def test_only_the_newest_deployments_are_scanned(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "success", minutes=0)
    for index in range(2, MAX_DEPLOYMENTS_SCANNED + 2):
        deploy(fake, sha(index), "failure", minutes=index)
    deployment = reader_for(fake).read(component())
    assert deployment.sha is None
    assert str(MAX_DEPLOYMENTS_SCANNED) in deployment.reason  # says it gave up, not that there is none


def test_history_counts_successes_github_later_marked_inactive_at_their_success_time(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "in_progress", "success", minutes=0)
    deploy(fake, sha(2), "success", minutes=10)  # marks the first inactive
    deploy(fake, sha(3), "failure", minutes=20)
    deploy(fake, sha(4), "success", environment="support-agent", minutes=30)

    history = deployment_histories(reader_for(fake), [component(), component("support-agent")], 0)

    assert [(d.sha, d.deployed_at) for d in history["tenant-agent"]] == [
        (sha(1), int((START + timedelta(minutes=2)).timestamp())),
        (sha(2), int((START + timedelta(minutes=11)).timestamp())),
    ]
    assert [d.sha for d in history["support-agent"]] == [sha(4)]


def test_history_reads_pages_until_the_window_start_and_no_further(fake: FakeGitHub) -> None:
    for index in range(250):
        deploy(fake, sha(index + 1), "success", environment=("tenant-agent", "support-agent")[index % 2], minutes=index)
    since = int((START + timedelta(minutes=130)).timestamp())
    fake.reset_requests()

    history = deployment_histories(reader_for(fake), [component(), component("support-agent")], since)

    assert len(history["tenant-agent"]) + len(history["support-agent"]) == 120
    assert [r.path for r in fake.requests] == ["/graphql", "/graphql"]  # 100 a page; the 2nd reaches the start


def test_a_history_github_cannot_give_is_an_error_not_an_empty_one(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "success")
    fake.add_token("nodeploy", permissions={"contents": "read"})

    with pytest.raises(DualDeployError) as raised:
        deployment_histories(reader_for(fake, token="nodeploy"), [component()], 0)

    assert "`deployments: read`" in raised.value.message


def test_the_providers_queries_are_valid_against_githubs_schema() -> None:
    schema = graphql.build_schema((Path(__file__).parent / "github-graphql" / "schema-subset.graphql").read_text())

    for query in (latest_query(1), latest_query(ENVIRONMENTS_PER_QUERY), HISTORY_QUERY):
        assert graphql.validate(schema, graphql.parse(query)) == []


def test_a_token_without_deployments_permission_fails_naming_it(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "success")
    fake.add_token("nodeploy", permissions={"contents": "read"})
    with pytest.raises(github.PermissionMissing) as raised:
        reader_for(fake, token="nodeploy").read(component())
    assert "FORBIDDEN" in str(raised.value) and "`deployments: read`" in str(raised.value)


def test_github_down_fails_not_unknown(fake: FakeGitHub) -> None:
    fake.fail_next("POST", r"/graphql$", 502, times=50)
    client = github.connect("test-token", base_url=fake.url, budget_seconds=0.1)
    with pytest.raises(github.GitHubError) as raised:
        DeploymentReader(client.get_repo(REPO)).read(component())
    assert "could not read the deployments" in str(raised.value) and raised.value.exit_status == 2


def test_a_passing_5xx_is_retried(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "success")
    fake.fail_next("POST", r"/graphql$", 502)
    assert reader_for(fake).read(component()).sha == sha(1)


def test_without_a_token_github_sources_are_unknown() -> None:
    deployment = DeploymentReader(None).read(component())
    assert deployment.sha is None and "no GitHub token" in deployment.reason
    assert "`github-token`" in deployment.fix


def test_without_a_token_where_one_is_required_github_sources_fail() -> None:
    with pytest.raises(DualDeployError) as raised:
        DeploymentReader(None, token_required=True).read(component())
    assert "no GitHub token" in str(raised.value) and "`deployed-shas`" in str(raised.value)
    assert raised.value.exit_status == 2


# --- workflow -----------------------------------------------------------------------------------

WORKFLOW = DeployedSource("workflow", workflow="deploy-agents.yml")
MATRIX = DeployedSource("workflow", workflow="deploy-agents.yml", job="deploy (tenant-agent)")


def run(fake: FakeGitHub, commit: str, *, minutes: int, conclusion: str = "success", branch: str = "main", **options):
    created = START + timedelta(minutes=minutes)
    return fake.add_workflow_run(
        REPO,
        "deploy-agents.yml",
        head_sha=commit,
        head_branch=branch,
        conclusion=conclusion,
        created_at=created,
        updated_at=created + timedelta(minutes=3),
        **options,
    )


def test_workflow_newest_successful_run_on_the_default_branch(fake: FakeGitHub) -> None:
    run(fake, sha(1), minutes=0)
    newest_success = run(fake, sha(2), minutes=10)
    run(fake, sha(3), minutes=20, conclusion="failure")
    run(fake, sha(4), minutes=30, branch="feature")
    deployment = reader_for(fake).read(component(deployed=WORKFLOW))
    assert deployment.sha == sha(2)
    assert deployment.deployed_at == int((START + timedelta(minutes=13)).timestamp())  # completed
    assert deployment.url.endswith(f"/actions/runs/{newest_success.id}")
    assert deployment.source == "workflow:deploy-agents.yml"


def test_workflow_matrix_job_that_failed_in_the_newest_run(fake: FakeGitHub) -> None:
    run(
        fake,
        sha(1),
        minutes=0,
        jobs=[
            {"name": "deploy (tenant-agent)", "conclusion": "success", "completed_at": START + timedelta(minutes=2)},
            {"name": "deploy (support-agent)", "conclusion": "success"},
        ],
    )
    run(
        fake,
        sha(2),
        minutes=10,
        conclusion="failure",
        jobs=[
            {"name": "deploy (tenant-agent)", "conclusion": "failure"},
            {"name": "deploy (support-agent)", "conclusion": "success"},
        ],
    )
    reader = reader_for(fake)
    tenant = reader.read(component(deployed=MATRIX))
    assert tenant.sha == sha(1)
    assert tenant.deployed_at == int((START + timedelta(minutes=2)).timestamp())  # the job's completion
    assert tenant.source == "workflow:deploy-agents.yml job:deploy (tenant-agent)"
    support_source = DeployedSource("workflow", workflow="deploy-agents.yml", job="deploy (support-agent)")
    assert reader.read(component("support-agent", support_source)).sha == sha(2)


def test_workflow_default_branch_is_asked_of_github(fake: FakeGitHub) -> None:
    fake.add_repo("octo/trunk", default_branch="trunk")
    fake.add_workflow_run("octo/trunk", "deploy-agents.yml", head_sha=sha(7), head_branch="trunk")
    fake.add_workflow_run("octo/trunk", "deploy-agents.yml", head_sha=sha(8), head_branch="main")
    client = github.connect("test-token", base_url=fake.url, budget_seconds=5)
    reader = DeploymentReader(client.get_repo("octo/trunk"), default_branch=None)
    assert reader.read(component(deployed=WORKFLOW)).sha == sha(7)


@pytest.mark.parametrize("source", [WORKFLOW, MATRIX], ids=["whole-run", "matrix-job"])
def test_workflow_without_a_successful_run_is_unknown(fake: FakeGitHub, source: DeployedSource) -> None:
    run(fake, sha(1), minutes=0, conclusion="failure", jobs=[{"name": "deploy (tenant-agent)"}])
    run(fake, sha(2), minutes=5, branch="feature", jobs=[{"name": "deploy (tenant-agent)"}])
    deployment = reader_for(fake).read(component(deployed=source))
    assert deployment.sha is None
    assert "deploy-agents.yml" in deployment.reason and "main" in deployment.reason


def test_missing_workflow_fails(fake: FakeGitHub) -> None:
    with pytest.raises(github.GitHubError) as raised:
        reader_for(fake).read(component(deployed=DeployedSource("workflow", workflow="nope.yml")))
    assert "HTTP 404" in str(raised.value) and "'nope.yml'" in str(raised.value)


def test_workflow_token_without_actions_permission(fake: FakeGitHub) -> None:
    run(fake, sha(1), minutes=0)
    fake.add_token("noactions", permissions={"contents": "read", "deployments": "read"})
    with pytest.raises(github.PermissionMissing) as raised:
        reader_for(fake, token="noactions").read(component(deployed=WORKFLOW))
    assert "`actions: read`" in str(raised.value)


# --- deployed-shas ------------------------------------------------------------------------------


def test_given_shas_win_over_every_source(fake: FakeGitHub) -> None:
    deploy(fake, sha(1), "success")
    fake.reset_requests()
    reader = reader_for(fake, given=parse_given(json.dumps({"tenant-agent": sha(9)})))
    deployment = reader.read(component())
    assert deployment.sha == sha(9) and deployment.source == "deployed-shas input"
    assert fake.requests == []


@pytest.mark.parametrize("text", ["not json", "[1]", '{"tenant-agent": 5}'])
def test_bad_deployed_shas_input_is_a_user_error(text: str) -> None:
    with pytest.raises(DualDeployError) as error:
        parse_given(text)
    assert error.value.key == "deployed-shas"


def test_empty_deployed_shas_input_is_nothing() -> None:
    assert parse_given("") == parse_given("  ") == parse_given(None) == {}


# --- url ----------------------------------------------------------------------------------------

FULL = "0123456789abcdef0123456789abcdef01234567"


class VersionHandler(BaseHTTPRequestHandler):
    routes = {
        "/version": (200, json.dumps({"git": {"sha": FULL.upper()}, "name": "tenant"})),
        "/missing-field": (200, json.dumps({"git": {"branch": "main"}})),
        "/not-an-object": (200, json.dumps({"git": ["a", "b"]})),
        "/not-a-sha": (200, json.dumps({"git": {"sha": "v1.2.3"}})),
        "/number": (200, json.dumps({"git": {"sha": 1234567}})),
        "/garbage": (200, "<html>oops</html>"),
        "/broken": (200, b"\xff\xfe{"),
        "/gone": (404, "{}"),
        "/error": (500, "boom"),
    }

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.0)
            status, body = 200, json.dumps({"git": {"sha": FULL}})
        elif self.path == "/truncated":  # promises more than it sends, then hangs up
            self.send_response(200)
            self.send_header("content-length", "100")
            self.end_headers()
            self.wfile.write(b'{"git": ')
            return
        elif self.path.startswith("/short/"):
            status, body = 200, json.dumps({"git": {"sha": self.path.rsplit("/", 1)[-1]}})
        else:
            status, body = self.routes.get(self.path, (404, "{}"))
        payload = body if isinstance(body, bytes) else body.encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the reader timed out and went away

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def version_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), VersionHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def read_url(base: str, path: str, field: str = "git.sha", *, timeout: float = 2.0):
    source = DeployedSource("url", url=f"{base}{path}", field=field)
    return DeploymentReader(None, url_timeout=timeout).read(component(deployed=source))


def test_url_reports_the_sha_at_a_dotted_field(version_server: str) -> None:
    deployment = read_url(version_server, "/version")
    assert deployment.sha == FULL  # lower-cased
    assert deployment.source == f"url:{version_server}/version" and deployment.url == f"{version_server}/version"


@pytest.mark.parametrize(
    ("path", "field", "reason"),
    [
        ("/gone", "git.sha", "answered HTTP 404"),
        ("/error", "git.sha", "answered HTTP 500"),
        ("/garbage", "git.sha", "did not return JSON"),
        ("/broken", "git.sha", "did not return JSON"),
        ("/missing-field", "git.sha", "has no commit sha at 'git.sha'"),
        ("/version", "build.sha", "has no commit sha at 'build.sha'"),
        ("/version", "name", "has no commit sha at 'name' (got 'tenant')"),
        ("/not-an-object", "git.sha", "has no commit sha at 'git.sha'"),
        ("/not-a-sha", "git.sha", "has no commit sha at 'git.sha' (got 'v1.2.3')"),
        ("/number", "git.sha", "has no commit sha at 'git.sha'"),
    ],
)
def test_url_that_cannot_answer_is_unknown(version_server: str, path: str, field: str, reason: str) -> None:
    deployment = read_url(version_server, path, field)
    assert deployment.sha is None
    assert reason in deployment.reason, deployment.reason


def test_url_timeout_is_unknown(version_server: str) -> None:
    started = time.monotonic()
    deployment = read_url(version_server, "/slow", timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert deployment.sha is None and "did not answer" in deployment.reason


def test_url_cut_off_mid_answer_is_unknown(version_server: str) -> None:
    deployment = read_url(version_server, "/truncated")
    assert deployment.sha is None and deployment.reason.startswith(f"{version_server}/truncated ")


def test_url_answering_something_else_than_http_is_unknown() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    with listener:
        deployment = read_url(f"http://127.0.0.1:{listener.getsockname()[1]}", "/version")
    thread.join(timeout=2)
    assert deployment.sha is None and "did not answer" in deployment.reason


def test_url_nobody_listening_is_unknown() -> None:
    deployment = read_url("http://127.0.0.1:9", "/version", timeout=1)
    assert deployment.sha is None and "did not answer" in deployment.reason


def test_url_short_sha_is_resolved_in_the_repository(version_server: str, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mono")
    full = repo.commit("base", {"a.txt": "1"})
    git = Git(repo.path)
    deployment = assessment.resolve_sha(git, read_url(version_server, f"/short/{full[:8]}"))
    assert deployment.sha == full
    unknown = assessment.resolve_sha(git, read_url(version_server, "/short/abcdef12"))
    assert unknown.sha == "abcdef12"  # left as is: classify calls it unknown with the reason

"""`dualdeploy record`: a GitHub deployment with a status, once per workflow run and attempt."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualdeploy import github
from dualdeploy.config import load_config
from dualdeploy.deployments import DeploymentReader
from fakegithub import FakeGitHub
from gitrepo import GitRepo
from runner import Dualdeploy, Run, annotations

REPO = "octo/mono"

CONFIG = """\
version: 1
components:
  api:
    deploy: auto
    paths: ["server/**", "!server/agents/**"]
  tenant-agent:
    deploy: manual
    paths: ["server/agents/tenant/**"]
    deploy-workflow: deploy-agents.yml
  support-agent:
    deploy: manual
    paths: ["server/agents/support/**"]
    deployed:
      github-deployment: support-production
  billing-agent:
    deploy: manual
    paths: ["server/agents/billing/**"]
    deployed:
      workflow: deploy-agents.yml
      job: deploy (billing-agent)
"""
RUN_URL = f"https://github.com/{REPO}/actions/runs/4242"
pytestmark = pytest.mark.usefixtures("keep_request_count")  # one test reads with a client of its own


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {".github/dual-deploy.yml": CONFIG, "server/agents/tenant/index.ts": "1"})
    repo.commit("tenant change", {"server/agents/tenant/index.ts": "2"})
    return repo


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(REPO)
    return fake_github


def record(
    dualdeploy: Dualdeploy,
    fake: FakeGitHub | None,
    repo: GitRepo,
    *args: str,
    run_id: str = "4242",
    attempt: str = "1",
    **env: str | None,
) -> Run:
    return dualdeploy(
        "record",
        "--repo",
        str(repo.path),
        *args,
        env={
            **(fake.env() if fake else {"GITHUB_TOKEN": None}),
            "GITHUB_RUN_ID": run_id,
            "GITHUB_RUN_ATTEMPT": attempt,
            "GITHUB_SHA": repo.head(),
            **env,
        },
    )


def writes(fake: FakeGitHub) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request in fake.requests if request.method != "GET"]


def test_creates_a_deployment_with_payload_and_success_status(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    result = record(
        dualdeploy, fake, repo, "--component", "tenant-agent", "--environment-url", "https://tenant.example.com"
    )
    assert result.returncode == 0, result.stderr
    [deployment] = fake.deployments(REPO)
    assert deployment.sha == repo.head()  # GITHUB_SHA by default
    assert deployment.environment == "tenant-agent"
    assert deployment.payload == {"dualdeploy_run": "4242/1", "component": "tenant-agent"}
    assert deployment.production_environment is True
    [status] = deployment.statuses
    assert status.state == "success"
    assert status.environment_url == "https://tenant.example.com"
    assert status.log_url == RUN_URL
    assert result.outputs == {"deployment-id": str(deployment.id), "environment": "tenant-agent"}
    assert f"recorded: tenant-agent at {repo.head()[:12]} in environment 'tenant-agent' is success" in result.stdout


def test_the_recorded_deployment_is_what_the_provider_reads(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    deployed = repo.git("rev-parse", "HEAD~1")
    assert record(dualdeploy, fake, repo, "--component", "support-agent", "--sha", deployed).returncode == 0
    [deployment] = fake.deployments(REPO)
    assert deployment.environment == "support-production"  # from the component's `deployed:` source
    config = load_config(repo.path / ".github/dual-deploy.yml")
    reader = DeploymentReader(github.connect("test-token", base_url=fake.url).get_repo(REPO))
    read = reader.read(config.component("support-agent"))
    assert read.sha == deployed and read.url == RUN_URL


def test_rerun_of_the_same_run_changes_nothing(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    args = ("--component", "tenant-agent", "--environment-url", "https://tenant.example.com")
    record(dualdeploy, fake, repo, *args)
    fake.reset_requests()
    result = record(dualdeploy, fake, repo, *args)
    assert result.returncode == 0, result.stderr
    assert "already recorded" in result.stdout
    [deployment] = fake.deployments(REPO)
    assert len(deployment.statuses) == 1
    assert writes(fake) == []
    assert result.outputs["deployment-id"] == str(deployment.id)


def test_state_change_adds_a_status_to_the_same_deployment(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    assert record(dualdeploy, fake, repo, "--component", "tenant-agent", "--state", "in_progress").returncode == 0
    result = record(dualdeploy, fake, repo, "--component", "tenant-agent", DD_STATE="success")
    assert result.returncode == 0, result.stderr
    [deployment] = fake.deployments(REPO)
    assert [status.state for status in deployment.statuses] == ["in_progress", "success"]
    record(dualdeploy, fake, repo, "--component", "tenant-agent", "--state", "success")
    assert len(fake.deployments(REPO)[0].statuses) == 2


def test_a_failed_deploy_is_recorded_as_failure(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    record(dualdeploy, fake, repo, "--component", "tenant-agent", "--state", "in_progress")
    record(dualdeploy, fake, repo, "--component", "tenant-agent", "--state", "failure")
    [deployment] = fake.deployments(REPO)
    assert [status.state for status in deployment.statuses] == ["in_progress", "failure"]


def test_a_new_attempt_or_run_is_a_new_deployment(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    record(dualdeploy, fake, repo, "--component", "tenant-agent")
    record(dualdeploy, fake, repo, "--component", "tenant-agent", attempt="2")
    record(dualdeploy, fake, repo, "--component", "tenant-agent", run_id="4300")
    payloads = [deployment.payload["dualdeploy_run"] for deployment in fake.deployments(REPO)]
    assert payloads == ["4300/1", "4242/2", "4242/1"]


def test_another_component_at_the_same_sha_is_its_own_deployment(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    record(dualdeploy, fake, repo, "--component", "tenant-agent")
    record(dualdeploy, fake, repo, "--component", "api")
    assert sorted(deployment.environment for deployment in fake.deployments(REPO)) == ["api", "tenant-agent"]


def test_a_component_read_from_elsewhere_warns(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    result = record(dualdeploy, fake, repo, "--component", "billing-agent")
    assert result.returncode == 0, result.stderr
    warnings = annotations(result, "warning")
    assert len(warnings) == 1 and "reads its deployed commit from workflow" in warnings[0]
    assert len(fake.deployments(REPO)) == 1


def test_without_a_token_it_is_a_dry_run(dualdeploy: Dualdeploy, repo: GitRepo) -> None:
    result = record(dualdeploy, None, repo, "--component", "tenant-agent", GITHUB_ACTIONS=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"dry run (no token): would record tenant-agent at {repo.head()[:12]} "
        "in environment 'tenant-agent' as success\n"
    )
    # In a workflow nothing would be recorded, and every later check would go blind: fail instead.
    in_actions = record(dualdeploy, None, repo, "--component", "tenant-agent")
    assert in_actions.returncode == 2
    assert "no GitHub token" in in_actions.stderr and "deployments: write" in in_actions.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--component", "tenant-agnet"), "no component 'tenant-agnet'"),
        (("--component", "tenant-agnet"), "did you mean 'tenant-agent'?"),
        (("--component", "tenant-agent", "--state", "done"), "state: must be one of in_progress, queued"),
        (("--component", "tenant-agent", "--sha", "nope"), "--sha 'nope' is not a commit"),
        ((), "the following arguments are required: --component"),
    ],
)
def test_usage_errors_exit_2(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo, args: tuple[str, ...], message: str
) -> None:
    result = record(dualdeploy, fake, repo, *args)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("dualdeploy: error: ") and message in line, line
    assert fake.deployments(REPO) == []


def test_a_read_only_token_fails_naming_the_permission(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    fake.add_token("read-only", write=False)
    result = record(dualdeploy, fake, repo, "--component", "tenant-agent", GITHUB_TOKEN="read-only")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("dualdeploy: error: github: GitHub: could not create a deployment of 'tenant-agent'")
    assert "HTTP 403" in line and "`deployments: write`" in line
    [annotation] = annotations(result, "error")
    assert "deployments: write" in annotation
    assert fake.deployments(REPO) == []


def test_a_token_without_deployments_at_all(dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo) -> None:
    fake.add_token("contents-only", permissions={"contents": "read"})
    result = record(dualdeploy, fake, repo, "--component", "tenant-agent", GITHUB_TOKEN="contents-only")
    assert result.returncode == 2
    assert "`deployments: read`" in result.stderr


def test_other_tools_deployments_at_the_same_sha_are_left_alone(
    dualdeploy: Dualdeploy, fake: FakeGitHub, repo: GitRepo
) -> None:
    # Other tools create deployments too, some with a string payload (GitHub allows it).
    fake.add_deployment(REPO, sha=repo.head(), environment="tenant-agent", payload="deployed by hand")
    fake.add_deployment(REPO, sha=repo.head(), environment="tenant-agent", payload={"dualdeploy_run": "1/1"})
    result = record(dualdeploy, fake, repo, "--component", "tenant-agent")
    assert result.returncode == 0, result.stderr
    ours, *others = fake.deployments(REPO)
    assert ours.payload["dualdeploy_run"] == "4242/1" and [s.state for s in ours.statuses] == ["success"]
    assert len(others) == 2 and all(not other.statuses for other in others)

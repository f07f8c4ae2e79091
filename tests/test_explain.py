"""`dualdeploy explain`: why isn't my change live? On the example monorepo, built by the test."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dualdeploy.changes import Git
from dualdeploy.config import load_config
from dualdeploy.drift import Deployment
from dualdeploy.explain import DEPLOYED, PENDING, UNKNOWN, Change, explain
from fakegithub import FakeGitHub
from gitrepo import CONFIG_PATH, EXAMPLE_MONOREPO, GitRepo, at, example_monorepo
from runner import Dualdeploy, Run, run_process

REPO = "octo/mono"
TENANT = "server/src/agent-v2/deploy/tenant/index.ts"
CONTRACTS = "packages/contracts/src/index.ts"
ROUTE = "server/src/routes/hello.ts"
TENANT_RUN = "gh workflow run deploy-agents.yml --ref main -f 'agents=[\"tenant-agent\"]'"
DEPLOYED_AT = datetime(2026, 11, 25, 16, 40, tzinfo=timezone.utc)


class History:
    """The example monorepo with one commit per kind of change, oldest first."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.initial = repo.head()
        self.tenant = repo.commit("Teach the tenant agent about plans (#41)", {TENANT: "plans\n"}, date=at(100))
        self.contracts = repo.commit("Share the plan contract (#42)", {CONTRACTS: "contract\n"}, date=at(200))
        self.route = repo.commit("API: hello in French (#43)", {ROUTE: "bonjour\n"}, date=at(300))


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(example_monorepo(tmp_path / "mono", date=at(0)))


def explain_cli(dualdeploy: Dualdeploy, history: History, *args: str, shas: dict | None = None, **env: str) -> Run:
    given = ["--deployed-shas", json.dumps(shas)] if shas is not None else []
    return dualdeploy("explain", "--repo", str(history.repo.path), *given, *args, env={"GITHUB_TOKEN": None, **env})


def document(run: Run) -> dict:
    """stdout as JSON; in Actions the token's ::add-mask:: line comes first (the runner hides it)."""
    return json.loads("\n".join(line for line in run.stdout.splitlines() if not line.startswith("::")))


def answers(run: Run) -> dict[str, dict]:
    return {component["name"]: component for component in document(run)["components"]}


# --- the four acceptance cases --------------------------------------------------------------------


def test_a_deployed_commit_names_the_deploy(dualdeploy: Dualdeploy, fake_github: FakeGitHub, history: History) -> None:
    fake_github.add_repo(REPO)
    deployment = fake_github.add_deployment(REPO, sha=history.route, environment="tenant-agent", created_at=DEPLOYED_AT)
    run_url = f"https://github.com/{REPO}/actions/runs/77"
    fake_github.add_deployment_status(REPO, deployment.id, "success", log_url=run_url)

    run = explain_cli(dualdeploy, history, "--commit", history.tenant[:10], **fake_github.env())
    assert run.returncode == 0, run.stderr
    assert f'Commit {history.tenant[:12]} "Teach the tenant agent about plans (#41)"' in run.stdout
    assert "tenant-agent (manual deploy): DEPLOYED" in run.stdout
    assert f"It runs {history.route[:12]}, deployed" in run.stdout and "which contains the change" in run.stdout
    assert f"Deployed by: {run_url}" in run.stdout

    run = explain_cli(dualdeploy, history, "--commit", history.tenant, "--format", "json", **fake_github.env())
    found = document(run)
    (tenant,) = found["components"]
    assert found["commit"] == history.tenant
    assert tenant == {
        "name": "tenant-agent",
        "deploy": "manual",
        "via": [],
        "status": "deployed",
        "deployed_sha": history.route,
        "deployed_at": tenant["deployed_at"],
        "run": run_url,
    }
    assert isinstance(tenant["deployed_at"], int)
    assert "DEPLOYED" in run.stderr  # the text for people goes to stderr, the JSON alone to stdout


def test_a_pending_commit_names_what_to_run(dualdeploy: Dualdeploy, history: History) -> None:
    run = explain_cli(dualdeploy, history, "--commit", history.tenant, shas={"tenant-agent": history.initial})
    assert run.returncode == 0, "pending is an answer, not a failure"
    assert "tenant-agent (manual deploy): PENDING" in run.stdout
    assert f"It runs {history.initial[:12]}, which does not contain the change." in run.stdout
    assert f"Run: {TENANT_RUN}" in run.stdout
    assert f"https://github.com/{REPO}/actions/workflows/deploy-agents.yml" in run.stdout
    assert "Owners: @acme/agents-team" in run.stdout

    run = explain_cli(
        dualdeploy, history, "--commit", history.tenant, "--format", "json", shas={"tenant-agent": history.initial}
    )
    assert answers(run)["tenant-agent"]["status"] == PENDING
    assert answers(run)["tenant-agent"]["deployed_sha"] == history.initial

    run = explain_cli(
        dualdeploy, history, "--commit", history.tenant, "--fail-on-pending", shas={"tenant-agent": history.initial}
    )
    assert run.returncode == 1


def test_a_commit_that_touches_only_auto_components(dualdeploy: Dualdeploy, history: History) -> None:
    run = explain_cli(
        dualdeploy, history, "--commit", history.route, "--format", "json", shas={"api": history.contracts}
    )
    assert run.returncode == 0
    assert answers(run) == {
        "api": {
            "name": "api",
            "deploy": "auto",
            "via": [],
            "status": "pending",
            "deployed_sha": history.contracts,
            "deployed_at": None,
            "run": None,
        }
    }
    assert "api (deploys automatically): PENDING" in run.stderr
    assert "its deploy has not run yet, is running, or failed" in run.stderr

    run = explain_cli(dualdeploy, history, "--commit", history.route, shas={"api": history.route})
    assert "api (deploys automatically): DEPLOYED" in run.stdout


def test_a_commit_through_a_shared_group(dualdeploy: Dualdeploy, history: History) -> None:
    shas = {
        "tenant-agent": history.route,
        "support-agent": history.tenant,
        "billing-agent": history.contracts,
        "client": history.route,
    }
    run = explain_cli(dualdeploy, history, "--commit", history.contracts, "--format", "json", shas=shas)
    assert run.returncode == 0, run.stderr
    found = answers(run)
    assert list(found) == ["billing-agent", "client", "support-agent", "tenant-agent"]
    assert {name: (a["via"], a["status"]) for name, a in found.items()} == {
        "billing-agent": (["agent-shared"], DEPLOYED),
        "client": ([], DEPLOYED),  # the contracts are among the client's own paths
        "support-agent": (["agent-shared"], PENDING),
        "tenant-agent": (["agent-shared"], DEPLOYED),
    }
    assert "api" not in found, "only the impacted components"
    run = explain_cli(dualdeploy, history, "--commit", history.contracts, shas=shas)
    assert "support-agent (manual deploy, via shared agent-shared): PENDING" in run.stdout
    assert "Run: gh workflow run deploy-agents.yml --ref main -f 'agents=[\"support-agent\"]'" in run.stdout


# --- fail closed -----------------------------------------------------------------------------------


def test_unknown_is_never_deployed_and_exits_2(dualdeploy: Dualdeploy, history: History) -> None:
    run = explain_cli(dualdeploy, history, "--commit", history.contracts, "--format", "json", shas={})
    assert run.returncode == 2
    assert {a["status"] for a in answers(run).values()} == {UNKNOWN}
    assert "could not see what 4 component(s) run" in run.stderr and "--deployed-shas" in run.stderr
    assert "::error title=dualdeploy explain%3A billing-agent unknown::" in run.stderr
    assert run.stdout.count("\n") == 1, "stdout holds the JSON only"

    run = explain_cli(dualdeploy, history, "--commit", history.contracts, "--on-unknown", "warn", shas={})
    assert run.returncode == 0
    assert "Cannot tell whether it runs the change: no GitHub token" in run.stdout


def test_a_deployed_commit_missing_from_the_clone_is_unknown(dualdeploy: Dualdeploy, history: History) -> None:
    run = explain_cli(dualdeploy, history, "--commit", history.tenant, shas={"tenant-agent": "f" * 40})
    assert run.returncode == 2
    assert "tenant-agent (manual deploy): UNKNOWN" in run.stdout
    assert "is not in this clone's history" in run.stdout


def test_a_change_to_no_component(dualdeploy: Dualdeploy, history: History) -> None:
    readme = history.repo.commit("Docs only", {"README.md": "hello\n"}, date=at(400))
    run = explain_cli(dualdeploy, history, "--commit", readme, "--format", "json", shas={})
    assert run.returncode == 0
    assert json.loads(run.stdout) == {"commit": readme, "components": []}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one of --commit SHA, --pr NUMBER or a path"),
        (("--commit", "HEAD", "--pr", "3"), "exactly one of"),
        (("--commit", "nope"), "--commit 'nope' is not a commit"),
        (("--commit", "nope"), "check the name (a sha, branch or tag)"),
        (("--pr", "x1"), "--pr: must be a pull request number"),
        (("--pr", "99"), "no merge or squash commit of pull request #99 on main"),
        (("no/such/path",), "no commit on main changed 'no/such/path'"),
        (("--commit", "HEAD", "--on-unknown", "ignore"), "--on-unknown: must be 'fail' or 'warn'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(dualdeploy: Dualdeploy, history: History, args, message) -> None:
    run = explain_cli(dualdeploy, history, *args, shas={})
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


# --- a pull request, a path --------------------------------------------------------------------------


def test_a_pull_request_without_a_token_is_its_squash_or_merge_commit(dualdeploy: Dualdeploy, history: History) -> None:
    run = explain_cli(dualdeploy, history, "--pr", "#41", "--format", "json", shas={"tenant-agent": history.initial})
    assert document(run)["commit"] == history.tenant
    repo = history.repo
    repo.checkout("feature", new=True)
    repo.commit("Billing: retries", {"server/src/agent-v2/deploy/billing/index.ts": "retry\n"}, date=at(500))
    repo.checkout("main")
    repo.git("merge", "--no-ff", "-m", "Merge pull request #44 from octo/feature", "feature", date=at(600))
    merge = repo.head()
    run = explain_cli(dualdeploy, history, "--pr", "44", shas={"billing-agent": history.route})
    assert f'Pull request #44: merged as {merge[:12]} "Merge pull request #44 from octo/feature"' in run.stdout
    assert "billing-agent (manual deploy): PENDING" in run.stdout
    run = explain_cli(dualdeploy, history, "--pr", "44", shas={"billing-agent": merge})
    assert "billing-agent (manual deploy): DEPLOYED" in run.stdout


def test_a_pull_request_from_github(dualdeploy: Dualdeploy, fake_github: FakeGitHub, history: History) -> None:
    fake_github.add_repo(REPO)
    repo = history.repo
    # Merged by squash: GitHub names the commit; its subject does not mention the number.
    repo.commit("Tenant answers in French", {TENANT: "fr\n"}, date=at(500))
    squash = repo.head()
    fake_github.add_pull(
        REPO, 50, head_sha=squash, base_sha=history.route, merged_at=DEPLOYED_AT, merge_commit_sha=squash
    )
    # Still open: a branch off main that changes the shared contracts.
    repo.checkout("open-work", new=True)
    head = repo.commit("Contracts v2", {CONTRACTS: "v2\n"}, date=at(600))
    repo.checkout("main")
    fake_github.add_pull(REPO, 51, head_sha=head, head_ref="open-work", base_sha=squash)
    shas = {"tenant-agent": squash, "support-agent": squash, "billing-agent": squash, "client": squash}

    run = explain_cli(dualdeploy, history, "--pr", "50", "--format", "json", shas=shas, **fake_github.env())
    assert run.returncode == 0, run.stderr
    assert document(run)["commit"] == squash
    assert answers(run)["tenant-agent"]["status"] == DEPLOYED

    run = explain_cli(dualdeploy, history, "--pr", "51", shas=shas, **fake_github.env())
    assert run.returncode == 0, run.stderr
    assert f"Pull request #51: not merged into main yet; its head is {head[:12]}" in run.stdout
    assert "support-agent (manual deploy, via shared agent-shared): PENDING" in run.stdout
    assert "Merge it into main first; then run: gh workflow run deploy-agents.yml" in run.stdout
    assert "client (deploys automatically): PENDING" in run.stdout
    assert "Merge it into main first; then it deploys automatically." in run.stdout


def test_a_pull_request_whose_commits_are_not_in_the_clone_uses_githubs_file_list(
    dualdeploy: Dualdeploy, fake_github: FakeGitHub, history: History
) -> None:
    fake_github.add_repo(REPO)
    fake_github.add_pull(REPO, 60, head_sha="e" * 40, base_sha=history.route, files=[TENANT, ROUTE])
    run = explain_cli(
        dualdeploy,
        history,
        "--pr",
        "60",
        "--format",
        "json",
        shas={"tenant-agent": history.route, "api": history.route},
    )
    assert run.returncode == 2, "no token: only the local history, which lacks the pull request"
    run = explain_cli(
        dualdeploy,
        history,
        "--pr",
        "60",
        "--format",
        "json",
        shas={"tenant-agent": history.route, "api": history.route},
        **fake_github.env(),
    )
    assert run.returncode == 0, run.stderr
    assert {name: a["status"] for name, a in answers(run).items()} == {"api": PENDING, "tenant-agent": PENDING}


def test_a_path_explains_the_newest_commit_that_changed_it(dualdeploy: Dualdeploy, history: History) -> None:
    later = history.repo.commit("Tenant: shorter answers", {TENANT: "short\n", ROUTE: "hi\n"}, date=at(700))
    run = explain_cli(dualdeploy, history, TENANT, shas={"tenant-agent": history.route})
    assert f'The newest change to {TENANT} on main: commit {later[:12]} "Tenant: shorter answers"' in run.stdout
    assert "It changes 1 component:" in run.stdout, "only what the path reaches, not the route in the same commit"
    assert "tenant-agent (manual deploy): PENDING" in run.stdout
    run = explain_cli(dualdeploy, history, "server/src/agent-v2/deploy", shas={"tenant-agent": later})
    assert "tenant-agent (manual deploy): DEPLOYED" in run.stdout


# --- the core, with plain values ------------------------------------------------------------------------


def test_core_never_calls_an_unreadable_deployment_deployed() -> None:
    config = load_config(EXAMPLE_MONOREPO / CONFIG_PATH)
    change = Change("c" * 40, "subject", (CONTRACTS,), "commit")
    deployments = {
        "tenant-agent": Deployment("tenant-agent", None, reason="no successful deployment yet"),
        "support-agent": Deployment("support-agent", "a" * 40, in_progress=True),
        "billing-agent": Deployment("billing-agent", "b" * 40),
        "client": Deployment("client", "d" * 40, deployed_at=5, url="https://ci/run/1"),
    }
    contained = {"a" * 40: False, "b" * 40: None, "d" * 40: True}
    result = explain(config, change, deployments, lambda deployed, commit: contained[deployed])
    by_name = {answer.name: answer for answer in result.components}
    assert by_name["tenant-agent"].status == UNKNOWN and "no successful deployment" in by_name["tenant-agent"].reason
    assert by_name["support-agent"].status == PENDING and by_name["support-agent"].deploying
    assert by_name["billing-agent"].status == UNKNOWN
    assert by_name["client"].to_json() == {
        "name": "client",
        "deploy": "auto",
        "via": [],
        "status": DEPLOYED,
        "deployed_sha": "d" * 40,
        "deployed_at": 5,
        "run": "https://ci/run/1",
    }


def test_git_helpers(history: History) -> None:
    git = Git(history.repo.path)
    assert git.commit_paths(history.contracts) == (CONTRACTS,)
    assert "server/src/index.ts" in git.commit_paths(history.initial)  # a root commit: every file
    assert git.commit_paths(history.route, "packages") == ()
    assert git.is_ancestor(history.tenant, history.route) and not git.is_ancestor(history.route, history.tenant)
    assert git.newest_commit("main", "server/src/agent-v2/deploy/tenant") == history.tenant


def test_the_pr_comment_tells_how_to_check_after_the_deploy(dualdeploy: Dualdeploy, history: History) -> None:
    run = dualdeploy(
        "detect",
        "--repo",
        str(history.repo.path),
        "--base",
        history.initial,
        "--head",
        history.contracts,
        "--format",
        "markdown",
        env={"GITHUB_TOKEN": None},
    )
    assert "check that each component runs this change: `dualdeploy explain --pr <number>`" in run.stdout


def test_a_shallow_clone_does_not_take_a_cut_off_commit_for_one_that_adds_every_file(
    dualdeploy: Dualdeploy, history: History, tmp_path: Path
) -> None:
    """In a `fetch-depth: 1` clone the newest commit has no parent locally: diffing it against the
    empty tree would say it changes every component. It is deepened from origin instead, and
    without an origin to deepen from the answer is an error, never the whole tree."""
    clone = tmp_path / "shallow"
    history.repo.git("clone", "--quiet", "--depth", "1", f"file://{history.repo.path}", str(clone))
    route = history.route
    run = dualdeploy(
        "explain", "--repo", str(clone), "--commit", route, "--format", "json",
        "--deployed-shas", json.dumps({"api": route}), env={"GITHUB_TOKEN": None},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert [component["name"] for component in document(run)["components"]] == ["api"]

    history.repo.git("-C", str(clone), "remote", "remove", "origin")
    history.repo.git("-C", str(clone), "fetch", "--quiet", "--depth", "1", f"file://{history.repo.path}", "main")
    cut = dualdeploy(
        "explain", "--repo", str(clone), "--commit", route, "--format", "json",
        "--deployed-shas", json.dumps({"api": route}), env={"GITHUB_TOKEN": None},
    )  # fmt: skip
    assert cut.returncode == 2, cut.stdout
    assert '"components"' not in cut.stdout
    assert "shallow" in cut.stderr and "fetch-depth: 0" in cut.stderr and "Traceback" not in cut.stderr


def test_a_path_in_a_shallow_clone_finds_its_real_newest_commit(
    dualdeploy: Dualdeploy, history: History, tmp_path: Path
) -> None:
    """At the edge of a depth-1 clone every file looks added; `explain <path>` deepens from origin
    and answers with the commit that really changed the path (the tenant agent's), not the edge."""
    clone = tmp_path / "shallow"
    history.repo.git("clone", "--quiet", "--depth", "1", f"file://{history.repo.path}", str(clone))
    run = dualdeploy(
        "explain", "--repo", str(clone), TENANT, "--format", "json",
        "--deployed-shas", json.dumps({"tenant-agent": history.route}), env={"GITHUB_TOKEN": None},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert document(run)["commit"] == history.tenant
    assert [component["name"] for component in document(run)["components"]] == ["tenant-agent"]


def test_a_path_in_a_repository_without_commits_is_a_clear_error(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "empty")
    repo.write({CONFIG_PATH: (EXAMPLE_MONOREPO / CONFIG_PATH).read_text()})
    result = run_process("explain", "--repo", str(repo.path), TENANT, env={"GITHUB_TOKEN": None})
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "no commit" in line and "git log failed" not in line, line


def test_an_unknown_says_the_fix_for_its_own_cause(dualdeploy: Dualdeploy, history: History) -> None:
    """A version URL that does not answer is not fixed by a token: the one-line error gives the
    fix of that source (the URL under `deployed:`), as the sync check does."""
    config = (
        (history.repo.path / CONFIG_PATH)
        .read_text()
        .replace(
            "    deploy-workflow: deploy-agents.yml\n",
            "    deploy-workflow: deploy-agents.yml\n    deployed:\n      url: http://127.0.0.1:9/version\n"
            "      field: git.sha\n",
            1,
        )
    )
    history.repo.commit("Tenant version URL", {CONFIG_PATH: config}, date=at(400))
    run = explain_cli(dualdeploy, history, "--commit", history.tenant, shas={})
    assert run.returncode == 2
    [line] = [text for text in run.stderr.splitlines() if text.startswith("dualdeploy: error:")]
    assert "did not answer" in line and "version URL under `deployed:`" in line, line
    assert "token" not in line, line


def test_a_shallow_clone_fetches_the_deployed_commit_and_answers_like_a_full_clone(
    dualdeploy: Dualdeploy, history: History, tmp_path: Path
) -> None:
    """History on demand: in a depth-1 clone the deployed commit (the first one, three commits back)
    is missing; explain fetches it from origin and answers `pending`, as a full clone does, never
    `unknown` for lack of a fetch."""
    clone = tmp_path / "shallow"
    history.repo.git(
        "clone", "--quiet", "--depth", "1", "--no-single-branch", f"file://{history.repo.path}", str(clone)
    )
    given = json.dumps({"api": history.initial})
    answers_of = {}
    for name, folder in (("full", history.repo.path), ("shallow", clone)):
        run = dualdeploy(
            "explain", "--repo", str(folder), "--commit", history.route, "--format", "json",
            "--deployed-shas", given, env={"GITHUB_TOKEN": None},
        )  # fmt: skip
        assert run.returncode == 0, (name, run.stderr)
        answers_of[name] = [(c["name"], c["status"]) for c in document(run)["components"]]
    assert answers_of["shallow"] == answers_of["full"] == [("api", PENDING)]

"""detect on a fork's pull request: under pull_request_target it reads the fork's commits as objects
from `refs/pull/N/head`, judges them by the base branch's config, and comments and labels; under
plain pull_request it writes the summary and a warning that points to the pull_request_target example.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from fakegithub import FakeGitHub
from gitrepo import CONFIG_PATH, EXAMPLE_CONFIG, GitRepo, example_feature_branch
from runner import Dualdeploy, Run

REPO = "octo/mono"
FORK = "someone/mono"
PULL = 7
MARKER = "<!-- dualdeploy:detect-agent-impact -->"
TENANT = "server/src/agent-v2/deploy/tenant/index.ts"
CONFIG_NOTE = "this pull request's config change takes effect only after merge"


def without_tenant_agent(config: str) -> str:
    return re.sub(r"  tenant-agent:\n(    .*\n)+", "", config)


def make_origin(path: Path, files: dict[str, str]) -> tuple[GitRepo, str, str]:
    """The upstream repository: main, and the fork's commits only under refs/pull/7/head."""
    origin = example_feature_branch(path)
    head = origin.commit("fork change", files)
    origin.git("update-ref", f"refs/pull/{PULL}/head", head)
    origin.checkout("main")
    origin.git("branch", "-D", "feature")
    return origin, origin.git("rev-parse", "main"), head


def clone_base(origin: GitRepo, path: Path) -> Path:
    """The workspace as actions/checkout leaves it under pull_request_target: the base branch."""
    subprocess.run(["git", "clone", "--quiet", f"file://{origin.path}", str(path)], check=True)
    return path


def run_detect(
    fake: FakeGitHub,
    workspace: Path,
    tmp_path: Path,
    *,
    base: str,
    head: str,
    event_name: str,
    closed: dict | None = None,
    **env: str,
) -> Run:
    event = {
        "action": "closed" if closed else "synchronize",
        "pull_request": {
            "number": PULL,
            "title": "From a fork",
            "base": {"sha": base, "ref": "main", "repo": {"full_name": REPO}},
            "head": {"sha": head, "ref": "feature", "repo": {"full_name": FORK}},
            **(closed or {}),
        },
        "repository": {"full_name": REPO},
    }
    (tmp_path / "event.json").write_text(json.dumps(event))
    return Dualdeploy(tmp_path, repository=REPO)(
        "detect",
        "--repo",
        str(workspace),
        env={
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
            **fake.env(),
            **env,
        },
        as_process=True,
    )


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(REPO)
    fake_github.add_pull(REPO, PULL, head_sha="f" * 40, base_sha="b" * 40)
    return fake_github


def ours(fake: FakeGitHub) -> list:
    return [comment for comment in fake.comments(REPO, PULL) if comment.body.startswith(MARKER)]


def test_pull_request_target_comments_and_labels_a_fork_without_checking_it_out(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    origin, base, head = make_origin(tmp_path / "origin", {TENANT: "2", "fork-only.txt": "from the fork"})
    workspace = clone_base(origin, tmp_path / "workspace")
    assert subprocess.run(["git", "-C", str(workspace), "cat-file", "-e", head]).returncode != 0

    result = run_detect(fake, workspace, tmp_path, base=base, head=head, event_name="pull_request_target")
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert "`tenant-agent`" in comment.body and "Manual deploy needed after merge" in comment.body
    assert set(fake.issue(REPO, PULL).labels) == {"agent-changes", "requires-manual-deploy"}
    assert CONFIG_NOTE not in comment.body
    assert f"fetched refs/pull/{PULL}/head ({head[:12]}) from origin" in result.stderr
    assert result.outputs["requires-manual-deploy"] == "true"
    # The work tree stays at the base: the fork's commit is only an object behind a local ref.
    git = ["git", "-C", str(workspace)]
    assert subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() == base
    assert not (workspace / "fork-only.txt").exists()
    assert subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True).stdout == ""
    assert (workspace / TENANT).read_text() == "1"


def test_a_fork_that_drops_its_agent_from_the_config_is_still_judged_by_the_base(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    origin, base, head = make_origin(
        tmp_path / "origin", {TENANT: "2", CONFIG_PATH: without_tenant_agent(EXAMPLE_CONFIG)}
    )
    workspace = clone_base(origin, tmp_path / "workspace")
    result = run_detect(fake, workspace, tmp_path, base=base, head=head, event_name="pull_request_target")
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert "`tenant-agent`" in comment.body
    assert f"edits `{CONFIG_PATH}`" in comment.body and CONFIG_NOTE in comment.body
    assert CONFIG_NOTE in result.summary
    assert set(fake.issue(REPO, PULL).labels) == {"agent-changes", "requires-manual-deploy"}


def test_the_base_config_is_read_from_git_even_when_the_work_tree_holds_another(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    origin, base, head = make_origin(tmp_path / "origin", {TENANT: "2"})
    workspace = clone_base(origin, tmp_path / "workspace")
    (workspace / CONFIG_PATH).write_text(without_tenant_agent(EXAMPLE_CONFIG))  # a workflow that checked out the PR
    result = run_detect(fake, workspace, tmp_path, base=base, head=head, event_name="pull_request_target")
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert "`tenant-agent`" in comment.body


def test_plain_pull_request_from_a_fork_warns_and_points_to_the_example(fake: FakeGitHub, tmp_path: Path) -> None:
    origin, base, head = make_origin(tmp_path / "origin", {TENANT: "2"})
    workspace = clone_base(origin, tmp_path / "workspace")
    result = run_detect(fake, workspace, tmp_path, base=base, head=head, event_name="pull_request")
    assert result.returncode == 0, result.stderr
    assert fake.comments(REPO, PULL) == [] and fake.requests == []
    # The model check may add its own warnings about the test's small repository; one is about the fork.
    [warning] = [line for line in result.stdout.splitlines() if line.startswith("::warning ") and "read-only" in line]
    assert "fork someone/mono" in warning and "pull_request_target" in warning
    assert "examples/workflows/pr-fork-impact.yml" in warning
    assert "Manual deploy needed after merge" in result.summary


def test_an_unfetchable_pull_head_fails_with_one_line(fake: FakeGitHub, tmp_path: Path) -> None:
    origin, base, head = make_origin(tmp_path / "origin", {TENANT: "2"})
    workspace = clone_base(origin, tmp_path / "workspace")
    origin.git("update-ref", "-d", f"refs/pull/{PULL}/head")
    origin.git("gc", "--prune=now", "--quiet")
    result = run_detect(fake, workspace, tmp_path, base=base, head=head, event_name="pull_request_target")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"could not fetch refs/pull/{PULL}/head from origin" in result.stderr
    assert fake.comments(REPO, PULL) == []


def test_json_stdout_stays_json_under_pull_request_target(fake: FakeGitHub, tmp_path: Path) -> None:
    origin, base, head = make_origin(
        tmp_path / "origin", {TENANT: "2", CONFIG_PATH: without_tenant_agent(EXAMPLE_CONFIG)}
    )
    workspace = clone_base(origin, tmp_path / "workspace")
    result = run_detect(
        fake, workspace, tmp_path, base=base, head=head, event_name="pull_request_target", DD_FORMAT="json"
    )
    assert result.returncode == 0, result.stderr
    assert [c["name"] for c in json.loads(result.stdout.split("\n::")[0].strip())["components"]] == ["tenant-agent"]


def test_a_merged_fork_pull_request_is_followed_to_its_deploy(fake: FakeGitHub, tmp_path: Path) -> None:
    origin, base, head = make_origin(tmp_path / "origin", {TENANT: "2"})
    workspace = clone_base(origin, tmp_path / "workspace")
    assert run_detect(fake, workspace, tmp_path, base=base, head=head, event_name="pull_request_target").returncode == 0
    # Merged upstream (a squash: the fork's commit itself never reaches a branch), then the closed event.
    origin.write({TENANT: "2"})
    merge = origin.commit("A stranger's change (#7)")
    subprocess.run(["git", "-C", str(workspace), "pull", "--quiet", "--ff-only"], check=True)
    closed = {"merged": True, "merge_commit_sha": merge, "merged_at": "2024-01-15T09:30:00Z", "state": "closed"}
    result = run_detect(
        fake, workspace, tmp_path, base=base, head=head, event_name="pull_request_target", closed=closed
    )
    assert result.returncode == 0, result.stderr
    [comment] = ours(fake)
    assert "Merged, waiting for a deploy of `tenant-agent`" in comment.body
    assert set(fake.issue(REPO, PULL).labels) == {"agent-changes", "requires-manual-deploy"}

"""examples/workflows/pr-fork-impact.yml end to end: a fork's pull request under pull_request_target.

The upstream repository (the folder act and the checkout shim read) holds the fork's commits only
under refs/pull/N/head, as GitHub does: no branch has them. The job checks out the base branch,
and detect-agent-impact fetches refs/pull/N/head as objects, judges it by the base's config, and
keeps one comment and the labels with the write token pull_request_target gives. Files in the pull
request that would leave a trace if anything ran them leave none.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from e2e.act import ActResult, pull_request_event, run_act
from fakegithub import FakeGitHub
from gitrepo import CONFIG_PATH, GitRepo, example_monorepo
from runner import setup_venv

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "workflows" / "pr-fork-impact.yml"
REPOSITORY = "acme/mono"
FORK = "stranger/mono"
PULL = 21
JOB = "agent-impact"
MARKER = "<!-- dualdeploy:detect-agent-impact -->"
TENANT = "server/src/agent-v2/deploy/tenant/index.ts"
WRITE_TOKEN = "ghs_e2eForkPullRequestTargetWriteToken0123456789"
CONFIG_NOTE = "this pull request's config change takes effect only after merge"


def trap_files(trace: Path) -> dict[str, str]:
    """Files that leave a line in `trace` if anything executes or imports them."""
    python = f"open({str(trace)!r}, 'a').write('python ran\\n')\n"
    shell = f"#!/bin/sh\necho shell ran >> '{trace}'\n"
    return {
        "sitecustomize.py": python,
        "usercustomize.py": python,
        "dualdeploy/__init__.py": python,
        "dualdeploy/__main__.py": python,
        "yaml.py": python,
        "github/__init__.py": python,
        "conftest.py": python,
        "setup.sh": shell,
        "actions/setup/setup.sh": shell,
        "Makefile": f"all:\n\techo make ran >> '{trace}'\n",
        "package.json": json.dumps({"name": "x", "scripts": {"postinstall": f"echo npm ran >> '{trace}'"}}),
    }


def fork_pull_request(repo: GitRepo, files: dict[str, str]) -> str:
    """Commit `files` on a throwaway branch, keep the commit only as refs/pull/N/head, return it."""
    repo.checkout("fork-work", new=True)
    contracts = repo.path / TENANT
    head = repo.commit("A stranger's change", {TENANT: contracts.read_text() + "// from a fork\n", **files})
    repo.git("update-ref", f"refs/pull/{PULL}/head", head)
    repo.checkout("main")
    repo.git("branch", "-D", "fork-work")
    return head


@pytest.fixture
def monorepo(tmp_path: Path) -> GitRepo:
    return example_monorepo(tmp_path / "mono")


def run_fork_pipeline(act: Path, fake: FakeGitHub, repo: GitRepo, head: str, tmp_path: Path) -> ActResult:
    base = repo.git("rev-parse", "main")
    fake.add_token(WRITE_TOKEN)
    fake.add_repo(REPOSITORY, head_sha=base)
    fake.add_pull(REPOSITORY, PULL, head_sha=head, head_ref="feature", base_ref="main", base_sha=base)
    event = pull_request_event(
        number=PULL,
        base_sha=base,
        head_sha=head,
        repository=REPOSITORY,
        head={"sha": head, "ref": "feature", "repo": {"full_name": FORK}},
    )
    result = run_act(
        WORKFLOW,
        "pull_request_target",
        event,
        repo.path,
        action_repo=ROOT,
        env={"GITHUB_API_URL": fake.url, "DD_VENV": str(setup_venv())},
        secrets={"GITHUB_TOKEN": WRITE_TOKEN},
        sha=base,
        timeout=120,
        work_dir=tmp_path / "act",
    )
    assert result.ok, result.describe()
    assert result.job_results == {JOB: "success"}, result.describe()
    return result


def sticky_comments(fake: FakeGitHub) -> list:
    return [comment for comment in fake.comments(REPOSITORY, PULL) if comment.body.startswith(MARKER)]


def test_fork_pull_request_gets_the_comment_and_labels_and_runs_nothing_of_it(
    act: Path, fake_github: FakeGitHub, monorepo: GitRepo, tmp_path: Path
) -> None:
    trace = tmp_path / "trace"
    head = fork_pull_request(monorepo, trap_files(trace))

    result = run_fork_pipeline(act, fake_github, monorepo, head, tmp_path)

    [comment] = sticky_comments(fake_github)
    assert len(fake_github.comments(REPOSITORY, PULL)) == 1
    assert "`tenant-agent`" in comment.body and "Manual deploy needed after merge" in comment.body
    assert CONFIG_NOTE not in comment.body
    assert set(fake_github.issue(REPOSITORY, PULL).labels) == {"agent-changes", "requires-manual-deploy"}
    assert json.loads(result.outputs[JOB]["impact"]["manual-components"]) == ["tenant-agent"]
    assert not [a for a in result.annotations if a["level"] in ("error", "warning")], result.annotations
    assert f"fetched refs/pull/{PULL}/head ({head[:12]}) from origin as objects; nothing checked out" in result.log
    assert not trace.exists(), trace.read_text()


def test_a_fork_that_drops_its_agent_from_the_config_is_judged_by_the_base_config(
    act: Path, fake_github: FakeGitHub, monorepo: GitRepo, tmp_path: Path
) -> None:
    config = (monorepo.path / CONFIG_PATH).read_text()
    dropped = re.sub(r"  tenant-agent:\n(    .*\n)+", "", config)
    assert "tenant-agent" not in dropped
    head = fork_pull_request(monorepo, {CONFIG_PATH: dropped})

    run_fork_pipeline(act, fake_github, monorepo, head, tmp_path)

    [comment] = sticky_comments(fake_github)
    assert "`tenant-agent`" in comment.body
    assert f"edits `{CONFIG_PATH}`" in comment.body and CONFIG_NOTE in comment.body
    assert set(fake_github.issue(REPOSITORY, PULL).labels) == {"agent-changes", "requires-manual-deploy"}

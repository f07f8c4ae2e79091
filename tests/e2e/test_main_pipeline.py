"""examples/workflows/main-pipeline.yml end to end: act runs the published example on a pull request
of the bundled example monorepo, and the sticky comment and the labels land in the fake GitHub.

The workflow pins our action by commit sha; the harness serves that `uses:` from a staged copy of
this checkout, so what runs is the code under test. DD_VENV points the action's setup at the test
venv, so a run needs no package index and takes a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from e2e.act import ActResult, pull_request_event, run_act
from fakegithub import FakeGitHub
from gitrepo import GitRepo, example_monorepo
from runner import setup_venv

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "workflows" / "main-pipeline.yml"
REPOSITORY = "acme/mono"
PULL = 12
JOB = "agent-impact"
MARKER = "<!-- dualdeploy:detect-agent-impact -->"
AGENTS = ("tenant-agent", "support-agent", "billing-agent")
# act masks every secret value wherever it appears in its log, outputs included: tokens must be
# long and distinctive, or a short one like "ro" would also turn "error" into "er***r".
WRITE_TOKEN = "ghs_e2eMainPipelineWriteToken0123456789"
READ_ONLY_TOKEN = "ghs_e2eMainPipelineReadOnlyToken0123456789"


@pytest.fixture
def monorepo(tmp_path: Path) -> GitRepo:
    """The bundled example on main, and a branch that changes the shared contracts."""
    repo = example_monorepo(tmp_path / "mono")
    repo.checkout("feature/tenant-plan", new=True)
    contracts = repo.path / "packages/contracts/src/index.ts"
    repo.commit(
        "Add tenant plans to the contracts",
        {"packages/contracts/src/index.ts": contracts.read_text() + "export type Plan = 'free' | 'pro';\n"},
    )
    return repo


@pytest.fixture
def fake(fake_github: FakeGitHub, monorepo: GitRepo) -> FakeGitHub:
    fake_github.add_token(WRITE_TOKEN)
    fake_github.add_token(READ_ONLY_TOKEN, write=False)
    fake_github.add_repo(REPOSITORY, head_sha=monorepo.git("rev-parse", "main"))
    fake_github.add_pull(
        REPOSITORY,
        PULL,
        head_sha=monorepo.head(),
        head_ref="feature/tenant-plan",
        base_ref="main",
        base_sha=monorepo.git("rev-parse", "main"),
        title="Add tenant plans",
    )
    return fake_github


def run_pipeline(act: Path, fake: FakeGitHub, monorepo: GitRepo, tmp_path: Path, *, token: str) -> ActResult:
    event = pull_request_event(
        number=PULL,
        base_sha=monorepo.git("rev-parse", "main"),
        head_sha=monorepo.head(),
        base_ref="main",
        head_ref="feature/tenant-plan",
        repository=REPOSITORY,
    )
    result = run_act(
        WORKFLOW,
        "pull_request",
        event,
        monorepo.path,
        action_repo=ROOT,
        env={"GITHUB_API_URL": fake.url, "DD_VENV": str(setup_venv())},
        secrets={"GITHUB_TOKEN": token},
        timeout=120,
        work_dir=tmp_path / "act",
    )
    assert result.ok, result.describe()
    assert result.job_results == {JOB: "success"}, result.describe()
    return result


def sticky_comments(fake: FakeGitHub) -> list:
    return [comment for comment in fake.comments(REPOSITORY, PULL) if comment.body.startswith(MARKER)]


def test_pull_request_gets_one_sticky_comment_and_the_labels(
    act: Path, fake: FakeGitHub, monorepo: GitRepo, tmp_path: Path
) -> None:
    result = run_pipeline(act, fake, monorepo, tmp_path, token=WRITE_TOKEN)

    [comment] = sticky_comments(fake)
    assert len(fake.comments(REPOSITORY, PULL)) == 1
    for agent in AGENTS:
        assert agent in comment.body, comment.body
    assert f"https://github.com/{REPOSITORY}/actions/workflows/deploy-agents.yml" in comment.body
    assert set(fake.issue(REPOSITORY, PULL).labels) == {"agent-changes", "requires-manual-deploy"}

    outputs = result.outputs[JOB]["impact"]
    assert outputs["requires-manual-deploy"] == "true"
    assert sorted(json.loads(outputs["manual-components"])) == sorted(AGENTS)
    assert outputs["comment-url"].endswith(f"/pull/{PULL}#issuecomment-{comment.id}")
    assert not [a for a in result.annotations if a["level"] in ("error", "warning")], result.annotations
    assert "tenant-agent" in result.summaries[JOB]

    # A second run (a re-run, or a new push with the same impact) edits nothing and adds nothing.
    again = run_pipeline(act, fake, monorepo, tmp_path, token=WRITE_TOKEN)
    [same] = sticky_comments(fake)
    assert len(fake.comments(REPOSITORY, PULL)) == 1
    assert (same.id, same.body) == (comment.id, comment.body)
    assert set(fake.issue(REPOSITORY, PULL).labels) == {"agent-changes", "requires-manual-deploy"}
    assert again.outputs[JOB]["impact"]["comment-url"] == outputs["comment-url"]


def test_read_only_token_passes_with_a_warning_and_writes_nothing(
    act: Path, fake: FakeGitHub, monorepo: GitRepo, tmp_path: Path
) -> None:
    result = run_pipeline(act, fake, monorepo, tmp_path, token=READ_ONLY_TOKEN)

    assert fake.comments(REPOSITORY, PULL) == []
    assert set(fake.issue(REPOSITORY, PULL).labels) == set()
    [warning] = [a for a in result.annotations if a["level"] == "warning"]
    assert warning["title"] == "dualdeploy: read-only token", warning
    assert "pull-requests: write" in warning["message"], warning
    assert not [a for a in result.annotations if a["level"] == "error"], result.annotations

    outputs = result.outputs[JOB]["impact"]
    assert outputs["requires-manual-deploy"] == "true" and outputs["comment-url"] == ""
    assert "tenant-agent" in result.summaries[JOB]

"""`dualdeploy init`: a config proposed from the folders and workflows of a repository."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from dualdeploy import cli
from dualdeploy.config import load_config
from gitrepo import GitRepo
from runner import clean_environment, run_process

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "monorepo"
EXAMPLE_WORKFLOWS = ROOT / "examples" / "workflows"

SEED_DEPLOY_AGENTS = """\
name: Deploy agents
on:
  workflow_dispatch:
    inputs:
      agent:
        description: Which agent
        type: choice
        options: [tenant, support, billing]
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: agents
    defaults:
      run:
        working-directory: server/src/agent-v2/deploy/${{ inputs.agent }}
    steps:
      - uses: actions/checkout@v4
      - run: npm ci && npx deploy-agent
"""
SEED_DEPLOY_API = """\
name: Deploy API
on:
  push:
    branches: [main]
    paths: ["server/**", "!server/src/agent-v2/**"]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: curl -X POST "$RENDER_HOOK"
"""
SEED_CI = """\
name: CI
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: cd server && npm test && cd ../apps/web && npm test
"""


def seed_files() -> dict[str, str]:
    """A repository shaped like the seed: API in server/, client in apps/web/, agents in
    server/src/agent-v2/deploy/<name>/ with their own package.json, shared code in packages/."""
    return {
        "package.json": json.dumps({"name": "seed", "private": True, "workspaces": ["apps/*", "packages/*"]}),
        "server/package.json": json.dumps({"name": "@seed/api"}),
        "server/src/index.ts": 'import { db } from "./lib/db";\n',
        "server/src/lib/db.ts": "export const db = 1;\n",
        "server/src/agent-v2/core/runtime.ts": "export const runtime = 1;\n",
        "server/src/agent-v2/deploy/tenant/package.json": json.dumps({"name": "@seed/tenant-agent"}),
        "server/src/agent-v2/deploy/tenant/index.ts": (
            'import { runtime } from "../../core/runtime";\nimport { db } from "../../../lib/db";\n'
        ),
        "server/src/agent-v2/deploy/support/package.json": json.dumps({"private": True}),
        "server/src/agent-v2/deploy/support/index.ts": 'const core = require("../../core/runtime.ts");\n',
        "server/src/agent-v2/deploy/billing/package.json": json.dumps({"name": "billing-agent"}),
        "server/src/agent-v2/deploy/billing/Dockerfile": "FROM node:20\n",
        "server/src/agent-v2/deploy/billing/index.ts": "export {};\n",
        "apps/web/package.json": json.dumps({"name": "@seed/web"}),
        "apps/web/src/App.tsx": "export default 1;\n",
        "packages/contracts/package.json": json.dumps({"name": "@seed/contracts"}),
        "packages/contracts/src/index.ts": "export type Plan = 'free';\n",
        "packages/ui/package.json": json.dumps({"name": "@seed/ui"}),
        "node_modules/left-pad/package.json": json.dumps({"name": "left-pad"}),
        "server/src/agent-v2/deploy/tenant/tests/fixtures/package.json": "{}",
        ".github/workflows/deploy-agents.yml": SEED_DEPLOY_AGENTS,
        ".github/workflows/deploy-api.yml": SEED_DEPLOY_API,
        ".github/workflows/ci.yml": SEED_CI,
    }


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


def init(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(["init", "--repo", str(repo), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def components(repo: Path) -> dict:
    config = load_config(repo / ".github/dual-deploy.yml")
    return {component.name: component for component in config.components}, config


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    """The bundled example as a user would have it: the monorepo with the example workflows, no config."""
    repo = tmp_path / "monorepo"
    shutil.copytree(EXAMPLE, repo)
    (repo / ".github/dual-deploy.yml").unlink()
    shutil.copytree(EXAMPLE_WORKFLOWS, repo / ".github/workflows", dirs_exist_ok=True)
    return repo


def test_bundled_example_finds_every_agent_and_marks_them_manual(bundled: Path, capsys) -> None:
    status, out, err = init(bundled, "--yes", capsys=capsys)
    assert status == 0, err
    assert out.startswith("# yaml-language-server: $schema=")
    assert "Wrote .github/dual-deploy.yml." in out
    found, config = components(bundled)
    reference = {c.name: c for c in load_config(EXAMPLE / ".github/dual-deploy.yml").components}
    agents = [name for name, component in reference.items() if component.manual]
    assert sorted(c.name for c in config.manual_components()) == sorted(agents)
    for name in agents:
        assert found[name].paths == reference[name].paths
        assert found[name].deploy_workflow == "deploy-agents.yml"
    assert found["server"].paths == ("server/**", "!server/src/agent-v2/deploy/**")
    assert found["web"].deploy == "auto" and found["server"].deploy == "auto"
    # The agents import server/src/lib and server/src/agent-v2/core by relative path; packages/ is shared code.
    shared = {group.name: group.paths for group in config.shared}
    assert shared == {
        "contracts": ("packages/contracts/**",),
        "server-src-agent-v2-core": ("server/src/agent-v2/core/**",),
        "server-src-lib": ("server/src/lib/**",),
    }
    assert set(found["tenant-agent"].uses) == set(shared)
    assert "# 5 components, 3 deployed by hand: billing-agent, support-agent, tenant-agent" in err


def test_seed_shaped_repository(tmp_path: Path, capsys) -> None:
    repo = GitRepo(tmp_path / "seed")
    repo.commit("seed", seed_files())
    status, out, err = init(repo.path, "--yes", capsys=capsys)
    assert status == 0, err
    found, config = components(repo.path)
    assert set(found) == {"api", "web", "tenant-agent", "support", "billing-agent"}
    for name in ("tenant-agent", "support", "billing-agent"):
        assert found[name].manual, name
        assert found[name].deploy_workflow == "deploy-agents.yml"
    assert found["api"].deploy == "auto" and found["api"].deploy_workflow == "deploy-api.yml"
    assert found["api"].paths == ("server/**", "!server/src/agent-v2/deploy/**")
    assert found["web"].deploy == "auto" and found["web"].deploy_workflow is None
    shared = {group.name: group.paths for group in config.shared}
    assert shared["contracts"] == ("packages/contracts/**",) and shared["ui"] == ("packages/ui/**",)
    assert shared["server-src-agent-v2-core"] == ("server/src/agent-v2/core/**",)
    assert shared["server-src-lib"] == ("server/src/lib/**",)
    assert set(found["tenant-agent"].uses) == set(shared)
    assert set(found["support"].uses) == {"contracts", "ui", "server-src-agent-v2-core"}
    assert "manual: deploy-agents.yml runs only by hand (workflow_dispatch) and names it" in out
    assert "automatic: deploy-api.yml deploys on push to main, with a paths filter for this folder" in out

    # The proposal works end to end: a change to shared contracts needs every agent deployed.
    repo.commit("config", {})
    repo.checkout("feature", new=True)
    repo.commit("contracts", {"packages/contracts/src/index.ts": "export type Plan = 'pro';\n"})
    result = run_process("detect", "--repo", str(repo.path), "--base", "main", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["requires_manual_deploy"] is True
    assert {c["name"] for c in report["components"]} == {"tenant-agent", "support", "billing-agent"}


def test_agents_deployed_on_push_are_automatic(tmp_path: Path, capsys) -> None:
    files = seed_files()
    files[".github/workflows/deploy-agents.yml"] = SEED_DEPLOY_AGENTS.replace(
        "on:\n  workflow_dispatch:", "on:\n  push:\n    branches: [main]\n  workflow_dispatch:"
    )
    repo = write(tmp_path / "seed", files)
    assert init(repo, "--yes", capsys=capsys)[0] == 0
    found, config = components(repo)
    assert config.manual_components() == ()
    assert found["tenant-agent"].deploy_workflow == "deploy-agents.yml"


def test_a_tag_triggered_deploy_is_manual(tmp_path: Path, capsys) -> None:
    files = seed_files()
    files[".github/workflows/deploy-agents.yml"] = SEED_DEPLOY_AGENTS.replace(
        "on:\n  workflow_dispatch:", "on:\n  push:\n    tags: ['agents-v*']\n  workflow_dispatch:"
    )
    repo = write(tmp_path / "seed", files)
    assert init(repo, "--yes", capsys=capsys)[0] == 0
    found, _ = components(repo)
    assert found["tenant-agent"].manual and found["billing-agent"].manual


def test_dry_run_prints_and_writes_nothing(bundled: Path, capsys) -> None:
    status, out, _ = init(bundled, "--dry-run", capsys=capsys)
    assert status == 0
    assert "tenant-agent:\n    deploy: manual\n" in out
    assert not (bundled / ".github/dual-deploy.yml").exists()


def test_an_existing_config_is_not_replaced_without_force(capsys) -> None:
    before = (EXAMPLE / ".github/dual-deploy.yml").read_bytes()
    status, out, err = init(EXAMPLE, "--yes", capsys=capsys)
    assert status == 2
    assert "dualdeploy: error: .github/dual-deploy.yml: .github/dual-deploy.yml already exists" in err
    assert "pass --force to replace it" in err
    assert (EXAMPLE / ".github/dual-deploy.yml").read_bytes() == before
    assert init(EXAMPLE, "--dry-run", capsys=capsys)[0] == 0


def test_force_replaces(bundled: Path, capsys) -> None:
    (bundled / ".github/dual-deploy.yml").write_text("version: 1\n")
    assert init(bundled, "--yes", "--force", capsys=capsys)[0] == 0
    assert len(load_config(bundled / ".github/dual-deploy.yml").components) == 5


@pytest.mark.parametrize(("answer", "written"), [("y\n", True), ("yes\n", True), ("n\n", False), ("\n", False)])
def test_asks_before_writing(bundled: Path, capsys, monkeypatch, answer: str, written: bool) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    status, out, err = init(bundled, capsys=capsys)
    assert status == 0
    assert "Write this to .github/dual-deploy.yml? [y/N]" in err
    assert (bundled / ".github/dual-deploy.yml").exists() is written
    if not written:
        assert "Nothing written." in out


def test_no_answer_is_an_error(bundled: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    status, _, err = init(bundled, capsys=capsys)
    assert status == 2 and "pass --yes to write without asking" in err
    assert not (bundled / ".github/dual-deploy.yml").exists()


def test_nothing_to_propose(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"package.json": "{}", "src/index.ts": "1"})
    status, _, err = init(tmp_path, "--dry-run", capsys=capsys)
    assert status == 2 and "found no folder with its own package.json, Dockerfile or pyproject.toml" in err


def test_awkward_names_still_make_a_valid_config(tmp_path: Path, capsys) -> None:
    repo = write(
        tmp_path,
        {
            "services/yes/Dockerfile": "FROM x\n",
            "services/123/pyproject.toml": '[project]\nname = "null"\n',
            "services/my app/package.json": json.dumps({"name": "my app"}),
            "services/web/package.json": json.dumps({"name": "web"}),
            "apps/web/package.json": json.dumps({"name": "web"}),
        },
    )
    status, out, err = init(repo, "--yes", capsys=capsys)
    assert status == 0, err
    found, _ = components(repo)
    assert set(found) == {"yes", "null", "services-my-app", "web", "services-web"}
    assert found["web"].paths == ("apps/web/**",) and found["services-web"].paths == ("services/web/**",)
    assert found["services-my-app"].paths == ("services/my app/**",)
    assert '"yes":' in out and '"null":' in out


def test_a_comment_in_a_workflow_names_nothing(tmp_path: Path, capsys) -> None:
    files = seed_files()
    files[".github/workflows/deploy-agents.yml"] = "# Deploys the agents, never the web client or api\n" + (
        SEED_DEPLOY_AGENTS
    )
    del files[".github/workflows/deploy-api.yml"]
    repo = write(tmp_path / "seed", files)
    assert init(repo, "--yes", capsys=capsys)[0] == 0
    found, _ = components(repo)
    assert found["api"].deploy == "auto" and found["web"].deploy == "auto"
    assert found["tenant-agent"].manual


def test_init_runs_the_config_checks_on_its_proposal(tmp_path: Path, capsys) -> None:
    """deploy-api.yml's paths filter leaves out server/src/agent-v2/core/, which the proposed api
    is built from: init says so next to the proposal, and still writes it."""
    repo = GitRepo(tmp_path / "seed")
    repo.commit("seed", seed_files())
    status, out, err = init(repo.path, "--dry-run", capsys=capsys)
    assert status == 0, err
    assert "error missing-trigger (component api)" in err
    assert "server/src/agent-v2/core/ (1 file)" in err
    assert ".github/workflows/deploy-api.yml:5:" in err
    assert "missing-trigger" not in out  # the proposal itself stays a clean YAML file


AGENTS_UNDER_THE_API = {
    "server/package.json": json.dumps({"name": "server"}),
    "server/src/index.ts": "export {};\n",
    **{
        f"server/src/agent-v2/deploy/{agent}/package.json": json.dumps({"name": f"{agent}-agent"})
        for agent in ("alpha", "beta", "gamma")
    },
}


def test_a_path_inside_the_api_folder_does_not_make_the_api_manual(tmp_path: Path, capsys) -> None:
    files = {
        **AGENTS_UNDER_THE_API,
        ".github/workflows/deploy-agents.yml": (
            "name: Deploy agents\non:\n  workflow_dispatch:\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: cd server/src/agent-v2/deploy/alpha && ./deploy.sh\n"
        ),
    }
    repo = write(tmp_path / "repo", files)
    assert init(repo, "--yes", capsys=capsys)[0] == 0
    found, _ = components(repo)
    assert found["server"].deploy == "auto"  # the workflow deploys an agent inside server/, not server/
    assert found["alpha-agent"].manual and found["alpha-agent"].deploy_workflow == "deploy-agents.yml"


def test_choice_options_that_name_component_folders_make_them_manual(tmp_path: Path, capsys) -> None:
    files = {
        **AGENTS_UNDER_THE_API,
        ".github/workflows/deploy-agents.yml": (
            "name: Deploy agents\non:\n  workflow_dispatch:\n    inputs:\n      agent:\n        type: choice\n"
            "        options: [alpha, beta, gamma]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
            '    steps:\n      - run: ./scripts/deploy-agent.sh "$AGENT"\n        env:\n'
            "          AGENT: ${{ inputs.agent }}\n"
        ),
    }
    repo = write(tmp_path / "repo", files)
    status, _, err = init(repo, "--yes", capsys=capsys)
    assert status == 0
    found, _ = components(repo)
    for name in ("alpha-agent", "beta-agent", "gamma-agent"):
        assert found[name].manual and found[name].deploy_workflow == "deploy-agents.yml", name
    assert found["server"].deploy == "auto"
    # The option that names each agent is the input its deploy instructions carry: the proposal
    # passes its own dispatch-inputs check, and `gh workflow run` works as printed.
    assert dict(found["alpha-agent"].deploy_inputs) == {"agent": "alpha"}
    assert found["gamma-agent"].deploy_command("main") == "gh workflow run deploy-agents.yml --ref main -f agent=gamma"
    assert "dispatch-inputs" not in err


def test_matrix_values_that_name_component_folders_make_them_manual(tmp_path: Path, capsys) -> None:
    files = {
        **AGENTS_UNDER_THE_API,
        ".github/workflows/release-agents.yml": (
            "name: Release agents\non:\n  workflow_dispatch:\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
            "    strategy:\n      matrix:\n        agent: [alpha, gamma]\n    steps:\n      - run: make deploy\n"
        ),
    }
    repo = write(tmp_path / "repo", files)
    assert init(repo, "--yes", capsys=capsys)[0] == 0
    found, _ = components(repo)
    assert found["alpha-agent"].manual and found["gamma-agent"].manual
    assert found["beta-agent"].deploy == "auto" and found["server"].deploy == "auto"

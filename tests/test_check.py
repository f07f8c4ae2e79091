"""`dualdeploy check`: findings about a config that no longer describes its repository, on
repositories the tests build, asserted on what a user sees (exit status, text, JSON, annotations)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gitrepo import CONFIG_PATH, GitRepo, example_monorepo
from runner import Dualdeploy, run_process

ROOT = Path(__file__).resolve().parents[1]

SOURCES = {
    "server/src/index.ts": "api",
    "server/src/lib/db.ts": "db",
    "server/src/lib/cache.ts": "cache",
    "server/src/agent-v2/deploy/tenant/index.ts": "tenant",
    "server/src/agent-v2/deploy/support/index.ts": "support",
    "packages/contracts/src/index.ts": "contracts",
}


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def check(repo: GitRepo, *args: str):
    result = run_process("check", "--repo", str(repo.path), *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def findings(repo: GitRepo, *args: str) -> list[dict]:
    result = check(repo, "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)["findings"]


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


# --- no-match -------------------------------------------------------------------------------------

TYPO_CONFIG = dedent("""
    version: 1
    components:
      api:
        deploy: auto
        paths: ["server/**", "!server/src/agent-v2/**"]
      tenant-agent:
        deploy: manual
        paths: ["server/src/agent-v2/deploy/tenant/**"]
        uses: [agent-shared]
    shared:
      agent-shared:
        - "packages/contracts/src/**"
        - "server/src/libs/**"
    """)


def test_a_typo_in_a_shared_glob_is_no_match_naming_its_config_line(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: TYPO_CONFIG, **SOURCES})
    result = check(repo)
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(TYPO_CONFIG, "server/src/libs/**")
    assert f".github/dual-deploy.yml:{line}: error no-match (shared group agent-shared)" in result.stdout
    assert "did you mean 'server/src/lib/**'?" in result.stdout

    [finding] = findings(repo)
    assert finding == {
        "kind": "no-match",
        "severity": "error",
        "component": None,
        "group": "agent-shared",
        "file": ".github/dual-deploy.yml",
        "line": line,
        "paths": ["server/src/libs/**"],
        "message": finding["message"],
    }

    repo.commit("fix", {CONFIG_PATH: TYPO_CONFIG.replace("libs/**", "lib/**")})
    fixed = check(repo)
    assert fixed.returncode == 0, fixed.stdout
    assert "agrees with the repository" in fixed.stdout


def test_a_component_whose_exclusions_remove_everything_is_no_match(tmp_path: Path) -> None:
    config = dedent("""
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/src/lib/**", "!server/src/**"]
        """)
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: config, **SOURCES})
    [finding] = findings(repo)
    assert (finding["kind"], finding["component"], finding["line"]) == ("no-match", "api", 5)
    assert "exclusion" in finding["message"]


# --- missing-trigger ------------------------------------------------------------------------------

AGENTS_CONFIG = dedent("""
    version: 1
    components:
      tenant-agent:
        deploy: auto
        paths: ["server/src/agent-v2/deploy/tenant/**"]
        uses: [agent-shared]
        deploy-workflow: deploy-agents.yml
      support-agent:
        deploy: auto
        paths: ["server/src/agent-v2/deploy/support/**"]
        uses: [agent-shared]
        deploy-workflow: deploy-agents.yml
    shared:
      agent-shared: ["packages/contracts/src/**", "server/src/lib/**"]
    """)

PUSH_WORKFLOW = dedent("""
    name: deploy-agents
    on:
      push:
        branches: [main]
        paths:
          - "server/src/agent-v2/deploy/**"
          - "packages/contracts/src/**"
    jobs:
      deploy:
        runs-on: ubuntu-latest
        steps:
          - run: echo deploy
    """)


def test_a_push_trigger_missing_a_shared_folder_is_missing_trigger_for_every_component_using_it(
    tmp_path: Path,
) -> None:
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: AGENTS_CONFIG, ".github/workflows/deploy-agents.yml": PUSH_WORKFLOW, **SOURCES})
    result = check(repo)
    assert result.returncode == 1
    found = findings(repo)
    assert [(f["kind"], f["component"], f["group"]) for f in found] == [
        ("missing-trigger", "tenant-agent", "agent-shared"),
        ("missing-trigger", "support-agent", "agent-shared"),
    ]
    for finding in found:
        assert finding["paths"] == ["server/src/lib/ (2 files)"]
        assert finding["file"] == ".github/workflows/deploy-agents.yml"
        assert finding["line"] == line_of(PUSH_WORKFLOW, "paths:")
        assert "'server/src/lib/**'" in finding["message"]
    assert "    server/src/lib/ (2 files)" in result.stdout

    fixed = PUSH_WORKFLOW.replace(
        '      - "packages/contracts/src/**"\n', '      - "packages/contracts/src/**"\n      - "server/src/lib/**"\n'
    )
    repo.commit("trigger on lib", {".github/workflows/deploy-agents.yml": fixed})
    assert findings(repo) == []
    assert check(repo).returncode == 0


@pytest.mark.parametrize(
    "on",
    [
        "on: [push, workflow_dispatch]",
        "on: push",
        "'on':\n  push:\n    branches-ignore: [release]",
    ],
)
def test_on_in_every_shape_is_understood(tmp_path: Path, on: str) -> None:
    """A push without a paths filter triggers on every file; list, string and quoted key alike."""
    workflow = on + "\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: AGENTS_CONFIG, ".github/workflows/deploy-agents.yml": workflow, **SOURCES})
    assert findings(repo) == []


def test_paths_ignore_that_covers_shared_code_is_missing_trigger(tmp_path: Path) -> None:
    workflow = PUSH_WORKFLOW.replace("paths:", "paths-ignore:").replace(
        '      - "server/src/agent-v2/deploy/**"\n      - "packages/contracts/src/**"\n',
        '      - "server/src/lib/db.ts"\n',
    )
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: AGENTS_CONFIG, ".github/workflows/deploy-agents.yml": workflow, **SOURCES})
    found = findings(repo)
    assert {f["kind"] for f in found} == {"missing-trigger"}
    assert found[0]["paths"] == ["server/src/lib/db.ts"]


# --- trigger-branch, missing-workflow, not-dispatchable ---------------------------------------------


def test_a_push_trigger_that_leaves_out_the_default_branch_is_trigger_branch(tmp_path: Path) -> None:
    workflow = PUSH_WORKFLOW.replace("branches: [main]", "branches: [release/*]")
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: AGENTS_CONFIG, ".github/workflows/deploy-agents.yml": workflow, **SOURCES})
    found = findings(repo)
    assert [(f["kind"], f["component"], f["line"]) for f in found] == [
        ("trigger-branch", "tenant-agent", line_of(workflow, "branches:")),
        ("trigger-branch", "support-agent", line_of(workflow, "branches:")),
    ]
    assert "'main'" in found[0]["message"]
    # the branch deploys run on is the repository's default one, which may not be main
    assert findings(repo, "--default-branch", "release/2024") != found


def test_missing_and_undispatchable_workflows(tmp_path: Path) -> None:
    config = dedent("""
        version: 1
        components:
          tenant-agent:
            deploy: manual
            paths: ["server/src/agent-v2/deploy/tenant/**"]
            deploy-workflow: deploy-agent.yml
          support-agent:
            deploy: manual
            paths: ["server/src/agent-v2/deploy/support/**"]
            deploy-workflow: deploy-agents.yml
        """)
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: config, ".github/workflows/deploy-agents.yml": PUSH_WORKFLOW, **SOURCES})
    found = findings(repo)
    assert [(f["kind"], f["component"], f["file"], f["line"]) for f in found] == [
        ("missing-workflow", "tenant-agent", CONFIG_PATH, 6),
        ("not-dispatchable", "support-agent", ".github/workflows/deploy-agents.yml", 2),
    ]
    assert "did you mean 'deploy-agents.yml'?" in found[0]["message"]
    assert "workflow_dispatch" in found[1]["message"]


def test_an_auto_component_whose_workflow_runs_only_by_hand_is_not_automatic(tmp_path: Path) -> None:
    workflow = (
        "on:\n  workflow_dispatch:\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"
    )
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: AGENTS_CONFIG, ".github/workflows/deploy-agents.yml": workflow, **SOURCES})
    found = findings(repo)
    assert [(f["kind"], f["component"], f["line"]) for f in found] == [
        ("not-automatic", "tenant-agent", 1),
        ("not-automatic", "support-agent", 1),
    ]
    assert "deploy: manual" in found[0]["message"]


def test_a_deploy_workflow_that_is_not_yaml_is_an_error_not_a_pass(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mono")
    repo.commit(
        "base",
        {CONFIG_PATH: AGENTS_CONFIG, ".github/workflows/deploy-agents.yml": "on: [push\njobs: {}\n", **SOURCES},
    )
    found = findings(repo)
    assert {(f["kind"], f["severity"]) for f in found} == {("bad-workflow", "error")}


# --- dispatch-inputs and the deploy instruction -----------------------------------------------------

MANUAL_CONFIG = dedent("""
    version: 1
    components:
      tenant-agent:
        deploy: manual
        paths: ["server/src/agent-v2/deploy/tenant/**"]
        deploy-workflow: deploy-agents.yml
    """)

DISPATCH_WORKFLOW = dedent("""
    name: deploy-agents
    on:
      workflow_dispatch:
        inputs:
          agent:
            description: Which agent
            required: true
            type: choice
            options: [tenant, support]
          dry-run:
            type: boolean
            default: false
    jobs:
      deploy:
        runs-on: ubuntu-latest
        steps:
          - run: echo deploy
    """)


def manual_repo(tmp_path: Path, inputs: str = "") -> GitRepo:
    config = MANUAL_CONFIG + (f"    deploy-inputs: {inputs}\n" if inputs else "")
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: config, ".github/workflows/deploy-agents.yml": DISPATCH_WORKFLOW, **SOURCES})
    return repo


def test_a_required_choice_input_without_deploy_inputs_is_an_error(tmp_path: Path) -> None:
    repo = manual_repo(tmp_path)
    result = check(repo)
    assert result.returncode == 1
    [finding] = findings(repo)
    assert (finding["kind"], finding["severity"], finding["component"]) == ("dispatch-inputs", "error", "tenant-agent")
    assert "'agent'" in finding["message"] and "deploy-inputs: {agent: <tenant | support>}" in finding["message"]


def test_a_value_outside_the_choice_options_is_an_error(tmp_path: Path) -> None:
    repo = manual_repo(tmp_path, "{agent: billing}")
    [finding] = findings(repo)
    assert finding["kind"] == "dispatch-inputs" and finding["line"] == 7
    assert "'billing' is not an option" in finding["message"] and "tenant, support" in finding["message"]


def test_an_unknown_or_mistyped_input_is_an_error(tmp_path: Path) -> None:
    repo = manual_repo(tmp_path, "{agent: tenant, dryrun: 'true', dry-run: 'maybe'}")
    found = findings(repo)
    assert [f["kind"] for f in found] == ["dispatch-inputs", "dispatch-inputs"]
    assert "did you mean 'dry-run'?" in found[0]["message"]
    assert "boolean" in found[1]["message"]


def test_a_valid_choice_passes_and_every_instruction_carries_it(tmp_path: Path, dualdeploy: Dualdeploy) -> None:
    repo = manual_repo(tmp_path, "{agent: tenant}")
    assert findings(repo) == []
    assert check(repo).returncode == 0

    repo.checkout("feature", new=True)
    repo.commit("change the agent", {"server/src/agent-v2/deploy/tenant/index.ts": "tenant 2"})
    comment = run_process(
        "detect", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "markdown"
    )
    assert comment.returncode == 0, comment.stderr
    assert "`gh workflow run deploy-agents.yml --ref main -f agent=tenant`" in comment.stdout

    docs = run_process("docs", "--repo", str(repo.path), "--only", "runbook")
    assert docs.returncode == 0, docs.stderr
    runbook = (repo.path / "docs/DEPLOYMENT_RUNBOOK.md").read_text()
    assert "`gh workflow run deploy-agents.yml --ref main -f agent=tenant`" in runbook


# --- output and exit status -------------------------------------------------------------------------


def test_github_format_prints_annotations(tmp_path: Path) -> None:
    repo = manual_repo(tmp_path)
    result = check(repo, "--format", "github")
    assert result.returncode == 1
    [annotation] = result.stdout.splitlines()
    assert annotation.startswith(
        "::error file=.github/dual-deploy.yml,line=6,title=dualdeploy check%3A dispatch-inputs::"
    )


def test_a_config_error_exits_2(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: MANUAL_CONFIG.replace("deploy: manual", "deploy: manualy"), **SOURCES})
    result = check(repo, "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert ".github/dual-deploy.yml:4" in result.stderr


def test_uncovered_folders_are_info_and_only_on_request(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mono")
    repo.commit(
        "base",
        {
            CONFIG_PATH: MANUAL_CONFIG.replace("deploy-workflow: deploy-agents.yml\n", ""),
            **SOURCES,
            "tools/a.sh": "",
            "tools/b/c.sh": "",
        },
    )
    assert findings(repo) == []
    found = findings(repo, "--uncovered")
    assert {(f["kind"], f["severity"]) for f in found} == {("uncovered", "info")}
    assert [f["paths"] for f in found] == [
        ["packages/ (1 file)"],
        ["server/src/agent-v2/deploy/support/ (1 file)"],
        ["server/src/lib/ (2 files)"],
        ["tools/ (2 files)"],
    ]
    assert check(repo, "--uncovered").returncode == 0


def test_the_example_monorepo_and_its_workflows_pass(tmp_path: Path) -> None:
    repo = example_monorepo(tmp_path / "mono")
    assert not (repo.path / ".github/workflows/deploy-agents.yml").is_symlink()
    result = check(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "agrees with the repository" in result.stdout
    # and where it lives in this repository, its workflows linked from examples/workflows/
    here = run_process("check", "--repo", "examples/monorepo", "--format", "json", cwd=ROOT)
    assert (here.returncode, here.stdout) == (0, '{"findings": []}\n'), here.stdout + here.stderr


# --- inside detect-agent-impact: warnings, never a failure ------------------------------------------


def test_detect_reports_the_findings_as_warnings_and_still_passes(tmp_path: Path, dualdeploy: Dualdeploy) -> None:
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: TYPO_CONFIG, **SOURCES})
    base = repo.head()
    repo.checkout("feature", new=True)
    head = repo.commit("shared change", {"server/src/lib/db.ts": "db 2"})
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"number": 7, "base": {"sha": base, "ref": "main"}, "head": {"sha": head}}})
    )
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "DD_COMMENT": "false",
        "DD_LABELS": "false",
    }
    result = dualdeploy("detect", "--repo", str(repo.path), env=env)
    assert result.returncode == 0, result.stderr
    line = line_of(TYPO_CONFIG, "server/src/libs/**")
    [warning] = [text for text in result.stdout.splitlines() if text.startswith("::warning ")]
    assert warning.startswith(
        f"::warning file=.github/dual-deploy.yml,line={line},title=dualdeploy check%3A no-match::"
    )
    assert "and the repository disagree" in result.summary and "`no-match`" in result.summary

    # JSON on stdout stays JSON: the annotations go to stderr then
    as_json = dualdeploy("detect", "--repo", str(repo.path), "--format", "json", env=env)
    assert json.loads(as_json.stdout)["requires_manual_deploy"] is False
    assert "::warning " in as_json.stderr

    repo.commit("fix the glob", {CONFIG_PATH: TYPO_CONFIG.replace("libs/**", "lib/**")})
    fixed = dualdeploy("detect", "--repo", str(repo.path), "--head", "HEAD", "--base", "main", env=env)
    assert "::warning" not in fixed.stdout and "disagree" not in fixed.summary


def test_an_unknown_default_branch_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mono", branch="trunk")
    repo.commit("base", {CONFIG_PATH: TYPO_CONFIG.replace("libs/**", "lib/**"), **SOURCES})
    result = check(repo)
    assert result.returncode == 2 and "--default-branch" in result.stderr
    assert check(repo, "--default-branch", "trunk").returncode == 0


def test_run_from_a_subfolder_it_finds_the_repository_root(tmp_path: Path) -> None:
    """Like git, the commands work from any folder of the checkout: no "no config file, run
    `dualdeploy init`" (which would write a second config in the subfolder)."""
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: TYPO_CONFIG, **SOURCES})
    inside = repo.path / "server/src"
    result = run_process("check", "--format", "json", cwd=inside)
    assert result.returncode == 1, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["kind"], finding["file"]) == ("no-match", CONFIG_PATH)
    explained = run_process("explain", "--commit", "HEAD", "--deployed-shas", "{}", cwd=inside)
    assert "no config file" not in explained.stderr and "Traceback" not in explained.stderr, explained.stderr


def test_a_push_filter_with_both_paths_and_paths_ignore_is_a_bad_workflow(tmp_path: Path) -> None:
    """GitHub refuses a workflow whose event has both `paths` and `paths-ignore` (or both `branches`
    and `branches-ignore`): it never runs, so nothing deploys. Keeping one clears it."""
    workflow = dedent("""
        on:
          push:
            branches: [main]
            paths: ["server/**", "packages/**"]
            paths-ignore: ["**/*.md"]
        jobs:
          deploy:
            runs-on: ubuntu-latest
            steps:
              - run: echo
        """)
    repo = GitRepo(tmp_path / "mono")
    repo.commit("base", {CONFIG_PATH: AGENTS_CONFIG, ".github/workflows/deploy-agents.yml": workflow, **SOURCES})
    found = findings(repo)
    assert {(f["kind"], f["line"]) for f in found} == {("bad-workflow", 5)}
    assert "paths-ignore" in found[0]["message"]

    repo.commit(
        "keep one", {".github/workflows/deploy-agents.yml": workflow.replace('paths-ignore: ["**/*.md"]\n', "")}
    )
    assert findings(repo) == []
    both_branches = workflow.replace('paths-ignore: ["**/*.md"]', 'branches-ignore: ["release/**"]')
    repo.commit("branches", {".github/workflows/deploy-agents.yml": both_branches})
    assert {f["kind"] for f in findings(repo)} == {"bad-workflow"}


def test_a_folder_with_its_own_config_is_the_repository_when_run_from_it(tmp_path: Path) -> None:
    """A monorepo kept in a folder of a bigger checkout (as examples/monorepo/ is here): run from
    that folder, its own config is used, not the checkout's top."""
    outer = GitRepo(tmp_path / "outer")
    outer.commit("base", {f"nested/{CONFIG_PATH}": TYPO_CONFIG, **{f"nested/{k}": v for k, v in SOURCES.items()}})
    result = run_process("check", "--format", "json", cwd=outer.path / "nested")
    assert result.returncode == 1, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["kind"], finding["file"]) == ("no-match", CONFIG_PATH)

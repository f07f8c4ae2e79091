import json
import re
import subprocess
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from gitrepo import EXAMPLE_CONFIG, GitRepo, example_feature_branch, missing_objects, partial_clone, with_example_config
from runner import Dualdeploy, run_process


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return example_feature_branch(tmp_path / "mono")


def test_json_output_shape(repo: GitRepo) -> None:
    repo.commit("shared change", {"server/src/lib/x.ts": "new", "server/src/agent-v2/deploy/tenant/index.ts": "2"})
    result = run_process("detect", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["base"] == repo.git("rev-parse", "main") and report["head"] == repo.head()
    assert report["changed_files"] == 2 and report["requires_manual_deploy"] is True
    names = [c["name"] for c in report["components"]]
    assert names == ["api", "billing-agent", "support-agent", "tenant-agent"]
    tenant = report["components"][-1]
    assert tenant == {
        "name": "tenant-agent",
        "deploy": "manual",
        "via": ["agent-shared"],
        "files": ["server/src/agent-v2/deploy/tenant/index.ts", "server/src/lib/x.ts"],
    }


def test_without_arguments_compares_the_current_branch_with_the_default_branch(repo: GitRepo) -> None:
    repo.commit("agent", {"server/src/agent-v2/deploy/tenant/index.ts": "3"})
    result = run_process("detect", cwd=repo.path)
    assert result.returncode == 0, result.stderr
    assert "tenant-agent: needs a MANUAL deploy" in result.stdout
    assert "Manual deploy required after merge." in result.stdout


def test_markdown_comment_escapes_hostile_file_names(repo: GitRepo) -> None:
    hostile = {
        "server/src/agent-v2/deploy/tenant/`x`.ts": "1",
        "server/src/agent-v2/deploy/tenant/<script>alert(1)<:script>.ts": "1",
        "server/src/agent-v2/deploy/tenant/@acme/admins.ts": "1",
        "server/src/agent-v2/deploy/tenant/](javascript:alert(1)).ts": "1",
        "server/src/agent-v2/deploy/tenant/new\nline.ts": "1",
    }
    repo.commit("hostile", hostile)
    result = run_process(
        "detect", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "markdown"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!-- dualdeploy:detect-agent-impact -->")
    html = MarkdownIt("gfm-like").render(result.stdout)
    assert "<script>" not in html and 'href="javascript' not in html
    # names show as code, where GitHub makes no mention, link or markup; nothing leaks outside code
    outside_code = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    assert "@acme" not in outside_code and "javascript" not in outside_code and "script" not in outside_code
    assert html.count("<li><code>") == 5
    assert "<li><code>server/src/agent-v2/deploy/tenant/@acme/admins.ts</code></li>" in html
    assert "<li><code>server/src/agent-v2/deploy/tenant/new\\nline.ts</code></li>" in html


def test_markdown_comment_gives_the_deploy_command_with_the_configured_inputs(repo: GitRepo) -> None:
    repo.commit("agent", {"server/src/agent-v2/deploy/tenant/index.ts": "3"})
    result = run_process(
        "detect", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "markdown"
    )
    assert result.returncode == 0, result.stderr
    assert "`gh workflow run deploy-agents.yml --ref main -f 'agents=[\"tenant-agent\"]'`" in result.stdout


def test_markdown_comment_fits_githubs_limit(repo: GitRepo) -> None:
    files = {f"server/src/agent-v2/deploy/tenant/{'d' * 120}/{index:05}.ts": "x" for index in range(3000)}
    files.update({f"server/src/lib/{'s' * 120}/{index:05}.ts": "x" for index in range(3000)})
    repo.commit("huge", files)
    result = run_process(
        "detect", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "markdown"
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) <= 65_536
    assert "more" in result.stdout and "tenant-agent" in result.stdout
    assert "6000 changed files" in result.stdout


def test_bad_config_is_one_line_with_file_line_key_and_exit_2(repo: GitRepo) -> None:
    repo.commit(
        "break config", {".github/dual-deploy.yml": EXAMPLE_CONFIG.replace("deploy: manual", "deploy: manualy", 1)}
    )
    result = run_process(
        "detect", "--repo", str(repo.path), "--base", "main", "--head", "feature", env={"GITHUB_ACTIONS": "true"}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = next(n for n, text in enumerate(EXAMPLE_CONFIG.splitlines(), 1) if "manual" in text)
    assert f".github/dual-deploy.yml:{line}: components.tenant-agent.deploy" in result.stderr
    assert f"::error file=.github/dual-deploy.yml,line={line}," in result.stdout


@pytest.mark.parametrize("args", [["--base", "nope"], ["--head", "nope"], ["--repo", "/nonexistent"]])
def test_bad_refs_and_paths_exit_2_without_traceback(repo: GitRepo, args: list[str]) -> None:
    base = ["--repo", str(repo.path), "--base", "main", "--head", "feature"]
    for index in range(0, len(args), 2):
        base[base.index(args[index]) + 1] = args[index + 1]
    result = run_process("detect", *base)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_error_exits_2(repo: GitRepo) -> None:
    result = run_process("detect", "--format", "yaml")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_actions_mode_reads_the_pull_request_event_and_sets_outputs(
    repo: GitRepo, dualdeploy: Dualdeploy, tmp_path: Path
) -> None:
    base = repo.git("rev-parse", "main")
    head = repo.commit("agent", {"server/src/agent-v2/deploy/tenant/index.ts": "9"})
    repo.checkout("main")
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": 7,
                    "base": {"sha": base, "ref": "main"},
                    "head": {"sha": head, "ref": "feature"},
                }
            }
        )
    )
    result = dualdeploy(
        "detect",
        "--repo",
        str(repo.path),
        env={
            "GITHUB_REPOSITORY": None,  # the event is all it has to go on
            "GITHUB_SERVER_URL": None,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "DD_COMMENT": "false",
            "DD_LABELS": "false",
        },
        as_process=True,
    )
    assert result.returncode == 0, result.stderr
    outputs = result.outputs
    assert outputs["requires-manual-deploy"] == "true"
    assert json.loads(outputs["manual-components"]) == ["tenant-agent"]
    assert json.loads(outputs["components"])[0]["name"] == "tenant-agent"
    assert "Manual deploy needed after merge" in result.summary


def _lines(label: str) -> str:
    return "".join(f"{label} line {number}\n" for number in range(40))


def test_partial_clone_fetches_nothing_and_answers_as_a_full_clone(tmp_path: Path) -> None:
    origin = with_example_config(
        tmp_path / "origin",
        {
            "server/src/agent-v2/deploy/tenant/a.ts": _lines("tenant a"),
            "server/src/agent-v2/deploy/tenant/b.ts": _lines("tenant b"),
            "server/src/lib/util.ts": _lines("util"),
            "server/src/routes/x.ts": _lines("route x"),
            "apps/web/page.tsx": _lines("page"),
            "apps/web/old.tsx": _lines("old"),
            "server/src/agent-v2/deploy/support/s.ts": _lines("support"),
        },
    )
    base = origin.head()
    origin.checkout("feature", new=True)
    # moved and edited (rename detection would read both sides), moved as is, edited in place
    origin.move("server/src/agent-v2/deploy/tenant/a.ts", "server/src/routes/a.ts")
    origin.move("server/src/lib/util.ts", "server/src/agent-v2/deploy/billing/util.ts")
    origin.move("apps/web/old.tsx", "apps/web/new.tsx")
    origin.move("server/src/routes/x.ts", "server/src/routes/y.ts")
    origin.write(
        {
            "server/src/routes/a.ts": _lines("tenant a") + "moved\n",
            "server/src/agent-v2/deploy/billing/util.ts": _lines("util") + "moved\n",
            "apps/web/page.tsx": _lines("page") + "edited\n",
            "server/src/agent-v2/deploy/tenant/b.ts": _lines("tenant b") + "edited\n",
            "server/src/agent-v2/deploy/support/s.ts": _lines("support") + "edited\n",
            # a copy of an edited file: a copy counts at its new path
            "server/src/agent-v2/deploy/support/copy.ts": _lines("support") + "edited\n",
        }
    )
    head = origin.commit("move things around")
    clone = partial_clone(origin, tmp_path / "clone", "feature")
    missing_before = missing_objects(clone)
    assert missing_before, "the clone should lack the base's file contents"

    def detect(repo: Path) -> subprocess.CompletedProcess:
        return run_process("detect", "--repo", str(repo), "--base", base, "--head", head, "--format", "json")

    partial, full = detect(clone), detect(origin.path)
    assert partial.returncode == 0, partial.stderr
    assert missing_objects(clone) == missing_before, "detect fetched file contents from the remote"
    assert partial.stdout == full.stdout
    report = json.loads(partial.stdout)
    files = {component["name"]: component["files"] for component in report["components"]}
    assert files["tenant-agent"] == [
        "server/src/agent-v2/deploy/tenant/a.ts",
        "server/src/agent-v2/deploy/tenant/b.ts",
        "server/src/lib/util.ts",
    ]
    assert files["billing-agent"] == ["server/src/agent-v2/deploy/billing/util.ts", "server/src/lib/util.ts"]
    assert files["support-agent"] == [
        "server/src/agent-v2/deploy/support/copy.ts",
        "server/src/agent-v2/deploy/support/s.ts",
        "server/src/lib/util.ts",
    ]
    assert files["client"] == ["apps/web/new.tsx", "apps/web/old.tsx", "apps/web/page.tsx"]
    assert files["api"] == [
        "server/src/lib/util.ts",
        "server/src/routes/a.ts",
        "server/src/routes/x.ts",
        "server/src/routes/y.ts",
    ]

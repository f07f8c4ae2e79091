"""What CI checks about the suite's YAML: the published actions and the example workflows.

As pytest tests, so that the README's one test command (tests/run.sh, which .ci/run calls) covers
them: zizmor's audit, GitHub's JSON schemas, no `${{ }}` inside `run:`, pinned `uses:`, a shell
on every step and the least permissions written down in every action.

zizmor and check-jsonschema come with the test extras. A missing tool skips its test, or fails
it when CI=true, as act does for the end-to-end tests. Both run offline: zizmor with --offline,
check-jsonschema with schemas vendored in its package; their environment points every proxy at
a closed loopback port, so a tool that tried the network anyway would fail here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION_FILES = [ROOT / "action.yml", *sorted(ROOT.glob("actions/*/action.yml"))]
WORKFLOW_FILES = sorted([*ROOT.glob("examples/workflows/*.yml"), *ROOT.glob("examples/workflows/*.yaml")])
EXPRESSION = re.compile(r"\$\{\{")
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
# `contents: read`, `pull-requests: write`, ... as written in a comment.
PERMISSION_LINE = re.compile(r"\b[a-z][a-z-]*: *(read|write|none)\b")
THIS_REPOSITORY = "dualdeploy/dual-deploy-guard"
NO_NETWORK = "http://127.0.0.1:9"  # the discard port: nothing listens, so a connection fails at once


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def find_tool(name: str) -> Path:
    """A test tool from the venv running pytest (else PATH); skip without it, or fail when CI=true."""
    here = Path(sys.executable).parent / name
    found = here if here.is_file() and os.access(here, os.X_OK) else shutil.which(name)
    if found:
        return Path(found)
    message = f"{name} is not installed (a test extra): tests/run.sh installs it into .venv"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)
    raise AssertionError("unreachable")


def offline_env() -> dict[str, str]:
    """Our environment without tokens or tool configuration, with every proxy pointing nowhere."""
    dropped = ("GH_TOKEN", "GITHUB_TOKEN", "GH_HOST", "NO_PROXY", "no_proxy")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("ZIZMOR_")}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[name] = NO_NETWORK
    return env


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{rel(path)}: not a YAML mapping"
    return document


def steps(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, step) for every step of a composite action or of every job of a workflow."""
    document = load(path)
    if "runs" in document:
        for index, step in enumerate((document.get("runs") or {}).get("steps") or []):
            yield f"runs.steps[{index}]", step
    for job_id, job in (document.get("jobs") or {}).items():
        for index, step in enumerate((job or {}).get("steps") or []):
            yield f"jobs.{job_id}.steps[{index}]", step


def describe(step: dict[str, Any]) -> str:
    label = step.get("name") or step.get("id") or step.get("uses")
    return f" ({label})" if label else ""


def all_uses(path: Path) -> Iterator[tuple[str, str]]:
    """(where, uses) for every reusable-workflow job and every step with `uses:` in a workflow."""
    for job_id, job in (load(path).get("jobs") or {}).items():
        if isinstance((job or {}).get("uses"), str):
            yield f"jobs.{job_id}", job["uses"]
    for where, step in steps(path):
        if isinstance(step.get("uses"), str):
            yield where, step["uses"]


def test_the_files_under_check_exist() -> None:
    assert (ROOT / "action.yml").is_file() and len(ACTION_FILES) > 1, ACTION_FILES
    assert WORKFLOW_FILES, "no example workflows under examples/workflows/"


# --------------------------------------------------------------------------- a) zizmor


def test_zizmor_finds_nothing() -> None:
    zizmor = find_tool("zizmor")
    files = [rel(path) for path in [*ACTION_FILES, *WORKFLOW_FILES]]
    result = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", "--persona=regular", "--format=json", *files],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # 0: no findings; 10-14: findings, by their highest severity; anything else: zizmor failed.
    assert result.returncode == 0 or 10 <= result.returncode <= 14, (
        f"zizmor failed (exit {result.returncode}):\n{result.stderr}"
    )
    findings = [finding for finding in json.loads(result.stdout or "[]") if not finding.get("ignored")]
    assert not findings, "zizmor reports, in " + ", ".join(files) + ":\n" + "\n".join(map(format_finding, findings))


def format_finding(finding: dict[str, Any]) -> str:
    determinations = finding.get("determinations") or {}
    where = []
    for location in finding.get("locations") or []:
        symbolic, concrete = location.get("symbolic") or {}, location.get("concrete") or {}
        path = ((symbolic.get("key") or {}).get("Local") or {}).get("verbatim_path", "?")
        row = ((concrete.get("location") or {}).get("start_point") or {}).get("row", -1) + 1
        where.append(f"{path}:{row}: {symbolic.get('annotation', '')}")
    return (
        f"  {finding.get('ident')} (severity {determinations.get('severity')}, "
        f"confidence {determinations.get('confidence')}): {finding.get('desc')}; how to fix: {finding.get('url')}\n"
        + "\n".join(f"    {line}" for line in where)
    )


# --------------------------------------------------------------------------- b) GitHub's schemas


@pytest.mark.parametrize(
    ("schema", "files"),
    [("vendor.github-workflows", WORKFLOW_FILES), ("vendor.github-actions", ACTION_FILES)],
    ids=["workflows", "actions"],
)
def test_files_match_githubs_schema(schema: str, files: list[Path]) -> None:
    check_jsonschema = find_tool("check-jsonschema")
    result = subprocess.run(
        [str(check_jsonschema), "--builtin-schema", schema, *(rel(path) for path in files)],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"check-jsonschema --builtin-schema {schema} rejects some of {[rel(p) for p in files]} "
        f"(exit {result.returncode}):\n{result.stdout}{result.stderr}"
    )


# --------------------------------------------------------------------------- c) no ${{ }} in run:


def test_no_expression_inside_run() -> None:
    offenders = [
        f"  {rel(path)}: {where}{describe(step)}: {line.strip()}"
        for path in [*ACTION_FILES, *WORKFLOW_FILES]
        for where, step in steps(path)
        if isinstance(step.get("run"), str)
        for line in step["run"].splitlines()
        if EXPRESSION.search(line)
    ]
    assert not offenders, (
        "`${{ }}` inside `run:` is pasted into the script before the shell sees it, so a value from "
        "a pull request or an input can run as code (template injection). Map the value to a variable "
        'under the step\'s `env:` and use "$VARIABLE" in the script instead:\n' + "\n".join(offenders)
    )


# --------------------------------------------------------------------------- d) pinned uses:


def test_example_workflows_pin_every_action_by_full_sha() -> None:
    offenders = []
    for path in WORKFLOW_FILES:
        for where, uses in all_uses(path):
            if uses.startswith("./"):
                continue  # an action of the same repository, at the same commit
            if uses.startswith("docker://"):
                if not re.search(r"@sha256:[0-9a-f]{64}$", uses):
                    offenders.append(f"  {rel(path)}: {where}: {uses} (pin the image by @sha256:<digest>)")
                continue
            ref = uses.rpartition("@")[2] if "@" in uses else ""
            if not FULL_SHA.match(ref):
                offenders.append(f"  {rel(path)}: {where}: {uses}")
    assert not offenders, (
        "the example workflows are copied by users, so each `uses:` must name a full 40-character "
        "commit sha (a tag or branch can be moved to other code), with the release in a comment, "
        "e.g. `uses: owner/repo@<sha> # v1.2.3`:\n" + "\n".join(offenders)
    )


def test_example_pins_of_this_repository_name_commits_that_hold_the_action() -> None:
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--git-dir"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout: the pinned commits cannot be looked up")
    shallow = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--is-shallow-repository"], capture_output=True, text=True
    )
    if shallow.stdout.strip() == "true":
        pytest.skip("a shallow clone may not hold the pinned commits (clone with fetch-depth: 0)")
    offenders = []
    for path in WORKFLOW_FILES:
        for where, uses in all_uses(path):
            name, _, ref = uses.partition("@")
            if not name.lower().startswith(THIS_REPOSITORY) or not FULL_SHA.match(ref):
                continue
            sub_path = name[len(THIS_REPOSITORY) :].strip("/")
            action = f"{sub_path}/action.yml" if sub_path else "action.yml"
            found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{ref}:{action}"], capture_output=True)
            if found.returncode != 0:
                offenders.append(f"  {rel(path)}: {where}: {uses}: commit {ref} has no {action}")
    assert not offenders, (
        "these pins name no commit of this repository that holds the action (a typo, or a commit "
        "that was never pushed); pin the commit of the release tag:\n" + "\n".join(offenders)
    )


# --------------------------------------------------------------------------- e) shell and permissions


@pytest.mark.parametrize("path", ACTION_FILES, ids=rel)
def test_every_action_step_sets_its_shell(path: Path) -> None:
    missing = [
        f"  {rel(path)}: {where}{describe(step)}"
        for where, step in steps(path)
        if "run" in step and not str(step.get("shell") or "").strip()
    ]
    assert not missing, (
        "a composite action's `run:` step must say its shell (the runner refuses it otherwise, and "
        "`shell: bash` also adds -e -o pipefail); add `shell: bash` to:\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("path", ACTION_FILES, ids=rel)
def test_every_action_documents_its_least_permissions(path: Path) -> None:
    comments = [line.strip().lstrip("#") for line in path.read_text().splitlines() if line.lstrip().startswith("#")]
    assert any("permissions" in text.lower() for text in comments), (
        f"{rel(path)} has no comment about `permissions`: add a comment block near the top that lists "
        "the least permissions a job using it needs, one `scope: read|write` per line with the reason"
    )
    assert any(PERMISSION_LINE.search(text) for text in comments), (
        f"{rel(path)} mentions permissions but lists none: write each one the job needs as "
        "`scope: read|write` (e.g. `contents: read`) in the comment block"
    )

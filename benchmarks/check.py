"""Time `dualdeploy check` on a repository of 20,000 files and 100 components.

Builds a scratch repository (packed with `git gc`): each component with 3 patterns, one shared
group and a deploy workflow; half deploy on push with a `paths:` filter (so every file of theirs
and of their groups is matched against the trigger), half by hand with a required choice input.
Prints the median time of the checks (in process, from the file list on) and of the whole
`dualdeploy check --format json` command (a fresh process each time, as in a workflow).

    .venv/bin/python benchmarks/check.py [--files 20000] [--components 100] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dualdeploy.changes import Git  # noqa: E402
from dualdeploy.config import load_config  # noqa: E402
from dualdeploy.jobs.common import check_model  # noqa: E402

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}
GROUPS = 10


def git(repo: Path, *args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=GIT_ENV, input=stdin, capture_output=True)


def config_text(components: int) -> str:
    lines = ["version: 1", "components:"]
    for index in range(components):
        manual = index % 2 == 1
        lines += [
            f"  svc{index}:",
            f"    deploy: {'manual' if manual else 'auto'}",
            f'    paths: ["services/svc{index}/**", "!services/svc{index}/**/*.md", "libs/svc{index}/*/src/**"]',
            f"    uses: [group{index % GROUPS}]",
            f"    deploy-workflow: deploy-svc{index}.yml",
        ]
        if manual:
            lines.append(f"    deploy-inputs: {{target: svc{index}}}")
    lines.append("shared:")
    lines += [f'  group{group}: ["shared/group{group}/**"]' for group in range(GROUPS)]
    return "\n".join(lines) + "\n"


def workflow_text(index: int) -> str:
    if index % 2 == 1:
        return (
            f"name: deploy svc{index}\non:\n  workflow_dispatch:\n    inputs:\n      target:\n"
            f"        required: true\n        type: choice\n        options: [svc{index}, other]\n"
            "jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo deploy\n"
        )
    return (
        f"name: deploy svc{index}\non:\n  push:\n    branches: [main]\n    paths:\n"
        f'      - "services/svc{index}/**"\n      - "libs/svc{index}/**"\n      - "shared/group{index % GROUPS}/**"\n'
        "jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo deploy\n"
    )


def build_repo(repo: Path, files: int, components: int) -> None:
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    blobs = {".github/dual-deploy.yml": config_text(components)}
    blobs.update({f".github/workflows/deploy-svc{index}.yml": workflow_text(index) for index in range(components)})
    for index in range(files - len(blobs)):
        bucket = index % (components + 20)
        if bucket < components and (index // (components + 20)) % 5 == 0:
            path = f"libs/svc{bucket}/pkg{index % 3}/src/file{index}.ts"
        elif bucket < components:
            path = f"services/svc{bucket}/src/module{index % 37}/file{index}.ts"
        elif bucket < components + GROUPS:
            path = f"shared/group{bucket - components}/file{index}.ts"
        else:
            path = f"docs/area{bucket}/page{index}.md"
        blobs[path] = str(index)
    # Write the blobs through fast-import: 20,000 files through the work tree would time the disk.
    commands = ["commit refs/heads/main", "committer b <b@example.com> 0 +0000", "data 4", "base"]
    for path, text in blobs.items():
        data = text.encode()
        commands += [f"M 100644 inline {path}", f"data {len(data)}", text]
    git(repo, "fast-import", "--quiet", stdin=("\n".join(commands) + "\n").encode())
    git(repo, "checkout", "--quiet", "-f", "main")
    git(repo, "gc", "--quiet")


def time_command(repo: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("GITHUB_ACTIONS", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dualdeploy", "check", "--repo", str(repo), "--format", "json"],
        capture_output=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"check failed ({done.returncode}): {done.stdout.decode()[:400]} {done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--components", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo"
        build_repo(repo, options.files, options.components)
        config = load_config(repo / ".github/dual-deploy.yml", display_path=".github/dual-deploy.yml")
        git_repo = Git(repo)
        tracked = len(git_repo.tracked_files())
        step_times = []
        for _ in range(options.runs):
            started = time.perf_counter()
            findings = check_model(git_repo, config, repo, branch="main")
            step_times.append(time.perf_counter() - started)
        assert not findings, findings[:3]
        time_command(repo)  # warm-up: bytecode, page cache
        command = [time_command(repo) for _ in range(options.runs)]
    print(f"repository: {tracked} tracked files, {options.components} components and workflows, {options.runs} runs")
    print(f"checks, from `git ls-files` on (median): {statistics.median(step_times):.3f} s")
    print(f"whole `check --format json` (median): {statistics.median(command):.3f} s")


if __name__ == "__main__":
    main()

"""Time one `dualdeploy sync-check` over a 5,000-commit history with 50 manual components.

Builds a scratch repository with `git fast-import` (each commit changes an agent's folder, a shared
group or unrelated docs), seeds the fake GitHub (tests/fakegithub) with one successful deployment
per component at varied older commits, then runs the sync check as a workflow step would (a fresh
`python -m dualdeploy` process) and prints its wall time and the GitHub requests it made, by kind.
Requests grow with pages (one GraphQL query per 100 environments), never with commits or deployments.

    .venv/bin/python benchmarks/drift.py [--commits 5000] [--components 50]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakegithub import FakeGitHub  # noqa: E402

REPO = "octo/mono"
GROUPS = 5
START = 1_700_000_000
STEP = 600  # ten minutes between commits


def config(components: int) -> str:
    lines = ["version: 1", "components:"]
    for index in range(components):
        lines += [
            f"  agent{index}:",
            "    deploy: manual",
            f'    paths: ["agents/agent{index}/**", "!agents/agent{index}/**/*.md"]',
            f"    uses: [group{index % GROUPS}]",
            "    deploy-workflow: deploy-agents.yml",
        ]
    lines.append("shared:")
    lines += [f'  group{group}: ["shared/group{group}/**"]' for group in range(GROUPS)]
    return "\n".join(lines) + "\n"


def changed_path(number: int, components: int) -> str:
    """What commit `number` changes: mostly agents, some shared code, some unrelated docs."""
    if number % 10 == 0:
        return f"shared/group{number % GROUPS}/lib{number % 7}.ts"
    if number % 3 == 0:
        return f"docs/page{number % 50}.md"
    return f"agents/agent{number % components}/src/file{number % 7}.ts"


def build_repo(repo: Path, commits: int, components: int) -> list[str]:
    """A linear `main` of `commits` commits; returns their shas, oldest first."""
    repo.mkdir()
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(repo)], check=True)
    text = config(components)
    commands = [
        "commit refs/heads/main",
        f"committer b <b@example.com> {START} +0000",
        "data 4",
        "base",
        "M 100644 inline .github/dual-deploy.yml",
        f"data {len(text.encode())}",
        text,
    ]
    for number in range(1, commits):
        message = f"change {number}"
        content = str(number)
        commands += [
            "commit refs/heads/main",
            f"committer b <b@example.com> {START + number * STEP} +0000",
            f"data {len(message)}",
            message,
            f"M 100644 inline {changed_path(number, components)}",
            f"data {len(content)}",
            content,
        ]
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet"],
        input=("\n".join(commands) + "\n").encode(),
        check=True,
        capture_output=True,
    )
    subprocess.run(["git", "-C", str(repo), "checkout", "--quiet", "-f", "main"], check=True)
    shas = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--reverse", "main"], check=True, capture_output=True, text=True
    ).stdout.split()
    assert len(shas) == commits, len(shas)
    return shas


def seed(fake: FakeGitHub, shas: list[str], components: int) -> None:
    """One successful deployment per component, each at a different older commit."""
    fake.add_repo(REPO, head_sha=shas[-1])
    for index in range(components):
        position = (index * (len(shas) - 1)) // components  # from the first commit to near the end
        when = datetime.fromtimestamp(START + position * STEP + 60, timezone.utc)
        deployment = fake.add_deployment(REPO, sha=shas[position], environment=f"agent{index}", created_at=when)
        fake.add_deployment_status(REPO, deployment.id, "success", created_at=when)


def sync_check(fake: FakeGitHub, repo: Path, folder: Path, now: int) -> tuple[float, int, str]:
    """Wall time, exit status and stdout of one `dualdeploy sync-check` process."""
    output, summary = folder / "output", folder / "summary"
    output.write_text("")
    summary.write_text("")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "DD_", "RUNNER_"))}
    # As on a runner, where bytecode is written: the warm-up run writes it, the timed run uses it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            **fake.env(),
            "PYTHONPATH": str(ROOT / "src"),
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
    )
    command = [
        sys.executable,
        "-m",
        "dualdeploy",
        "sync-check",
        "--repo",
        str(repo),
        "--target-sha",
        "main",
        "--now",
        str(now),
        "--report",
        str(folder / "report.json"),
    ]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"sync-check failed ({result.returncode}): {result.stderr}")
    return elapsed, result.returncode, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=5_000)
    parser.add_argument("--components", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, FakeGitHub() as fake:
        repo = Path(folder) / "repo"
        started = time.perf_counter()
        shas = build_repo(repo, options.commits, options.components)
        seed(fake, shas, options.components)
        built = time.perf_counter() - started
        now = START + options.commits * STEP
        sync_check(fake, repo, Path(folder), now)  # warm-up: bytecode, page cache
        fake.reset_requests()
        elapsed, status, stdout = sync_check(fake, repo, Path(folder), now)
        requests = len(fake.requests)
        kinds = Counter(
            "GraphQL" if request.path.endswith("/graphql") else f"REST {request.method}" for request in fake.requests
        )
    first_line = next((line for line in stdout.splitlines() if not line.startswith("::")), "")
    print(f"history: {options.commits} commits, {options.components} manual components (built in {built:.1f} s)")
    print(f"result: exit {status}; {first_line.split(': ', 1)[-1]}")
    print(f"sync-check wall time: {elapsed:.3f} s (target < 2 s)")
    print(f"GitHub requests: {requests} (target <= 5; {requests / options.components:.2f} per component)")
    for kind, count in kinds.most_common():
        print(f"  {count:4d}  {kind}")


if __name__ == "__main__":
    main()

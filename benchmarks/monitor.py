"""Time one `dualdeploy monitor` run: 50 manual components, 2,000 commits, 30 days of deployments.

Builds a scratch repository with git fast-import (2,000 commits spread over 30 days, most of them
changing one agent, some a shared group that several agents use, some the API), seeds the fake
GitHub with 10 successful deployments per agent spread over those 30 days at the commit each one
would have shipped, leaves every fifth agent a day and a half behind (overdue) and deploys the
others at the head, then runs the monitor once as its own process, as in a workflow. Prints the
wall time, the fake's requests by kind and what the run did.

    .venv/bin/python benchmarks/monitor.py [--components 50] [--commits 2000] [--deploys 10] [--runs 2]
    .venv/bin/python benchmarks/monitor.py --profile     # plus a cProfile of one run, in process

Targets for the defaults: under 5 s; at most 20 requests with the metrics, growing with pages of
100 deployments (try --deploys 30), not with deployments one by one.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from fakegithub import DEFAULT_TOKEN, FakeGitHub  # noqa: E402

REPOSITORY = "acme/bench"
DAY = 86400
WINDOW_DAYS = 30
SHARED_GROUPS = 5
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], check=True, env=GIT_ENV, input=stdin, capture_output=True)
    return result.stdout.decode().strip()


def config_text(components: int) -> str:
    lines = ["version: 1", "components:", "  api:", "    deploy: auto", '    paths: ["api/**"]']
    for index in range(components):
        lines += [
            f"  agent{index}:",
            "    deploy: manual",
            f'    paths: ["agents/agent{index}/**", "!agents/agent{index}/**/*.md"]',
            f"    uses: [shared{index % SHARED_GROUPS}]",
            "    deploy-workflow: deploy-agents.yml",
            f'    owners: ["@acme/team{index % 3}"]',
        ]
    lines.append("shared:")
    lines += [f'  shared{group}: ["libs/shared{group}/**"]' for group in range(SHARED_GROUPS)]
    return "\n".join(lines) + "\n"


def commit_path(index: int, components: int) -> str:
    """8 in 10 commits change an agent, 1 in 10 a shared group, 1 in 10 the API."""
    kind = index % 10
    if kind == 8:
        return f"libs/shared{index % SHARED_GROUPS}/src/file{index % 7}.ts"
    if kind == 9:
        return f"api/src/route{index % 11}.ts"
    return f"agents/agent{index % components}/src/module{index % 5}.ts"


def build_repo(repo: Path, *, commits: int, components: int, now: int) -> list[tuple[int, str]]:
    """The repository; returns (commit time, sha) of every commit on main, oldest first."""
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    start = now - WINDOW_DAYS * DAY - DAY
    step = (WINDOW_DAYS * DAY + DAY - 3600) // commits  # the last commit lands an hour before now
    config = config_text(components).encode()
    chunks = [
        b"commit refs/heads/main\nmark :1\n",
        f"committer b <b@example.com> {start} +0000\n".encode(),
        b"data 6\nconfig\n",
        b"M 100644 inline .github/dual-deploy.yml\n",
        b"data %d\n" % len(config),
        config + b"\n",
    ]
    times = [start]
    for index in range(commits):
        moment = start + (index + 1) * step
        times.append(moment)
        message = f"Change {index} (#{1000 + index})".encode()
        content = f"export const change = {index};\n".encode()
        chunks += [
            f"commit refs/heads/main\nmark :{index + 2}\n".encode(),
            f"committer b <b@example.com> {moment} +0000\n".encode(),
            b"data %d\n" % len(message),
            message + b"\n",
            f"M 100644 inline {commit_path(index, components)}\n".encode(),
            b"data %d\n" % len(content),
            content + b"\n",
        ]
    git(repo, "fast-import", "--quiet", stdin=b"".join(chunks))
    git(repo, "checkout", "--quiet", "-f", "main")
    shas = git(repo, "rev-list", "--reverse", "main").split()
    assert len(shas) == commits + 1, len(shas)
    return list(zip(times, shas, strict=True))


def sha_at(history: list[tuple[int, str]], moment: int) -> str:
    """The head of main at a moment: what a deploy then would have shipped."""
    return [sha for landed, sha in history if landed <= moment][-1]


def seed(fake: FakeGitHub, history: list[tuple[int, str]], *, components: int, deploys: int, now: int) -> int:
    """Deployments spread over the window; every fifth agent is left behind. Returns how many are overdue."""
    head = history[-1][1]
    fake.add_repo(REPOSITORY, head_sha=head)
    planned: list[tuple[int, str, str]] = []
    start = now - WINDOW_DAYS * DAY
    for index in range(components):
        for number in range(deploys):
            # Every three days, each agent at its own hour, the last one a day and a half ago.
            moment = start + number * (WINDOW_DAYS * DAY // deploys) + DAY + index * 600
            planned.append((moment, f"agent{index}", sha_at(history, moment)))
        if index % 5:
            planned.append((now - 1800, f"agent{index}", head))  # deployed half an hour ago
    planned.append((now - 3000, "api", head))
    for moment, environment, sha in sorted(planned):
        fake.now = datetime.fromtimestamp(moment, tz=timezone.utc)
        deployment = fake.add_deployment(REPOSITORY, sha=sha, ref="main", environment=environment)
        fake.add_deployment_status(REPOSITORY, deployment.id, "success")
    fake.now = datetime.fromtimestamp(now, tz=timezone.utc)
    return len(range(0, components, 5))


def monitor_command(repo: Path, now: int) -> list[str]:
    return [sys.executable, "-m", "dualdeploy", "monitor", "--repo", str(repo), "--now", str(now)]


def monitor_env(fake: FakeGitHub, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DD_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a runner: bytecode after the first import
    return {
        **env,
        "PYTHONPATH": str(ROOT / "src"),
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": fake.url,
        "GITHUB_TOKEN": DEFAULT_TOKEN,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_OUTPUT": str(folder / "output"),
        "GITHUB_STEP_SUMMARY": str(folder / "summary"),
    }


def run_once(
    fake: FakeGitHub, repo: Path, folder: Path, now: int, *extra: str
) -> tuple[float, int, subprocess.CompletedProcess]:
    fake.reset_requests()
    started = time.perf_counter()
    result = subprocess.run(
        monitor_command(repo, now) + list(extra), env=monitor_env(fake, folder), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"monitor failed ({result.returncode}):\n{result.stderr}")
    return elapsed, len(fake.requests), result


def profile(fake: FakeGitHub, repo: Path, folder: Path, now: int) -> str:
    """One run in this process under cProfile; the top of the cumulative table."""
    from dualdeploy import cli

    os.environ.update(monitor_env(fake, folder))
    profiler = cProfile.Profile()
    profiler.runcall(cli.main, monitor_command(repo, now)[3:])
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
    return text.getvalue()


def request_kind(request) -> str:
    """What a request to the fake was for: REST by method and resource, GraphQL by what it read."""
    if request.path.endswith("/graphql"):
        variables = (request.body or {}).get("variables") or {}
        if "environments" in variables:
            return "GraphQL: deployments in the window, one page of 100 for all environments"
        if "e0" in variables:
            return f"GraphQL: newest deployments of {sum(1 for name in variables if name[1:].isdigit())} environments"
        return "GraphQL: other"
    resource = request.path.split(REPOSITORY, 1)[-1].split("/")[1]
    return f"REST {request.method} {resource}"


def first_line(stdout: str) -> str:
    return next((line for line in stdout.splitlines() if not line.startswith("::")), "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--deploys", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2, help="timed runs: the first opens the issue, later ones edit it")
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    now = int(time.time())
    with tempfile.TemporaryDirectory() as folder, FakeGitHub() as fake:
        work = Path(folder)
        built = time.perf_counter()
        history = build_repo(work / "repo", commits=options.commits, components=options.components, now=now)
        behind = seed(fake, history, components=options.components, deploys=options.deploys, now=now)
        built = time.perf_counter() - built
        deployments = len(fake.deployments(REPOSITORY))
        env = monitor_env(fake, work)
        # Warm-up: bytecode for our modules and PyGithub, as on a runner after the first import.
        subprocess.run([sys.executable, "-c", "import dualdeploy.cli, dualdeploy.jobs.monitor, github"], env=env)
        runs = [run_once(fake, work / "repo", work, now) for _ in range(options.runs)]
        last_requests = Counter(request_kind(request) for request in fake.requests)
        print(
            f"repository: {options.commits} commits over {WINDOW_DAYS} days, {options.components} manual components, "
            f"{deployments} deployments in the fake ({built:.1f} s to build)"
        )
        print(f"overdue expected: {behind}; the run said: {first_line(runs[0][2].stdout)}")
        for number, (elapsed, requests, result) in enumerate(runs, 1):
            what = [line for line in result.stdout.splitlines() if "alert issue" in line]
            print(
                f"run {number}: {elapsed:.2f} s wall, {requests} requests, exit {result.returncode}; {'; '.join(what)}"
            )
        print(f"median wall time: {statistics.median(r[0] for r in runs):.2f} s (target < 5 s)")
        print(f"requests of the last run: {runs[-1][1]} (target <= 20, linear in pages of 100 deployments)")
        for kind, count in last_requests.most_common():
            print(f"  {count:4d}  {kind}")
        elapsed, requests, _ = run_once(fake, work / "repo", work, now, "--no-metrics")
        print(f"the same run without the 30-day metrics (--no-metrics): {elapsed:.2f} s wall, {requests} requests")
        for kind, count in Counter(request_kind(request) for request in fake.requests).most_common():
            print(f"  {count:4d}  {kind}")
        if options.profile:
            print(profile(fake, work / "repo", work, now))


if __name__ == "__main__":
    main()

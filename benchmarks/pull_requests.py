"""Time record-deployment and the monitor following 50 merged pull requests that wait for a deploy.

Builds a scratch repository (a base commit, then 50 pull requests merged as merge commits, half
changing the tenant agent and half the customer agent, plus --filler commits of unrelated history),
packs it (git gc), seeds the loopback fake GitHub with the 50 merged pull requests as the suite
leaves them after their `closed` event (both labels and the sticky comment with its hidden state,
next to a person's comment), then, each as its own process as in a workflow:

1. `dualdeploy record --component tenant-agent` at main: 25 pull requests lose the label;
2. a deployment of customer-agent made by other tooling, then `dualdeploy monitor` (the catch-up):
   the other 25 lose it;
3. the same monitor again: nothing left to update;
4. the monitor with its metrics, which read every pull request merged in the window.

Prints each run's wall time and the fake's requests by kind.

    .venv/bin/python benchmarks/pull_requests.py [--pulls 50] [--filler 2000]

Requests grow with the pull requests a run updates (about three each: their comments, the comment
edit, the label removal) plus one listing per 100, not with the repository's history.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from fakegithub import DEFAULT_TOKEN, FakeGitHub  # noqa: E402

REPOSITORY = "acme/bench"
CONFIG = """\
version: 1
components:
  tenant-agent:
    deploy: manual
    paths: ["agents/tenant/**"]
    deploy-workflow: deploy-agents.yml
  customer-agent:
    deploy: manual
    paths: ["agents/customer/**"]
    deploy-workflow: deploy-agents.yml
"""
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}
T0 = datetime(2024, 1, 15, 9, 0, tzinfo=timezone.utc)


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], check=True, env=GIT_ENV, input=stdin, capture_output=True)
    return result.stdout.decode().strip()


def build(repo: Path, pulls: int, filler: int) -> dict[int, str]:
    """The repository; returns each pull request's merge commit."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / ".github").mkdir()
    (repo / ".github/dual-deploy.yml").write_text(CONFIG)
    for folder in ("tenant", "customer", "docs"):
        (repo / "agents" / folder).mkdir(parents=True, exist_ok=True)
        (repo / "agents" / folder / "index.ts").write_text("0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    stream = [f"reset refs/heads/main\nfrom {git(repo, 'rev-parse', 'HEAD')}\n"]
    for index in range(filler):
        body = f"filler {index}\n".encode()
        message = f"Unrelated change {index}".encode()
        stream.append(
            f"commit refs/heads/main\ncommitter b <b@example.com> {1700000000 + index} +0000\n"
            f"data {len(message)}\n{message.decode()}\nM 644 inline agents/docs/file{index % 50}.md\n"
            f"data {len(body)}\n{body.decode()}\n"
        )
    git(repo, "fast-import", "--quiet", stdin="".join(stream).encode())
    git(repo, "reset", "-q", "--hard", "main")
    merges = {}
    for number in range(1, pulls + 1):
        folder = "tenant" if number % 2 else "customer"
        main = git(repo, "rev-parse", "main")
        (repo / "agents" / folder / "index.ts").write_text(f"{number}\n")
        git(repo, "add", "-A")
        tree = git(repo, "write-tree")
        change = git(repo, "commit-tree", tree, "-p", main, "-m", f"Change {number}")
        merges[number] = git(repo, "commit-tree", tree, "-p", main, "-p", change, "-m", f"Merge pull request #{number}")
        git(repo, "update-ref", "refs/heads/main", merges[number])
    git(repo, "reset", "-q", "--hard", "main")
    git(repo, "gc", "-q")
    return merges


def seed(fake: FakeGitHub, repo: Path, merges: dict[int, str]) -> None:
    from dualdeploy.config import load_config
    from dualdeploy.pull_requests import PullRequestLife, render_comment

    config = load_config(repo / ".github/dual-deploy.yml")
    fake.add_repo(REPOSITORY, head_sha=git(repo, "rev-parse", "main"))
    for number, merge in merges.items():
        component = "tenant-agent" if number % 2 else "customer-agent"
        merged_at = T0 + timedelta(minutes=number)
        fake.add_pull(
            REPOSITORY,
            number,
            head_sha=merge,
            title=f"Change {number}",
            labels=["agent-changes", "requires-manual-deploy"],
            state="closed",
            merged_at=merged_at,
            merge_commit_sha=merge,
        )
        life = PullRequestLife(number, (component,), int(merged_at.timestamp()), merge)
        state = life.to_state({"labels_added": ["agent-changes", "requires-manual-deploy"]})
        fake.add_issue_comment(
            REPOSITORY, number, render_comment(life, config, f"https://github.com/{REPOSITORY}", state)
        )
        fake.add_issue_comment(REPOSITORY, number, "LGTM", user="hubot")


def run(fake: FakeGitHub, repo: Path, label: str, *args: str) -> None:
    fake.reset_requests()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "DD_"))},
        **fake.env(DEFAULT_TOKEN),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_SHA": git(repo, "rev-parse", "main"),
        "GITHUB_RUN_ID": "1",
        "DD_DEFAULT_BRANCH": "main",
        "PYTHONPATH": str(ROOT / "src"),
    }
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "dualdeploy", *args, "--repo", str(repo)], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"{label} failed ({result.returncode}): {result.stderr}")
    kinds = Counter(f"{r.method} {kind_of(r.path)}" for r in fake.requests)
    waiting = sum(1 for n in range(1, 1000) if has_label(fake, n))
    print(f"{label}: {elapsed:.2f} s, {len(fake.requests)} requests; still labelled: {waiting}")
    for kind, count in sorted(kinds.items()):
        print(f"    {count:4d}  {kind}")


def has_label(fake: FakeGitHub, number: int) -> bool:
    try:
        return "requires-manual-deploy" in fake.issue(REPOSITORY, number).labels
    except Exception:  # noqa: BLE001 (past the last pull request)
        return False


def kind_of(path: str) -> str:
    parts = path.split("?")[0].split("/")
    return "/".join("{n}" if part.isdigit() else part for part in parts[4:]) or path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulls", type=int, default=50)
    parser.add_argument("--filler", type=int, default=2000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, FakeGitHub() as fake:
        repo = Path(scratch) / "repo"
        merges = build(repo, options.pulls, options.filler)
        seed(fake, repo, merges)
        fake.now = T0 + timedelta(minutes=options.pulls + 30)
        print(f"{options.pulls} merged pull requests waiting, {options.filler} unrelated commits of history")
        run(fake, repo, "record-deployment tenant-agent", "record", "--component", "tenant-agent")
        deployment = fake.add_deployment(REPOSITORY, sha=merges[max(merges)], ref="main", environment="customer-agent")
        fake.add_deployment_status(REPOSITORY, deployment.id, "success")
        now = str(int((T0 + timedelta(minutes=options.pulls + 40)).timestamp()))
        run(fake, repo, "monitor (catch-up)", "monitor", "--no-metrics", "--now", now)
        run(fake, repo, "monitor again", "monitor", "--no-metrics", "--now", now)
        run(fake, repo, "monitor with per-PR metrics", "monitor", "--now", now)


if __name__ == "__main__":
    main()

"""Time `dualdeploy explain` on the bundled example monorepo: the four cases of its tests.

Copies examples/monorepo into a scratch repository, adds `--history` commits that change the agents,
the shared contracts and the API in turn, packs it (`git gc`), then runs `python -m dualdeploy
explain --format json` as a person would (a fresh process, no token, `--deployed-shas`) for: a
deployed commit, a pending commit, a commit that touches only automatic components, and a commit
that reaches the agents through a shared group. Prints each wall time (target: under 1 s).

    .venv/bin/python benchmarks/explain.py [--history 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "monorepo"
PATHS = (
    "server/src/agent-v2/deploy/tenant/index.ts",
    "packages/contracts/src/index.ts",
    "server/src/routes/hello.ts",
    "server/src/agent-v2/deploy/billing/index.ts",
)
START = 1_700_000_000


def build(repo: Path, history: int) -> list[str]:
    """The example, then `history` commits cycling through PATHS; returns the shas, oldest first."""
    shutil.copytree(EXAMPLE, repo)
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.com"}

    def git(*args: str, stdin: bytes | None = None) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True, input=stdin, env=env
        ).stdout.decode()

    git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    git("commit", "--quiet", "-m", "Initial monorepo")
    stream = []
    for number in range(1, history + 1):
        path = PATHS[number % len(PATHS)]
        message = f"Change {number} (#{number})".encode()
        content = f"{number}\n".encode()
        stamp = START + number * 600
        stream += [
            b"commit refs/heads/main",
            f"mark :{number}".encode(),
            f"committer Bench <b@example.com> {stamp} +0000".encode(),
            f"data {len(message)}".encode(),
            message,
        ]
        if number == 1:
            stream.append(b"from refs/heads/main^0")
        stream += [f"M 100644 inline {path}".encode(), f"data {len(content)}".encode(), content]
    git("fast-import", "--quiet", stdin=b"\n".join(stream) + b"\n")
    git("reset", "--quiet", "--hard", "main")
    git("gc", "--quiet")
    return git("rev-list", "--reverse", "main").split()


def explain(repo: Path, commit: str, shas: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dualdeploy", "explain", "--repo", str(repo), "--commit", commit, "--format", "json"]
        + ["--deployed-shas", json.dumps(shas)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "GITHUB_TOKEN": ""},
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"explain failed ({done.returncode}): {done.stderr}")
    return elapsed, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "mono"
        shas = build(repo, options.history)
        middle, head = shas[len(shas) // 2], shas[-1]
        # Pick one commit of each kind from the middle of the history.
        tenant = next(s for i, s in enumerate(shas) if i > len(shas) // 2 and i % len(PATHS) == 0)
        contracts = next(s for i, s in enumerate(shas) if i > len(shas) // 2 and i % len(PATHS) == 1)
        route = next(s for i, s in enumerate(shas) if i > len(shas) // 2 and i % len(PATHS) == 2)
        agents = ("tenant-agent", "support-agent", "billing-agent")
        cases = {
            "deployed commit (tenant-agent runs the head)": (tenant, {"tenant-agent": head}),
            "pending commit (tenant-agent runs an older commit)": (tenant, {"tenant-agent": middle}),
            "only auto components (api)": (route, {"api": head}),
            "through shared group agent-shared": (contracts, {**dict.fromkeys(agents, middle), "client": head}),
        }
        print(f"example monorepo with {len(shas)} commits, packed; python -m dualdeploy explain --format json")
        for name, (commit, deployed) in cases.items():
            times = []
            for _ in range(options.runs):
                elapsed, document = explain(repo, commit, deployed)
                times.append(elapsed)
            statuses = ", ".join(f"{c['name']}={c['status']}" for c in document["components"])
            print(f"  {name}: best {min(times):.2f} s, worst {max(times):.2f} s ({statuses})")


if __name__ == "__main__":
    main()

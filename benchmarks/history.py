"""History on demand: the extra time of `dualdeploy sync-check` on a depth-1 checkout.

Builds a 2,000-commit repository with `git fast-import` (packed with `git gc`, as a served
repository is), then runs the same sync check in a full clone and in depth-1 clones of it
(`git clone --depth 1 --no-single-branch file://…`, and the same with `--filter=blob:none`), for a
component deployed 20 commits back and one deployed at the very first commit. Each depth-1 run
starts from a fresh clone, so the time includes the fetches that deepen it; the answer must be the
full clone's. Prints the wall time of each and the extra time over the full clone.

    .venv/bin/python benchmarks/history.py [--commits 2000]
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from drift import START, build_repo  # noqa: E402

COMPONENTS = 10


def clone(origin: Path, target: Path, *options: str) -> Path:
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(
        ["git", "clone", "--quiet", *options, f"file://{origin}", str(target)], check=True, capture_output=True
    )
    return target


def sync_check(repo: Path, folder: Path, deployed: str) -> tuple[float, int, str]:
    """Wall time, exit status and the pending commits of one `dualdeploy sync-check` process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "DD_", "RUNNER_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(ROOT / "src")
    command = [
        sys.executable,
        "-m",
        "dualdeploy",
        "sync-check",
        "--repo",
        str(repo),
        "--components",
        "agent0",
        "--deployed-shas",
        json.dumps({"agent0": deployed}),
        "--now",
        str(START + 10**8),
        "--format",
        "json",
        "--report",
        str(folder / "report.json"),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"sync-check failed ({done.returncode}): {done.stderr}")
    [component] = json.loads(done.stdout)["components"]
    return elapsed, done.returncode, ",".join(commit["sha"][:7] for commit in component["pending_commits"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=2000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        origin = folder / "origin"
        shas = build_repo(origin, options.commits, COMPONENTS)
        subprocess.run(["git", "-C", str(origin), "gc", "--quiet"], check=True)
        subprocess.run(["git", "-C", str(origin), "config", "uploadpack.allowFilter", "true"], check=True)
        full = clone(origin, folder / "full")
        sync_check(full, folder, shas[-21])  # warm-up: bytecode written, page cache filled
        print(f"{options.commits} commits, packed; sync-check of one component, wall time (extra over the full clone)")
        for label, deployed in (("deployed 20 commits back", shas[-21]), ("deployed at the first commit", shas[0])):
            base, status, pending = sync_check(full, folder, deployed)
            count = pending.count(",") + 1 if pending else 0
            print(f"  {label}: full clone {base:.2f} s (exit {status}, {count} pending)")
            for kind, extra_options in (
                ("depth 1", ()),
                ("depth 1, blob:none", ("--filter=blob:none",)),
            ):
                shallow = clone(origin, folder / "shallow", "--depth", "1", "--no-single-branch", *extra_options)
                took, shallow_status, shallow_pending = sync_check(shallow, folder, deployed)
                same = "same answer" if (shallow_status, shallow_pending) == (status, pending) else "DIFFERENT answer"
                print(f"    {kind}: {took:.2f} s (+{took - base:.2f} s), {same}")


if __name__ == "__main__":
    main()

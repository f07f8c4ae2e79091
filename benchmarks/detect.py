"""Time `dualdeploy detect` on a 20,000-file change with 100 components.

Builds a scratch repository (each component with 3 patterns and one shared group) and packs it
(`gc.auto 0` while building, then `git gc` in the foreground: a background gc started by the big
commit would skew every timing). Prints the best and the median time of the matching step (the
config's filters over the changed paths, timed inside a fresh process that has read the config,
as in the command), of the whole `detect --format json` command (a fresh process each time, as in
a workflow) with its CPU time, and the whole command's peak memory. The machine may be shared:
the best figure is the one to compare with the targets, the median shows the noise, and the CPU
time what the command itself costs.

    .venv/bin/python benchmarks/detect.py [--files 20000] [--components 100] [--runs 7]
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
from dualdeploy.impact import impact_of_paths  # noqa: E402
from dualdeploy.patterns import FilterSet  # noqa: E402

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


def git(repo: Path, *args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=GIT_ENV, input=stdin, capture_output=True)


def write_config(repo: Path, components: int) -> None:
    lines = ["version: 1", "components:"]
    for index in range(components):
        deploy = "manual" if index % 2 else "auto"
        lines += [
            f"  svc{index}:",
            f"    deploy: {deploy}",
            f'    paths: ["services/svc{index}/**", "!services/svc{index}/**/*.md", "libs/svc{index}/*/src/**"]',
            f"    uses: [group{index % 10}]",
        ]
    lines.append("shared:")
    for group in range(10):
        lines.append(f'  group{group}: ["shared/group{group}/**"]')
    (repo / ".github").mkdir(parents=True)
    (repo / ".github/dual-deploy.yml").write_text("\n".join(lines) + "\n")


def build_repo(repo: Path, files: int, components: int) -> None:
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "gc.auto", "0")
    write_config(repo, components)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "base")
    git(repo, "checkout", "--quiet", "-b", "big")
    # Write the blobs through fast-import: 20,000 files through the work tree would time the disk.
    commands = ["commit refs/heads/big", "committer b <b@example.com> 0 +0000", "data 3", "big", "from refs/heads/main"]
    for index in range(files):
        bucket = index % (components + 20)
        if bucket < components:
            path = f"services/svc{bucket}/src/module{index % 37}/file{index}.ts"
        elif bucket < components + 10:
            path = f"shared/group{bucket - components}/file{index}.ts"
        else:
            path = f"docs/area{bucket}/page{index}.md"
        commands += [f"M 100644 inline {path}", f"data {len(str(index))}", str(index)]
    git(repo, "fast-import", "--quiet", stdin=("\n".join(commands) + "\n").encode())
    git(repo, "checkout", "--quiet", "-f", "big")
    git(repo, "gc", "--quiet")


def time_command(repo: Path) -> tuple[float, int, float]:
    """Wall time, peak RSS (KiB) and CPU time (git's included) of one `detect --format json` process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("GITHUB_ACTIONS", None)
    # As on a runner, where the installed packages carry bytecode and the action's own modules get
    # theirs on first import: a warm-up run writes it, then the timed runs use it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dualdeploy",
            "detect",
            "--repo",
            str(repo),
            "--base",
            "main",
            "--head",
            "big",
            "--format",
            "json",
        ],
        stdout=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("detect failed")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def time_matching(repo: Path) -> float:
    """The matching step, timed in a fresh process (no pattern caches left by an earlier run)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, __file__, "--match-once", str(repo)], env=env, check=True, capture_output=True, text=True
    )
    return float(done.stdout)


def match_once(repo: Path) -> None:
    config = load_config(repo / ".github/dual-deploy.yml")
    git_repo = Git(repo)
    paths = git_repo.changed_paths(git_repo.resolve("main"), git_repo.resolve("big"))
    started = time.perf_counter()
    FilterSet(config.filters()).match(paths)
    print(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--components", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--match-once", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.match_once:
        return match_once(options.match_once)
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo"
        build_repo(repo, options.files, options.components)
        config = load_config(repo / ".github/dual-deploy.yml")
        git_repo = Git(repo)
        base, head = git_repo.resolve("main"), git_repo.resolve("big")
        paths = git_repo.changed_paths(base, head)
        assert len(paths) == options.files, len(paths)
        impact = impact_of_paths(config, paths, base=base, head=head)
        time_command(repo)  # warm-up: bytecode, page cache
        match_times = [time_matching(repo) for _ in range(options.runs)]
        command = [time_command(repo) for _ in range(options.runs)]
    print(
        f"change: {options.files} files, {options.components} components "
        f"({len(impact.components)} impacted), {options.runs} runs, packed repository"
    )
    print(f"matching step: {_figures(match_times)}")
    print(f"whole `detect --format json`: {_figures([t for t, _, _ in command])}")
    # CPU time suffers less than wall time when other work shares the machine.
    print(f"CPU time of the command, git included: {_figures([c for _, _, c in command])}")
    print(f"peak memory of the command: {max(m for _, m, _ in command) / 1024:.1f} MiB")


def _figures(times: list[float]) -> str:
    return f"best {min(times):.3f} s, median {statistics.median(times):.3f} s"


if __name__ == "__main__":
    main()

"""Git repositories built by the tests themselves, in temporary folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

EXAMPLE_MONOREPO = Path(__file__).resolve().parents[1] / "examples" / "monorepo"
CONFIG_PATH = ".github/dual-deploy.yml"
EXAMPLE_CONFIG = (EXAMPLE_MONOREPO / CONFIG_PATH).read_text()
T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC, where the dated histories of the tests start

AUTHOR = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}


class GitRepo:
    """A scratch repository with helpers to write files and commit them."""

    def __init__(self, path: Path, *, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", f"--initial-branch={branch}")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, date: str | None = None) -> str:
        env = {**os.environ, **AUTHOR}
        if date:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
        result = subprocess.run(
            ["git", "-C", str(self.path), *args], check=True, env=env, capture_output=True, text=True
        )
        return result.stdout.strip()

    def write(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(
        self,
        message: str,
        files: dict[str, str | bytes] | None = None,
        *,
        date: str | None = None,
        author: str | None = None,
    ) -> str:
        if files:
            self.write(files)
        self.git("add", "--all")
        args = ["commit", "--quiet", "--allow-empty", "-m", message]
        if author:
            args.append(f"--author={author}")
        self.git(*args, date=date)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def checkout(self, ref: str, *, new: bool = False) -> None:
        self.git("checkout", "--quiet", *(["-b"] if new else []), ref)

    def remove(self, *names: str) -> None:
        self.git("rm", "--quiet", "-r", *names)

    def move(self, source: str, target: str) -> None:
        (self.path / target).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", source, target)


def example_monorepo(path: Path, *, date: str | None = None) -> GitRepo:
    """The bundled example monorepo copied to `path` (its .github/workflows/ links to the example
    workflows, copied as files), all of it in one commit "Initial monorepo"."""
    shutil.copytree(EXAMPLE_MONOREPO, path)
    repo = GitRepo(path)
    repo.commit("Initial monorepo", date=date)
    return repo


def with_example_config(path: Path, files: dict[str, str | bytes], *, date: str | None = None) -> GitRepo:
    """A repository whose first commit "base" holds the example's config and `files`."""
    repo = GitRepo(path)
    repo.commit("base", {CONFIG_PATH: EXAMPLE_CONFIG, **files}, date=date)
    return repo


def example_feature_branch(path: Path) -> GitRepo:
    """The example's config with the API, the tenant agent and the web client on main, and a
    new branch `feature` checked out."""
    repo = with_example_config(
        path,
        {
            "server/src/index.ts": "1",
            "server/src/agent-v2/deploy/tenant/index.ts": "1",
            "apps/web/a.tsx": "1",
        },
    )
    repo.checkout("feature", new=True)
    return repo


def at(seconds: int) -> str:
    """A git date `seconds` after T0 (author and committer)."""
    return f"@{T0 + seconds} +0000"


def git_date(moment: datetime) -> str:
    """`moment` as a date git takes for author and committer."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def partial_clone(source: GitRepo, target: Path, branch: str) -> Path:
    """A `--filter=blob:none` clone of `source` with `branch` checked out: as `actions/checkout` with
    `filter: blob:none` leaves it, every other commit's file contents stay on the remote."""
    source.git("config", "uploadpack.allowFilter", "true")
    subprocess.run(
        ["git", "clone", "--quiet", "--filter=blob:none", f"--branch={branch}", f"file://{source.path}", str(target)],
        check=True,
        capture_output=True,
    )
    return target


def missing_objects(clone: Path) -> set[str]:
    """The objects a partial clone knows of but has not fetched (asking fetches nothing)."""
    listed = subprocess.run(
        ["git", "-C", str(clone), "rev-list", "--objects", "--all", "--missing=print"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line[1:] for line in listed.splitlines() if line.startswith("?")}

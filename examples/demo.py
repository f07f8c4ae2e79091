"""Run Dual Deploy Guard's main job on the bundled example, locally, with no token.

Builds a git repository from examples/monorepo/ in a temporary folder, adds a feature branch that
changes shared contracts and the web client, and asks `dualdeploy detect` what the pull request
would need: the PR comment (Markdown) and the JSON the action's outputs are made of.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent / "monorepo"


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Demo",
        "GIT_AUTHOR_EMAIL": "demo@example.com",
        "GIT_COMMITTER_NAME": "Demo",
        "GIT_COMMITTER_EMAIL": "demo@example.com",
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def build_example_repo(target: Path) -> None:
    shutil.copytree(EXAMPLE, target)
    git(target, "init", "--quiet", "--initial-branch=main")
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "-m", "Initial monorepo")
    git(target, "checkout", "--quiet", "-b", "feature/tenant-plan")
    contracts = target / "packages/contracts/src/index.ts"
    contracts.write_text(contracts.read_text() + "export type Plan = 'free' | 'pro';\n")
    app = target / "apps/web/src/App.tsx"
    app.write_text(app.read_text() + "export const planBadge = true;\n")
    git(target, "commit", "--quiet", "-am", "Add tenant plans to the contracts and the web client")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="dualdeploy-demo-") as folder:
        repo = Path(folder) / "monorepo"
        build_example_repo(repo)
        for output_format in ("markdown", "json"):
            print(
                f"\n$ dualdeploy detect --repo {repo} --base main --head feature/tenant-plan --format {output_format}\n"
            )
            sys.stdout.flush()
            result = subprocess.run(
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
                    "feature/tenant-plan",
                    "--format",
                    output_format,
                ],
                # A repository name, so the deploy links look as they will on GitHub.
                env={**os.environ, "GITHUB_REPOSITORY": "acme/mono"},
            )
            if result.returncode != 0:
                return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`dualdeploy labels`: create the suite's labels, or set their colour and description right.

The actions create a missing label on demand and leave an existing one as it is (a person may
have picked another colour); this command is the explicit way to make them all as the suite
defines them. Only the suite's labels are touched. Run twice, the second run only reads.
"""

from __future__ import annotations

import argparse

from dualdeploy import actions_io
from dualdeploy.errors import DualDeployError


def _same(existing: str | None, wanted: str) -> bool:
    return (existing or "").strip().lower() == wanted.lower()


def sync_suite_labels(repo) -> list[tuple[str, str]]:
    """Create missing suite labels and fix the others; returns (label, "created"|"updated"|"unchanged")."""
    from dualdeploy import github

    with github.call("list the repository's labels", permission="issues: read"):
        existing = {label.name.lower(): label for label in repo.get_labels()}
    results = []
    for wanted in github.SUITE_LABELS.values():
        label = existing.get(wanted.name.lower())
        if label is None:
            with github.call(f"create the label {wanted.name!r}", permission="issues: write"):
                repo.create_label(wanted.name, wanted.color, wanted.description)
            results.append((wanted.name, "created"))
        elif _same(label.color, wanted.color) and (label.description or "") == wanted.description:
            results.append((label.name, "unchanged"))
        else:
            with github.call(f"update the label {label.name!r}", permission="issues: write"):
                # The name is kept as the repository spells it ("Alert" stays "Alert").
                label.edit(label.name, wanted.color, wanted.description)
            results.append((label.name, "updated"))
    return results


def run(args: argparse.Namespace) -> int:
    from dualdeploy import github

    repository = args.repository or ""
    token = args.github_token or ""
    if not token:
        # As the help says: without a token, show what a run with one would make, and change nothing.
        print(f"dry run (no token): would create or update these labels in {repository or 'the repository'}:")
        for label in github.SUITE_LABELS.values():
            print(f"  {label.name} (#{label.color}: {label.description})")
        print("pass --github-token (or set GITHUB_TOKEN) with issues: write to make them")
        return 0
    if not repository:
        raise DualDeployError(
            "which repository? pass --repository owner/name (in Actions, GITHUB_REPOSITORY is used)",
            key="--repository",
        )
    actions_io.mask(token)
    repo = github.connect(token).get_repo(repository)
    try:
        results = sync_suite_labels(repo)
    finally:
        print(f"GitHub API requests: {github.REQUESTS.count}")
    for name, action in results:
        label = github.SUITE_LABELS.get(name.lower()) or github.SUITE_LABELS.get(name)
        detail = f" (#{label.color}: {label.description})" if label and action != "unchanged" else ""
        print(f"{action:<9} {name}{detail}")
    return 0

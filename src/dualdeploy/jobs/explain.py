"""`dualdeploy explain`: why isn't my change live? One commit, pull request or path, every answer.

The change is read from local git (`--commit`, a path) or from GitHub (`--pr` with a token; without
one, the pull request's merge or squash commit on the default branch). Each impacted component's
deployed commit comes from the same providers as the other commands (or `--deployed-shas`), and
local git says whether it contains the change.

Exit status: 0 when every impacted component was seen (deployed or pending: the question is
answered either way; `--fail-on-pending` makes pending exit 1), 2 when one is unknown (unless
`--on-unknown warn`) or the change cannot be found.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from dualdeploy import actions_io
from dualdeploy.assessment import read_all, resolve_sha
from dualdeploy.changes import Git
from dualdeploy.errors import EXIT_GAP, EXIT_USAGE, DualDeployError
from dualdeploy.explain import PENDING, UNKNOWN, Change, Explanation, explain, impacted
from dualdeploy.jobs import common
from dualdeploy.render import render_plain


def run(args: argparse.Namespace) -> int:
    if args.on_unknown not in ("fail", "warn"):
        raise DualDeployError(f"must be 'fail' or 'warn', not {args.on_unknown!r}", key="--on-unknown")
    git, config = common.open_config(args)
    branch = default_branch(git)
    change = read_change(args, git, branch)
    components = tuple(config.component(answer.name) for answer in impacted(config, change))
    reader = common.deployment_reader(args, git, config)
    read = [resolve_sha(git, d) for d in read_all(reader, components)]
    # History on demand, as for the other commands: a shallow or partial clone fetches the deployed
    # commits and deepens until they connect with the change; what is still missing stays unknown.
    target = git.try_resolve(branch_ref(git, branch)) or change.sha
    _, whole = git.complete_history(target, [change.sha, *(d.sha for d in read if d.sha)])
    deployments = {d.component: resolve_sha(git, d) for d in read}
    known = git.existing({d.sha for d in deployments.values() if d.sha})

    def contains(deployed: str, commit: str) -> bool | None:
        if deployed not in known:
            return None
        # With the range whole a "no" is a real no; a history still cut short makes it unknown.
        return git.is_ancestor(commit, deployed) if whole else git.contains(deployed, commit)

    result = explain(config, change, deployments, contains, repo_url=actions_io.repo_url())
    report(result, args.format)
    return exit_status(result, args)


def exit_status(result: Explanation, args: argparse.Namespace) -> int:
    unknown = result.of(UNKNOWN)
    failing = bool(unknown) and args.on_unknown == "fail"
    for answer in unknown:
        actions_io.annotate(
            "error" if failing else "warning",
            f"{answer.name}: cannot tell whether it runs {result.change.sha[:12]}: {answer.reason}",
            title=f"dualdeploy explain: {answer.name} unknown",
            stream=sys.stderr,  # stdout holds the JSON
        )
    if failing:
        first = unknown[0]
        fix = first.fix or "give the job a token that can read deployments"
        print(
            f"dualdeploy: error: explain: could not see what {len(unknown)} component(s) run "
            f"({first.name}: {first.reason}); fix: {fix}; or pass --deployed-shas, or --on-unknown warn to accept it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if result.of(PENDING) and args.fail_on_pending:
        return EXIT_GAP
    return 0


def report(result: Explanation, output_format: str) -> None:
    text = render_plain("explain.txt.j2", change=result.change, components=result.components)
    if output_format == "json":
        print(json.dumps(result.to_json(), separators=(", ", ": ")))
        print(text, file=sys.stderr, end="")
    else:
        print(text, end="")


def default_branch(git: Git) -> str:
    """The branch a deploy runs from: DD_DEFAULT_BRANCH or the event's, else origin's HEAD, else main/master."""
    branch = actions_io.default_branch()
    if branch:
        return branch
    try:
        found = git.default_branch()
    except DualDeployError:
        return "main"
    return found.removeprefix("origin/")


def branch_ref(git: Git, branch: str) -> str:
    """The local ref of the default branch: origin's copy when there is one (it is what was merged)."""
    for ref in (f"origin/{branch}", branch):
        if git.try_resolve(ref):
            return ref
    return "HEAD"


def read_change(args: argparse.Namespace, git: Git, branch: str) -> Change:
    asked = [name for name in ("commit", "pr", "path") if getattr(args, name, None)]
    if len(asked) != 1:
        raise DualDeployError(
            "say which change to explain: exactly one of --commit SHA, --pr NUMBER or a path "
            "(e.g. `dualdeploy explain --pr 42`)",
            key="explain",
        )
    ref = branch_ref(git, branch)
    if args.commit:
        sha = git.resolve(args.commit, what="--commit")
        return Change(
            sha, git.subject(sha), git.commit_paths(sha), "commit", merged=git.is_ancestor(sha, ref), branch=branch
        )
    if args.path:
        if git.try_resolve(ref) is None:
            raise DualDeployError(
                f"{branch} has no commit in this clone, so no commit changed {args.path!r} yet; commit first, "
                "or check out the repository with its history (`fetch-depth: 0`)",
                key="path",
            )
        path = args.path.strip().replace("\\", "/").strip("/")
        sha = git.newest_commit(ref, path)
        if sha is None:
            raise DualDeployError(
                f"no commit on {branch} changed {args.path!r}; give the path relative to the repository root, "
                "or ask about a commit (--commit SHA)",
                key="path",
            )
        return Change(sha, git.subject(sha), git.commit_paths(sha, path), "path", path=path, branch=branch)
    return pull_request_change(args, git, branch, ref)


def pull_request_change(args: argparse.Namespace, git: Git, branch: str, ref: str) -> Change:
    try:
        number = int(str(args.pr).lstrip("#"))
    except ValueError:
        raise DualDeployError(f"must be a pull request number, not {args.pr!r}", key="--pr") from None
    repo = common.github_repo(args)
    if repo is None:
        return merged_pull_from_history(git, number, branch, ref)
    from dualdeploy import github

    with github.call(f"read pull request #{number}", permission="pull-requests: read"):
        pull = repo.get_pull(number)
        merged, merge_sha, head_sha, base_sha, title = (
            pull.merged,
            pull.merge_commit_sha,
            pull.head.sha,
            pull.base.sha,
            pull.title,
        )
    paths = local_pull_paths(git, base_sha, head_sha)
    if paths is None:
        with github.call(f"list the files of pull request #{number}", permission="pull-requests: read"):
            files = list(pull.get_files())
            total = pull.changed_files
        if len(files) < total:
            raise DualDeployError(
                f"pull request #{number} changes {total} files but GitHub lists only {len(files)}, and its commits "
                f"are not in this clone; fetch them (`git fetch origin pull/{number}/head`) or check out with "
                "fetch-depth: 0",
                key="--pr",
            )
        paths = tuple(dict.fromkeys(p for f in files for p in (f.filename, f.previous_filename) if p))
    if merged:
        if not merge_sha:
            raise DualDeployError(f"GitHub gives no merge commit for pull request #{number}", key="--pr")
        sha = git.resolve(merge_sha, what="merge commit")
        return Change(sha, title, paths, "pull request", pull=number, branch=branch)
    return Change(head_sha, title, paths, "pull request", pull=number, merged=False, branch=branch)


def local_pull_paths(git: Git, base_sha: str, head_sha: str) -> tuple[str, ...] | None:
    """What the pull request changes (three dots, like GitHub), from local git; None when a commit is missing."""
    base, head = git.try_resolve(base_sha), git.try_resolve(head_sha)
    if not base or not head:
        return None
    merge_base = git.merge_base(base, head)
    return tuple(dict.fromkeys(path for change in git.changed_files(merge_base, head) for path in change.paths()))


MERGE_SUBJECT = "Merge pull request #{number} from "
SQUASH_SUBJECT = re.compile(r"\(#(?P<number>\d+)\)\s*$")


def merged_pull_from_history(git: Git, number: int, branch: str, ref: str) -> Change:
    """Without a token: the merge commit ("Merge pull request #N from …") or squash commit ("… (#N)")
    of the pull request on the default branch's first-parent line."""
    candidates = [
        (sha, subject)
        for sha, subject in git.first_parent_commits_mentioning(ref, f"#{number}")
        if subject.startswith(MERGE_SUBJECT.format(number=number))
        or ((found := SQUASH_SUBJECT.search(subject)) and int(found.group("number")) == number)
    ]
    if not candidates:
        raise DualDeployError(
            f"no merge or squash commit of pull request #{number} on {branch}, and no token to ask GitHub: "
            "pass --github-token (or set GITHUB_TOKEN) and --repository, or ask about its commit (--commit SHA)",
            key="--pr",
        )
    if len(candidates) > 1:
        listed = ", ".join(sha[:12] for sha, _ in candidates)
        raise DualDeployError(
            f"{len(candidates)} commits on {branch} look like pull request #{number} ({listed}); "
            "ask about one with --commit SHA, or pass a token so GitHub says which",
            key="--pr",
        )
    sha, subject = candidates[0]
    return Change(sha, subject, git.commit_paths(sha), "pull request", pull=number, branch=branch)

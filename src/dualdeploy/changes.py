"""Changed files from local git history: no API, no file-count cap.

Ranges follow GitHub's own semantics: a pull request compares its head with the merge base of base
and head (three dots), a push compares `before..after`, and a push that creates a branch (`before`
is all zeros) compares with the merge base of the default branch.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dualdeploy.errors import GitError

ZERO_SHA = "0" * 40
PULL_HEAD_REF = "refs/dualdeploy/pull/{number}/head"  # where a pull request's head is fetched to
FETCH_DEPTH_HINT = "check out with `fetch-depth: 0` (actions/checkout) so the history is complete"
HISTORY_DEPTHS = (50, 200, 1000, None)  # deepen a shallow clone by these many commits, then unshallow it
FULL_SHA = re.compile(r"[0-9a-f]{40}")

# Paths only: rename and copy detection would read file contents (and, in a partial clone, fetch
# every missing blob from the remote) to learn what --no-renames lists anyway: a deletion and an
# addition, the two paths a rename touches.
_DIFF_OPTIONS = ("-z", "--no-ext-diff", "--no-textconv", "--no-renames", "--ignore-submodules=none")


@dataclass(frozen=True)
class ChangedFile:
    """One changed path; for a rename or copy, `old_path` is where it came from.

    `Git.changed_files` reads paths only (`--no-renames`), so it lists a rename as a deletion and
    an addition and a copy as an addition: R and C come only from name-status text parsed here.
    """

    path: str
    status: str  # A, M, D, R, C, T (type change, e.g. a submodule pointer)
    old_path: str | None = None

    def paths(self) -> tuple[str, ...]:
        """The paths this change touches: a rename counts on both sides, a copy at its new path."""
        if self.status == "R" and self.old_path:
            return (self.old_path, self.path)
        return (self.path,)


@dataclass(frozen=True)
class Range:
    """The commits being compared, as full shas; `base` is already the merge base where one applies."""

    base: str
    head: str


class Git:
    """A local repository, driven through the git command line."""

    def __init__(self, repo: str | Path) -> None:
        self.repo = Path(repo)
        if not self.repo.is_dir():
            raise GitError(f"{self.repo} is not a directory", key="--repo")
        if self._run("rev-parse", "--git-dir", check=False).returncode != 0:
            raise GitError(f"{self.repo} is not a git repository", key="--repo")

    def _run(
        self, *args: str, check: bool = True, input: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        result = subprocess.run(
            ["git", "-C", str(self.repo), "-c", "core.quotepath=false", *args],
            capture_output=True,
            input=input,
            env=env,
        )
        if check and result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {message[-1] if message else 'no message'}")
        return result

    def _out(self, *args: str) -> str:
        return self._run(*args).stdout.decode(errors="replace").strip()

    def resolve(self, ref: str, *, what: str = "ref") -> str:
        """The full sha of a commit-ish; fetches it once from origin when it is missing locally."""
        sha = self.try_resolve(ref)
        if sha is None and self.has_remote():
            self._run("fetch", "--quiet", "--no-tags", "origin", ref, check=False)
            sha = self.try_resolve(ref) or self.try_resolve(f"origin/{ref}")
        if sha is None:
            if self.is_shallow():
                hint = f"; {FETCH_DEPTH_HINT}"
            elif self.has_remote():
                hint = "; check the name (a sha, branch or tag), or fetch it first (`git fetch origin`)"
            else:
                hint = "; check the name (a sha, branch or tag)"
            raise GitError(f"{what} '{ref}' is not a commit in {self.repo}{hint}", key=what)
        return sha

    def try_resolve(self, ref: str) -> str | None:
        result = self._run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
        if result.returncode != 0:
            return None
        return result.stdout.decode().strip() or None

    def existing(self, shas: set[str] | list[str]) -> set[str]:
        """The given shas that name commits here, asked of git once (not a process per sha)."""
        wanted = sorted({sha for sha in shas if sha})
        if not wanted:
            return set()
        answer = self._run(
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            input=("\n".join(wanted) + "\n").encode(),
            check=False,
        ).stdout.decode()
        found = {line.split()[0] for line in answer.splitlines() if line.endswith(" commit")}
        return {sha for sha in wanted if sha in found}

    def contains(self, descendant: str, ancestor: str) -> bool | None:
        """Whether `descendant` has `ancestor` in its history; None when this clone lacks either commit
        (a shallow checkout), so the answer is unknown rather than no."""
        if descendant == ancestor:
            return True
        if self.existing({descendant, ancestor}) != {descendant, ancestor}:
            return None
        result = self._run("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        if result.returncode == 0:
            return True
        # In a shallow clone "no" may only mean the history is cut off before the ancestor.
        return False if result.returncode == 1 and not self.is_shallow() else None

    def tracked_files(self) -> list[str]:
        """Every file git tracks in the checkout (the index), paths only: no blob is read."""
        raw = self._run("ls-files", "-z").stdout
        return [path for path in raw.decode("utf-8", errors="surrogateescape").split("\0") if path]

    def is_shallow(self) -> bool:
        return self._out("rev-parse", "--is-shallow-repository") == "true"

    def has_remote(self) -> bool:
        return "origin" in self._out("remote").split()

    def current_branch(self) -> str | None:
        result = self._run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return result.stdout.decode().strip() or None

    def default_branch(self) -> str:
        """origin's HEAD when known, else a local `main` or `master`."""
        result = self._run("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.decode().strip()
        for candidate in ("main", "master", "origin/main", "origin/master"):
            if self.try_resolve(candidate):
                return candidate
        raise GitError("cannot tell the default branch: pass --base", key="--base")

    def shallow_commits(self) -> set[str]:
        """The commits at this clone's shallow boundary: their parents are not here."""
        path = Path(self._out("rev-parse", "--git-path", "shallow"))
        path = path if path.is_absolute() else self.repo / path
        return set(path.read_text().split()) if path.is_file() else set()

    def _fetch(self, *args: str) -> bool:
        """`git fetch … origin …`; a partial clone's filter (`blob:none`) applies by itself, so it stays partial."""
        options = [arg for arg in args if arg.startswith("-")]
        refs = [arg for arg in args if not arg.startswith("-")]
        return self._run("fetch", "--quiet", "--no-tags", *options, "origin", *refs, check=False).returncode == 0

    def fetch_commits(self, shas: list[str]) -> set[str]:
        """Fetch commits this clone lacks from origin by sha (a shallow clone takes them at depth 1, the
        history between comes from deepening); returns the given shas that are here afterwards."""
        wanted = sorted({sha for sha in shas if sha})
        missing = [sha for sha in wanted if sha not in self.existing(wanted) and FULL_SHA.fullmatch(sha)]
        if missing and self.has_remote():
            depth = ["--depth=1"] if self.is_shallow() else []
            if not self._fetch(*depth, *missing):  # one unknown sha fails the lot: try them one by one
                for sha in missing:
                    self._fetch(*depth, sha)
        return self.existing(wanted)

    def complete_history(self, target: str, shas: list[str], *, since: int | None = None) -> tuple[set[str], bool]:
        """History on demand: what `History(target, shas, since=…)` needs, fetched from origin when this
        clone lacks it, the way `merge_base` deepens for `detect`. Returns the shas that are commits
        here and whether the history between them and the target (and back to `since`) is whole."""
        wanted = sorted({sha for sha in shas if sha})
        present = self.existing(wanted)
        if self.is_shallow() and self.has_remote():
            for depth in HISTORY_DEPTHS:
                if len(present) == len(wanted) and self.history_is_whole(target, sorted(present), since=since):
                    break
                deepen = ["--unshallow"] if depth is None else [f"--deepen={depth}"]
                if not self._fetch(*deepen, target) and not self._fetch(*deepen):
                    break
                present = self.existing(wanted)
                if not self.is_shallow():
                    break
        if len(present) < len(wanted):
            present = self.fetch_commits(wanted)  # not on the target's history: a deploy from elsewhere
        return present, self.history_is_whole(target, sorted(present), since=since)

    def history_is_whole(self, target: str, shas: list[str], *, since: int | None = None) -> bool:
        """No shallow boundary cuts the commits between the target and these shas (nor, with `since`,
        the target's history back to that time)."""
        if not self.is_shallow():
            return True
        boundary = self.shallow_commits()
        tips = sorted({target, *shas})
        floor = self._run("merge-base", "--octopus", *tips, check=False).stdout.decode().strip()
        if not floor:
            return False
        if boundary & set(self._out("rev-list", *tips, f"^{floor}").split()):
            return False
        if since is not None:
            before = self._out("rev-list", "-1", "--first-parent", f"--before={since}", target)
            if not before or boundary & set(self._out("rev-list", target, f"^{before}").split()):
                return False
        return True

    def merge_base(self, base: str, head: str) -> str:
        """The merge base, deepening a shallow clone from origin until it appears."""
        for depth in (50, 200, 1000, None):
            result = self._run("merge-base", base, head, check=False)
            if result.returncode == 0:
                return result.stdout.decode().strip()
            if not self.is_shallow():
                raise GitError(f"{base[:12]} and {head[:12]} have no common history", key="--base")
            if not self.has_remote():
                raise GitError(f"this clone is shallow and lacks the merge base; {FETCH_DEPTH_HINT}", key="--base")
            deepen = ["--unshallow"] if depth is None else [f"--deepen={depth}"]
            fetched = self._run("fetch", "--quiet", "--no-tags", *deepen, "origin", check=False)
            if fetched.returncode != 0:
                raise GitError(
                    f"this clone is shallow, lacks the merge base and could not be deepened; {FETCH_DEPTH_HINT}",
                    key="--base",
                )
        raise GitError(f"no merge base for {base[:12]} and {head[:12]}; {FETCH_DEPTH_HINT}", key="--base")

    def remote_url(self) -> str:
        return self._run("remote", "get-url", "origin", check=False).stdout.decode(errors="replace").strip()

    def fetch_pull_head(self, number: int, *, token: str = "", server_url: str = "") -> str:
        """Fetch a pull request's head from origin (`refs/pull/N/head`, where GitHub keeps a fork's
        commits too) into a local ref, as objects only: nothing is checked out. Returns its sha.

        With a token and an origin on `server_url`, the token goes to this one fetch as an HTTP
        header in the environment (as actions/checkout sends it), never onto the command line or
        into .git/config, so `persist-credentials: false` checkouts of private repositories work.
        """
        ref = PULL_HEAD_REF.format(number=number)
        env: dict[str, str] = {}
        server = server_url.rstrip("/")
        if token and server and self.remote_url().startswith(server + "/"):
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            env = {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
                "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
            }
        result = self._run(
            "fetch", "--quiet", "--no-tags", "origin", f"+refs/pull/{number}/head:{ref}", check=False, env=env
        )
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(
                f"could not fetch refs/pull/{number}/head from origin ({message[-1] if message else 'no message'}); "
                "the job needs `contents: read`, and actions/checkout a clone with `fetch-depth: 0`",
                key="--head",
            )
        return self.resolve(ref, what="--head")

    def file_at(self, commit: str, path: str) -> bytes | None:
        """A file's bytes as committed in `commit` (read from the object store, not the work tree)."""
        result = self._run("cat-file", "blob", f"{commit}:{path.removeprefix('./')}", check=False)
        return result.stdout if result.returncode == 0 else None

    def changed_files(self, base: str, head: str) -> list[ChangedFile]:
        """Every path changed between two commits (two dots: `base` must already be the merge base)."""
        return parse_name_status(self._run("diff", "--name-status", *_DIFF_OPTIONS, base, head, "--").stdout)

    def changed_paths(self, base: str, head: str) -> list[str]:
        """The paths of `changed_files`, each once, without a ChangedFile per path (what detect needs)."""
        out = self._run("diff", "--name-only", *_DIFF_OPTIONS, base, head, "--").stdout
        return out.decode("utf-8", errors="surrogateescape").split("\0")[:-1]

    def is_ancestor(self, commit: str, descendant: str) -> bool:
        """Whether `descendant` has `commit` in its history (a commit is its own ancestor)."""
        return self._run("merge-base", "--is-ancestor", commit, descendant, check=False).returncode == 0

    def commit_paths(self, sha: str, *pathspec: str) -> tuple[str, ...]:
        """The paths a commit changed against its first parent (the whole tree for a root commit);
        for a merge, what it brought in. `pathspec` narrows them (a file or a folder)."""
        parents = self._out("rev-list", "--parents", "-n", "1", sha).split()[1:]
        if not parents and sha in self.shallow_commits():
            # Cut off by a shallow clone, not a root: against the empty tree it would "add" every file.
            if self.has_remote():
                self._run("fetch", "--quiet", "--no-tags", "--deepen=1", "origin", check=False)
                parents = self._out("rev-list", "--parents", "-n", "1", sha).split()[1:]
            if not parents:
                raise GitError(
                    f"commit {sha[:12]} is the edge of this shallow clone (its parent is missing, so what it "
                    f"changed is unknown) and it could not be deepened from origin; {FETCH_DEPTH_HINT}",
                    key="--commit",
                )
        out = self._run(
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            parents[0] if parents else EMPTY_TREE,
            sha,
            "--",
            *pathspec,
        ).stdout
        return tuple(path for path in out.decode("utf-8", errors="surrogateescape").split("\0") if path)

    def subject(self, sha: str) -> str:
        return self._out("log", "-1", "--format=%s", sha)

    def newest_commit(self, ref: str, pathspec: str) -> str | None:
        """The newest commit of `ref` that changed `pathspec`, or None. At a shallow clone's edge every
        file looks added, so the history is deepened from origin until the answer is a real change."""
        sha = self._out("log", "-1", "--format=%H", ref, "--", pathspec) or None
        if sha and sha in self.shallow_commits() and self.has_remote():
            for depth in HISTORY_DEPTHS:
                if not self._fetch("--unshallow" if depth is None else f"--deepen={depth}"):
                    break
                sha = self._out("log", "-1", "--format=%H", ref, "--", pathspec) or None
                if not sha or sha not in self.shallow_commits():
                    break
        return sha

    def first_parent_commits_mentioning(self, ref: str, text: str) -> list[tuple[str, str]]:
        """(sha, subject) of the commits on `ref`'s first-parent line whose message contains `text`."""
        out = self._out("log", "--first-parent", "-F", f"--grep={text}", f"--format=%H{_FIELD}%s", ref)
        return [tuple(line.split(_FIELD, 1)) for line in out.splitlines() if _FIELD in line]  # type: ignore[misc]


EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree: the base of a root commit


def parse_name_status(raw: bytes) -> list[ChangedFile]:
    """Parse `git diff --name-status -z`: status, then one path, or two for renames and copies."""
    fields = iter(raw.decode("utf-8", errors="surrogateescape").split("\0"))
    changed: list[ChangedFile] = []
    append = changed.append
    for status in fields:
        if not status:
            break
        kind = status[0]
        if kind == "R" or kind == "C":
            old_path = next(fields)
            append(ChangedFile(next(fields), kind, old_path))
        else:
            append(ChangedFile(next(fields), kind))
    return changed


def pull_request_range(git: Git, base: str, head: str) -> Range:
    """Three-dot semantics: what the head adds since it branched off the base."""
    base_sha = git.resolve(base, what="--base")
    head_sha = git.resolve(head, what="--head")
    return Range(base=git.merge_base(base_sha, head_sha), head=head_sha)


def push_range(git: Git, before: str, after: str) -> Range:
    """Two-dot semantics for a push; a new branch (`before` all zeros) compares with the default branch."""
    after_sha = git.resolve(after, what="--head")
    if before.strip("0") == "":
        default = git.resolve(git.default_branch(), what="default branch")
        return Range(base=git.merge_base(default, after_sha), head=after_sha)
    return Range(base=git.resolve(before, what="--base"), head=after_sha)


@dataclass(frozen=True)
class Commit:
    """A commit of the target's history with the paths it changed (renames on both sides)."""

    sha: str
    subject: str
    author: str
    authored_at: int  # unix seconds
    landed_at: int  # when it reached the target's first-parent line (the merge that brought it in)
    paths: tuple[str, ...]


_RECORD = "\x1e"
_FIELD = "\x1f"
_LOG_FORMAT = f"{_RECORD}%H{_FIELD}%s{_FIELD}%an{_FIELD}%at{_FIELD}%ct"


def _parse_log(raw: bytes) -> list[tuple[str, str, str, int, int, tuple[str, ...]]]:
    """Parse `git log -z --name-status` records started by _RECORD with _FIELD-separated headers."""
    entries = []
    for record in raw.decode("utf-8", errors="surrogateescape").split(_RECORD)[1:]:
        header, _, body = record.partition("\0")
        sha, subject, author, authored, committed = header.split(_FIELD)
        fields = body.lstrip("\n").split("\0")
        paths: list[str] = []
        index = 0
        while index + 1 < len(fields):
            status = fields[index][:1]
            if status in ("R", "C"):
                if status == "R":
                    paths.append(fields[index + 1])
                paths.append(fields[index + 2])
                index += 3
            else:
                paths.append(fields[index + 1])
                index += 2
        entries.append((sha, subject, author, int(authored), int(committed), tuple(dict.fromkeys(paths))))
    return entries


class History:
    """The commits of `target` back to the common ancestor of every deployed sha, read with one `git log`."""

    def __init__(self, git: Git, target: str, deployed: list[str], *, since: int | None = None) -> None:
        """`since` (unix seconds) also reaches back to the first-parent commit before that time (metrics)."""
        self.git = git
        self.target = target
        floor = self._floor(deployed)
        if since is not None:
            boundary = git._out("rev-list", "-1", "--first-parent", f"--before={since}", target)
            # No commit before the window: the whole history is inside it.
            floor = self._floor([*deployed, boundary]) if boundary else None
        self._floor_sha = floor
        self._deployed = frozenset(deployed)
        roots = [f"^{floor}"] if floor else []
        # No rename detection: a rename then shows as a deletion and an addition, the same two paths
        # a detected rename counts, at a fraction of the cost over thousands of commits.
        log = git._run(
            "log",
            "-z",
            "--name-status",
            "--no-renames",
            "--no-ext-diff",
            f"--format={_LOG_FORMAT}",
            target,
            *roots,
            "--",
        ).stdout
        landed = self._landing_times(target, roots)
        self.commits = {
            sha: Commit(sha, subject, author, authored, landed.get(sha, committed), paths)
            for sha, subject, author, authored, committed, paths in _parse_log(log)
        }
        self._between: dict[str, list[Commit]] = {}
        self._reachable_cache: dict[str, frozenset[str]] = {}
        lines = git._out("rev-list", "--parents", target, *roots).splitlines()
        self._parents = {sha: parents for sha, *parents in (line.split() for line in lines)}

    def _floor(self, deployed: list[str]) -> str | None:
        if not deployed:
            return self.target
        result = self.git._run("merge-base", "--octopus", self.target, *sorted(set(deployed)), check=False)
        return result.stdout.decode().strip() or None

    def _landing_times(self, target: str, roots: list[str]) -> dict[str, int]:
        """Commit time of the first-parent commit that brought each commit onto the target."""
        lines = self.git._out("log", "--first-parent", "--format=%H %ct %P", target, *roots).splitlines()
        landed: dict[str, int] = {}
        for line in lines:
            sha, committed, *parents = line.split()
            landed[sha] = int(committed)
            if len(parents) > 1:
                brought = self.git._out("rev-list", *parents[1:], f"^{parents[0]}", *roots).split()
                for inner in brought:
                    landed.setdefault(inner, int(committed))
        return landed

    def between(self, since: str) -> list[Commit]:
        """Commits in `since..target`, newest first (cached: many components share a deployed sha).

        Worked out from the parents already read when `since` is on this history (no git process per
        component); a commit from elsewhere (a diverged deploy) asks git.
        """
        if since not in self._between:
            if since in self._parents or since == self._floor_sha:
                reached = self._reached(since)
                self._between[since] = [commit for sha, commit in self.commits.items() if sha not in reached]
            else:
                shas = self.git._out("rev-list", self.target, f"^{since}").split()
                self._between[since] = [self.commits[sha] for sha in shas if sha in self.commits]
        return self._between[since]

    def contains(self, deployed: str, commit: str) -> bool:
        """Whether `deployed` has `commit` in its history (in memory for shas on this history)."""
        if deployed in self._parents or deployed == self._floor_sha:
            return commit in self._reached(deployed)
        return self.git._run("merge-base", "--is-ancestor", commit, deployed, check=False).returncode == 0

    def _reached(self, start: str) -> frozenset[str]:
        """The commits of this history that `start` contains (nothing below the floor is in it).

        The walk stops at commits whose sets are already known and takes them whole, so many
        deployed shas along one history cost little more than one walk.
        """
        if start in self._reachable_cache:
            return self._reachable_cache[start]
        reached: set[str] = set()
        stack = [start]
        while stack:
            sha = stack.pop()
            if sha in reached or sha not in self._parents:
                continue
            known = self._reachable_cache.get(sha)
            if known is not None:
                reached |= known
                continue
            reached.add(sha)
            stack.extend(self._parents[sha])
        self._reachable_cache[start] = frozenset(reached)
        return self._reachable_cache[start]

    def extra(self, deployed: str) -> list[Commit]:
        """Commits in `target..deployed`: what a deploy from elsewhere has that the target lacks."""
        shas = self.git._out("rev-list", deployed, f"^{self.target}").split()
        out = (
            self.git._run(
                "log",
                "-z",
                "--name-status",
                "--no-renames",
                "--no-ext-diff",
                "--no-walk=unsorted",
                f"--format={_LOG_FORMAT}",
                *shas,
                "--",
            ).stdout
            if shas
            else b""
        )
        return [
            Commit(sha, subject, author, authored, committed, paths)
            for sha, subject, author, authored, committed, paths in _parse_log(out)
        ]

    def is_ancestor(self, sha: str) -> bool:
        if sha in self._parents or sha == self._floor_sha:
            return True
        if sha in self._deployed:
            # The floor is an ancestor of every deployed sha: one on the target is the floor or above it.
            return False
        return self.git._run("merge-base", "--is-ancestor", sha, self.target, check=False).returncode == 0

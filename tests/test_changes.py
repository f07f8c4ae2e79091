import subprocess
from pathlib import Path

import pytest

from dualdeploy.changes import ChangedFile, Git, History, parse_name_status, pull_request_range, push_range
from dualdeploy.errors import GitError
from gitrepo import GitRepo, missing_objects, partial_clone


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.commit(
        "base",
        {
            "server/a.ts": "a\n",
            "agents/tenant/main.ts": "tenant agent\n" * 20,
            "agents/support/main.ts": "support\n",
            "docs/x.md": "x\n",
        },
    )
    return repo


def paths(changes: list[ChangedFile]) -> set[str]:
    return {path for change in changes for path in change.paths()}


def test_add_modify_delete_binary(repo: GitRepo) -> None:
    base = repo.head()
    repo.write({"server/a.ts": "changed\n", "img/logo.png": b"\x89PNG\x00\x01\x02"})
    repo.remove("docs/x.md")
    head = repo.commit("change")
    changes = Git(repo.path).changed_files(base, head)
    assert {(c.status, c.path) for c in changes} == {("M", "server/a.ts"), ("A", "img/logo.png"), ("D", "docs/x.md")}


def test_rename_out_of_an_agent_counts_both_sides(repo: GitRepo) -> None:
    base = repo.head()
    repo.move("agents/tenant/main.ts", "server/moved.ts")
    head = repo.commit("move out")
    changes = Git(repo.path).changed_files(base, head)
    # paths only: a rename is listed as the deletion and the addition it amounts to
    assert changes == [ChangedFile("agents/tenant/main.ts", "D"), ChangedFile("server/moved.ts", "A")]
    assert paths(changes) == {"agents/tenant/main.ts", "server/moved.ts"}


def test_rename_into_and_between_agents(repo: GitRepo) -> None:
    base = repo.head()
    repo.move("agents/tenant/main.ts", "agents/support/tenant.ts")
    repo.move("server/a.ts", "agents/tenant/a.ts")
    head = repo.commit("moves")
    assert paths(Git(repo.path).changed_files(base, head)) == {
        "agents/tenant/main.ts",
        "agents/support/tenant.ts",
        "server/a.ts",
        "agents/tenant/a.ts",
    }


def test_changed_paths_are_the_paths_of_the_changed_files(repo: GitRepo) -> None:
    base = repo.head()
    repo.move("agents/tenant/main.ts", "server/moved.ts")
    repo.write({"docs/new\nline.md": "2", "docs/ünï.md": "3", "server/a.ts": "edited\n"})
    repo.remove("docs/x.md")
    head = repo.commit("mixed")
    git = Git(repo.path)
    assert git.changed_paths(base, head) == [
        path for change in git.changed_files(base, head) for path in change.paths()
    ]
    assert len(git.changed_paths(base, head)) == 6


def test_copy_counts_at_its_new_path() -> None:
    parsed = parse_name_status(b"C100\x00agents/tenant/main.ts\x00agents/billing/main.ts\x00")
    assert parsed[0].paths() == ("agents/billing/main.ts",)


def test_names_with_spaces_newlines_and_unicode(repo: GitRepo) -> None:
    base = repo.head()
    repo.write({"docs/with space.md": "1", "docs/new\nline.md": "2", "docs/ünï.md": "3"})
    head = repo.commit("odd names")
    assert paths(Git(repo.path).changed_files(base, head)) == {"docs/with space.md", "docs/new\nline.md", "docs/ünï.md"}


def test_submodule_pointer_counts_as_its_path(repo: GitRepo, tmp_path: Path) -> None:
    sub = GitRepo(tmp_path / "sub")
    first = sub.commit("one", {"lib.ts": "1"})
    second = sub.commit("two", {"lib.ts": "2"})
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "--quiet", str(sub.path), "vendor/lib")
    repo.git("-C", "vendor/lib", "checkout", "--quiet", first)
    base = repo.commit("add submodule")
    repo.git("-C", "vendor/lib", "checkout", "--quiet", second)
    head = repo.commit("bump submodule")
    assert paths(Git(repo.path).changed_files(base, head)) == {"vendor/lib"}


def test_pull_request_uses_the_merge_base(repo: GitRepo) -> None:
    fork_point = repo.head()
    repo.checkout("feature", new=True)
    feature = repo.commit("feature", {"agents/tenant/main.ts": "new\n"})
    repo.checkout("main")
    repo.commit("main moves on", {"server/a.ts": "main only\n"})
    git = Git(repo.path)
    change_range = pull_request_range(git, "main", "feature")
    assert (change_range.base, change_range.head) == (fork_point, feature)
    # three dots: main's own later change is not part of the PR
    assert paths(git.changed_files(change_range.base, change_range.head)) == {"agents/tenant/main.ts"}
    # two dots (a push) would see it, reversed
    two_dot = push_range(git, "main", "feature")
    assert paths(git.changed_files(two_dot.base, two_dot.head)) == {"agents/tenant/main.ts", "server/a.ts"}


def test_push_of_several_commits_sees_all_of_them(repo: GitRepo) -> None:
    before = repo.head()
    repo.commit("one", {"agents/tenant/main.ts": "1\n"})
    after = repo.commit("two", {"server/a.ts": "2\n"})
    git = Git(repo.path)
    change_range = push_range(git, before, after)
    assert paths(git.changed_files(change_range.base, change_range.head)) == {"agents/tenant/main.ts", "server/a.ts"}


def test_new_branch_push_falls_back_to_the_default_branch(repo: GitRepo) -> None:
    fork_point = repo.head()
    repo.checkout("feature", new=True)
    head = repo.commit("feature", {"agents/support/main.ts": "x\n"})
    change_range = push_range(Git(repo.path), "0" * 40, head)
    assert (change_range.base, change_range.head) == (fork_point, head)


def test_unknown_refs_and_non_repos_are_clear_errors(repo: GitRepo, tmp_path: Path) -> None:
    git = Git(repo.path)
    with pytest.raises(GitError, match="'no-such-branch' is not a commit") as error:
        pull_request_range(git, "no-such-branch", "HEAD")
    assert error.value.exit_status == 2
    with pytest.raises(GitError, match="not a git repository"):
        Git(tmp_path)
    with pytest.raises(GitError, match="not a directory"):
        Git(tmp_path / "missing")


def _shallow_clone(source: GitRepo, target: Path, branch: str) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", "--depth=1", "--no-single-branch", f"file://{source.path}", str(target)],
        check=True,
        capture_output=True,
    )
    subprocess.run(["git", "-C", str(target), "checkout", "--quiet", branch], check=True, capture_output=True)
    return target


@pytest.fixture
def diverged(repo: GitRepo) -> GitRepo:
    repo.checkout("feature", new=True)
    for index in range(3):
        repo.commit(f"feature {index}", {"agents/tenant/main.ts": f"{index}\n"})
    repo.checkout("main")
    for index in range(3):
        repo.commit(f"main {index}", {"server/a.ts": f"{index}\n"})
    return repo


def test_shallow_clone_is_deepened_from_origin(diverged: GitRepo, tmp_path: Path) -> None:
    clone = _shallow_clone(diverged, tmp_path / "clone", "feature")
    git = Git(clone)
    assert git.is_shallow()
    change_range = pull_request_range(git, "origin/main", "HEAD")
    assert paths(git.changed_files(change_range.base, change_range.head)) == {"agents/tenant/main.ts"}


def test_shallow_clone_without_remote_says_to_fetch_everything(diverged: GitRepo, tmp_path: Path) -> None:
    clone = _shallow_clone(diverged, tmp_path / "clone", "feature")
    subprocess.run(["git", "-C", str(clone), "remote", "remove", "origin"], check=True)
    subprocess.run(
        ["git", "-C", str(clone), "fetch", "--quiet", f"file://{diverged.path}", "main:main", "--depth=1"],
        check=True,
        capture_output=True,
    )
    with pytest.raises(GitError, match="fetch-depth: 0"):
        pull_request_range(Git(clone), "main", "HEAD")


def test_history_of_a_diverged_deploy_reads_no_file_contents(repo: GitRepo, tmp_path: Path) -> None:
    main = repo.head()
    repo.checkout("hotfix", new=True)
    repo.move("agents/tenant/main.ts", "agents/support/tenant.ts")
    repo.write({"agents/support/tenant.ts": "tenant agent\n" * 20 + "edited while moved\n"})
    deployed = repo.commit("hotfix deployed from a branch")
    clone = partial_clone(repo, tmp_path / "clone", "main")
    missing_before = missing_objects(clone)
    assert missing_before
    history = History(Git(clone), main, [deployed])
    [extra] = history.extra(deployed)
    assert missing_objects(clone) == missing_before, "reading the history fetched file contents"
    assert (extra.sha, set(extra.paths)) == (deployed, {"agents/tenant/main.ts", "agents/support/tenant.ts"})


def test_contains_says_unknown_when_the_clone_lacks_a_commit(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    first = repo.commit("one", {"a": "1"})
    second = repo.commit("two", {"a": "2"})
    git = Git(repo.path)
    assert git.contains(second, first) is True
    assert git.contains(first, second) is False
    assert git.contains(second, "f" * 40) is None  # not here: unknown, never "no"

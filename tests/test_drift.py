"""Drift on real git histories: content decides stale or in sync, time only enters through grace."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from dualdeploy import assessment
from dualdeploy.changes import Git
from dualdeploy.config import Component, Config, load_config
from dualdeploy.deployments import DeploymentReader
from dualdeploy.drift import (
    DEPLOYING,
    DIVERGED,
    IN_SYNC,
    STALE,
    UNKNOWN,
    ComponentPaths,
    Deployment,
    Drift,
    classify,
    relevant_commits,
)
from dualdeploy.errors import GitError
from gitrepo import T0, GitRepo, at, with_example_config

TENANT = "server/src/agent-v2/deploy/tenant/index.ts"
SUPPORT = "server/src/agent-v2/deploy/support/index.ts"
SHARED = "server/src/lib/util.ts"
API = "server/src/index.ts"
WEB = "apps/web/a.tsx"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return with_example_config(
        tmp_path / "mono",
        {
            API: "1",
            TENANT: "1",
            SUPPORT: "1",
            SHARED: "1",
            WEB: "1",
            "server/src/agent-v2/deploy/billing/index.ts": "1",
        },
        date=at(0),
    )


@dataclass
class FixedReader:
    """A reader that answers with prepared deployments (what a provider would have said)."""

    deployments: dict[str, Deployment]

    def read(self, component: Component) -> Deployment:
        return self.deployments.get(component.name) or Deployment(component.name, None, reason="nothing prepared")


def config_of(repo: GitRepo) -> Config:
    return load_config(repo.path / ".github/dual-deploy.yml")


def assess(repo: GitRepo, deployed: dict[str, str], *, target: str = "main", reader=None) -> dict[str, Drift]:
    """Every component's drift at `target`, deployed at the given shas (the deployed-shas input)."""
    git = Git(repo.path)
    config = config_of(repo)
    state = assessment.assess(
        git, config, config.components, git.resolve(target), reader or DeploymentReader(given=deployed)
    )
    return {drift.component: drift for drift in state.drifts}


def everything_at(sha: str) -> dict[str, str]:
    return dict.fromkeys(("api", "client", "tenant-agent", "support-agent", "billing-agent"), sha)


def pending_shas(drift: Drift) -> list[str]:
    return [item.commit.sha for item in drift.pending]


def test_no_changes_since_the_deploy_is_in_sync(repo: GitRepo) -> None:
    drifts = assess(repo, everything_at(repo.head()))
    assert {name: drift.status for name, drift in drifts.items()} == dict.fromkeys(drifts, IN_SYNC)
    assert all(not drift.pending and not drift.extra and not drift.reason for drift in drifts.values())
    assert drifts["tenant-agent"].deployment.source == "deployed-shas input"


def test_a_direct_change_makes_only_that_component_stale(repo: GitRepo) -> None:
    deployed = repo.head()
    change = repo.commit(
        "Tenant: answer in French", {TENANT: "2", "docs/notes.md": "x"}, date=at(600), author="Bo <bo@example.com>"
    )
    drifts = assess(repo, everything_at(deployed))
    tenant = drifts["tenant-agent"]
    assert tenant.status == STALE
    [pending] = tenant.pending
    assert pending.commit.sha == change
    assert pending.commit.subject == "Tenant: answer in French"
    assert pending.commit.author == "Bo"
    assert pending.commit.authored_at == pending.commit.landed_at == T0 + 600
    assert pending.paths == (TENANT,)  # only the files that matter to the component
    # The API excludes server/src/agent-v2/**: an agent change is not an API change.
    assert {name: drift.status for name, drift in drifts.items() if name != "tenant-agent"} == {
        "api": IN_SYNC,
        "client": IN_SYNC,
        "support-agent": IN_SYNC,
        "billing-agent": IN_SYNC,
    }
    assert tenant.oldest_pending_landed_at == T0 + 600


def test_a_shared_group_change_makes_every_user_stale(repo: GitRepo) -> None:
    deployed = repo.head()
    change = repo.commit("Shared helper", {SHARED: "2"}, date=at(60))
    drifts = assess(repo, everything_at(deployed))
    for name in ("tenant-agent", "support-agent", "billing-agent"):
        assert drifts[name].status == STALE, name
        assert [(item.commit.sha, item.paths) for item in drifts[name].pending] == [(change, (SHARED,))]
    assert drifts["api"].status == STALE  # server/** covers the shared code too
    assert drifts["client"].status == IN_SYNC


def test_pending_commits_are_exactly_the_relevant_ones_newest_first(repo: GitRepo) -> None:
    deployed = repo.head()
    first = repo.commit("tenant one", {TENANT: "2"}, date=at(60))
    repo.commit("web only", {WEB: "2"}, date=at(120))
    second = repo.commit("shared", {"packages/contracts/src/types.ts": "1"}, date=at(180))
    repo.commit("support only", {SUPPORT: "2"}, date=at(240))
    third = repo.commit("tenant two", {TENANT: "3"}, date=at(300))
    tenant = assess(repo, everything_at(deployed))["tenant-agent"]
    assert pending_shas(tenant) == [third, second, first]
    assert tenant.oldest_pending_landed_at == T0 + 60
    assert tenant.to_json()["pending_commits"][0] == {
        "sha": third,
        "subject": "tenant two",
        "author": "Ada Tester",
        "authored_at": T0 + 300,
        "landed_at": T0 + 300,
        "files": [TENANT],
    }


def test_a_component_deployed_at_a_later_commit_lacks_only_what_came_after(repo: GitRepo) -> None:
    repo.commit("tenant one", {TENANT: "2"}, date=at(60))
    middle = repo.head()
    last = repo.commit("tenant two", {TENANT: "3"}, date=at(120))
    drifts = assess(repo, {**everything_at(repo.git("rev-parse", "HEAD~2")), "tenant-agent": middle})
    assert pending_shas(drifts["tenant-agent"]) == [last]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        pytest.param(TENANT, "server/src/moved/index.ts", id="out-of-the-agent-folder"),
        pytest.param("server/src/other/index.ts", "server/src/agent-v2/deploy/tenant/moved.ts", id="into-it"),
    ],
)
def test_a_rename_counts_on_both_sides(repo: GitRepo, source: str, target: str) -> None:
    content = "export const answer = 42;\n" * 20  # long enough for rename detection
    repo.commit("content", {source: content}, date=at(10))
    deployed = repo.head()
    repo.move(source, target)
    rename = repo.commit("move it", date=at(20))
    tenant = assess(repo, everything_at(deployed))["tenant-agent"]
    assert tenant.status == STALE
    [pending] = tenant.pending
    agent_side = source if source.startswith("server/src/agent-v2/deploy/tenant/") else target
    assert pending.commit.sha == rename and pending.paths == (agent_side,)


def test_a_deleted_file_counts(repo: GitRepo) -> None:
    deployed = repo.head()
    repo.remove(TENANT)
    removal = repo.commit("drop the tenant entry point", date=at(30))
    assert pending_shas(assess(repo, everything_at(deployed))["tenant-agent"]) == [removal]


def test_a_merged_branch_commit_is_pending_and_landed_when_merged(repo: GitRepo) -> None:
    deployed = repo.head()
    repo.checkout("feature", new=True)
    branch_commit = repo.commit("Tenant: new tool", {TENANT: "2"}, date=at(60))  # authored long before the merge
    repo.checkout("main")
    unrelated = repo.commit("web tweak", {WEB: "2"}, date=at(120))
    repo.git("merge", "--no-ff", "--quiet", "-m", "Merge feature", "feature", date=at(86_400))
    merge = repo.head()
    drifts = assess(repo, everything_at(deployed))
    tenant = drifts["tenant-agent"]
    assert tenant.status == STALE
    [pending] = tenant.pending  # the merge commit itself changes nothing of its own
    assert pending.commit.sha == branch_commit and pending.commit.sha != merge
    assert pending.commit.authored_at == T0 + 60
    assert pending.commit.landed_at == T0 + 86_400  # when the merge brought it onto main
    # Grace counts from the merge: authored a day ago, on main for a minute: not overdue.
    assert not tenant.overdue(T0 + 86_400 + 60, grace_seconds=300)
    assert tenant.overdue(T0 + 86_400 + 301, grace_seconds=300)
    client = drifts["client"]
    assert [(item.commit.sha, item.commit.landed_at) for item in client.pending] == [(unrelated, T0 + 120)]


def test_a_branch_deployed_and_merged_later_is_in_sync(repo: GitRepo) -> None:
    repo.checkout("feature", new=True)
    branch_commit = repo.commit("Tenant: new tool", {TENANT: "2"}, date=at(60))
    repo.checkout("main")
    repo.commit("web tweak", {WEB: "2"}, date=at(120))
    repo.git("merge", "--no-ff", "--quiet", "-m", "Merge feature", "feature", date=at(180))
    tenant = assess(repo, {"tenant-agent": branch_commit})["tenant-agent"]
    # The deployed commit is now an ancestor of main; what main added since does not touch the tenant.
    assert tenant.status == IN_SYNC


def test_a_deploy_from_an_unmerged_branch_is_diverged(repo: GitRepo) -> None:
    base = repo.head()
    repo.checkout("hotfix", new=True)
    hotfix = repo.commit("Tenant hotfix", {TENANT: "hotfix"}, date=at(60))
    repo.commit("hotfix notes", {"docs/hotfix.md": "x"}, date=at(70))
    deployed = repo.head()
    repo.checkout("main")
    lacking = repo.commit("Tenant feature", {TENANT: "feature"}, date=at(120))
    repo.commit("web only", {WEB: "2"}, date=at(130))
    drifts = assess(repo, {**everything_at(base), "tenant-agent": deployed})
    tenant = drifts["tenant-agent"]
    assert tenant.status == DIVERGED
    assert "not on the target's history" in tenant.reason
    assert pending_shas(tenant) == [lacking]  # what main has and the deploy lacks, relevant only
    assert [item.commit.sha for item in tenant.extra] == [hotfix]  # what the deploy has that main lacks
    assert tenant.extra[0].paths == (TENANT,)
    assert tenant.overdue(T0 + 10_000, grace_seconds=300)
    assert tenant.to_json()["extra_commits"][0]["sha"] == hotfix
    assert drifts["support-agent"].status == IN_SYNC  # the others were deployed from main


def test_unknown_when_the_provider_cannot_tell(repo: GitRepo) -> None:
    repo.commit("tenant", {TENANT: "2"}, date=at(60))
    reader = FixedReader(
        {
            "tenant-agent": Deployment("tenant-agent", None, reason="no successful deployment of 'tenant-agent' yet"),
            "support-agent": Deployment("support-agent", repo.head()),
            "billing-agent": Deployment("billing-agent", repo.head()),
        }
    )
    tenant = assess(repo, {}, reader=reader)["tenant-agent"]
    assert tenant.status == UNKNOWN and tenant.reason == "no successful deployment of 'tenant-agent' yet"
    assert not tenant.pending and not tenant.overdue(T0 + 10**9, 0)


def test_a_deployed_sha_not_in_the_repo_is_an_error_naming_it(repo: GitRepo) -> None:
    missing = "0123456789abcdef0123456789abcdef01234567"
    reader = FixedReader(
        {
            "tenant-agent": Deployment("tenant-agent", None, reason="no successful deployment of 'tenant-agent' yet"),
            "support-agent": Deployment("support-agent", missing, source="github-deployment:support-agent"),
            "billing-agent": Deployment("billing-agent", "not-a-ref", source="url:https://example.com"),
        }
    )
    with pytest.raises(GitError) as raised:
        assess(repo, {}, reader=reader)
    message = raised.value.one_line()
    assert f"support-agent runs {missing} (github-deployment:support-agent)" in message
    assert "billing-agent runs not-a-ref" in message and "fetch-depth: 0" in message
    assert "no origin to fetch it from" in message and raised.value.exit_status == 2


def test_given_short_sha_is_resolved(repo: GitRepo) -> None:
    deployed = repo.head()
    change = repo.commit("tenant", {TENANT: "2"}, date=at(60))
    tenant = assess(repo, {"tenant-agent": deployed[:9]})["tenant-agent"]
    assert tenant.deployment.sha == deployed
    assert pending_shas(tenant) == [change]


@pytest.mark.parametrize(("waited", "overdue"), [(299, False), (300, False), (301, True)])
def test_grace_period_edges(repo: GitRepo, waited: int, overdue: bool) -> None:
    deployed = repo.head()
    repo.commit("tenant older", {TENANT: "2"}, date=at(1_000))
    repo.commit("tenant newer", {TENANT: "3"}, date=at(1_200))  # the oldest pending commit decides
    tenant = assess(repo, everything_at(deployed))["tenant-agent"]
    now = T0 + 1_000 + waited
    assert tenant.waiting_seconds(now) == waited
    assert tenant.overdue(now, grace_seconds=300) is overdue


def test_in_sync_however_old_the_deploy_and_however_many_unrelated_commits(repo: GitRepo) -> None:
    deployed = repo.head()
    year = 365 * 86_400
    # 400 commits over a year, none touching the agents or the shared code (fast-import: quick).
    commands = []
    for index in range(400):
        path = WEB if index % 2 else API
        when = T0 + year * (index + 1) // 400
        message = f"unrelated {index}"
        commands += [
            "commit refs/heads/main",
            f"committer Ada Tester <ada@example.com> {when} +0000",
            f"data {len(message)}",
            message,
            *(["from refs/heads/main^0"] if index == 0 else []),
            f"M 100644 inline {path}",
            f"data {len(f'v{index}')}",
            f"v{index}",  # differs from the base's content, so every commit changes its file
        ]
    subprocess.run(
        ["git", "-C", str(repo.path), "fast-import", "--quiet", "--force"],
        input=("\n".join(commands) + "\n").encode(),
        check=True,
        capture_output=True,
    )
    drifts = assess(repo, everything_at(deployed))
    for name in ("tenant-agent", "support-agent", "billing-agent"):
        assert drifts[name].status == IN_SYNC, name
        assert not drifts[name].overdue(T0 + 2 * year, grace_seconds=0)
    assert len(drifts["api"].pending) == 200 and len(drifts["client"].pending) == 200
    assert drifts["api"].oldest_pending_landed_at == T0 + year * 1 // 400


def test_deploying_when_a_newer_deploy_is_in_progress(repo: GitRepo) -> None:
    deployed = repo.head()
    repo.commit("tenant", {TENANT: "2"}, date=at(60))
    reader = FixedReader(
        {
            "tenant-agent": Deployment("tenant-agent", deployed, T0, in_progress=True),
            "support-agent": Deployment("support-agent", deployed, T0, in_progress=True),
        }
    )
    drifts = assess(repo, {}, reader=reader)
    assert drifts["tenant-agent"].status == DEPLOYING
    assert len(drifts["tenant-agent"].pending) == 1
    assert not drifts["tenant-agent"].overdue(T0 + 10**6, grace_seconds=0)  # being fixed right now
    assert drifts["support-agent"].status == IN_SYNC  # nothing pending: a deploy in progress changes nothing


def test_classify_from_plain_values() -> None:
    from dualdeploy.changes import Commit

    commit = Commit("a" * 40, "s", "Ada", T0, T0 + 5, ("server/src/agent-v2/deploy/tenant/x.ts", "README.md"))
    paths = ComponentPaths({"component:tenant": ("server/src/agent-v2/deploy/tenant/**",), "shared:lib": ("lib/**",)})
    pending = relevant_commits(paths, ["component:tenant", "shared:lib"], [commit])
    assert [item.paths for item in pending] == [("server/src/agent-v2/deploy/tenant/x.ts",)]
    assert relevant_commits(paths, ["shared:lib"], [commit]) == ()
    deployment = Deployment("tenant", "b" * 40, T0)
    assert classify(deployment, known=True, ancestor=True, pending=pending).status == STALE
    assert classify(deployment, known=True, ancestor=True, pending=()).status == IN_SYNC
    assert classify(deployment, known=True, ancestor=False, pending=()).status == DIVERGED
    assert classify(deployment, known=False, ancestor=False, pending=pending).status == UNKNOWN
    unknown = classify(Deployment("tenant", None), known=False, ancestor=False, pending=())
    assert unknown.status == UNKNOWN and unknown.reason == "no deployment found"

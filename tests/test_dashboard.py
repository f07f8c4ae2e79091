"""`dualdeploy status`: one table of every component, as text, JSON and the Markdown job summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from fakegithub import FakeGitHub
from gitrepo import T0, GitRepo, at, with_example_config
from runner import Dualdeploy, Run

REPO = "octo/mono"
NOW = T0 + 7_200
TENANT = "server/src/agent-v2/deploy/tenant/index.ts"
SUPPORT = "server/src/agent-v2/deploy/support/index.ts"
HOSTILE = "<script>alert(1)</script> | @acme/agents-team [x](javascript:alert(1)) **bold** `tick`"
URL = "https://github.com/octo/mono"


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, timezone.utc)


@dataclass
class Scene:
    repo: GitRepo
    shas: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def scene(tmp_path: Path, fake_github: FakeGitHub) -> Scene:
    repo = with_example_config(
        tmp_path / "mono",
        {"server/src/index.ts": "1", TENANT: "1", SUPPORT: "1", "apps/web/a.tsx": "1"},
        date=at(0),
    )
    scene = Scene(repo)
    scene.shas["base"] = repo.head()
    scene.shas["tenant"] = repo.commit("Tenant: answer in French", {TENANT: "2"}, date=at(1_000))
    scene.shas["support"] = repo.commit(HOSTILE, {SUPPORT: "2"}, date=at(1_100), author="@mallory | x <m@example.com>")
    scene.shas["api"] = repo.commit("API: faster", {"server/src/index.ts": "2"}, date=at(1_200))
    scene.shas["web"] = repo.commit("Web: new button", {"apps/web/a.tsx": "2"}, date=at(1_300))

    fake_github.add_repo(REPO)

    def deploy(environment: str, sha: str, state: str, seconds: int) -> None:
        deployment = fake_github.add_deployment(REPO, sha=sha, environment=environment, created_at=moment(seconds))
        fake_github.add_deployment_status(
            REPO,
            deployment.id,
            state,
            created_at=moment(seconds + 60),
            log_url=f"{URL}/actions/runs/{deployment.id}",
        )

    deploy("api", scene.shas["web"], "success", 1_400)
    deploy("client", scene.shas["api"], "success", 1_250)
    deploy("tenant-agent", scene.shas["base"], "success", 0)
    deploy("support-agent", scene.shas["base"], "success", 0)
    deploy("support-agent", scene.shas["web"], "in_progress", 7_000)
    return scene


def status(dualdeploy: Dualdeploy, fake: FakeGitHub, scene: Scene, *args: str, **env: str | None) -> Run:
    return dualdeploy("status", "--repo", str(scene.repo.path), "--now", str(NOW), *args, env={**fake.env(), **env})


@dataclass
class Cell:
    text: str
    links: list[str]
    html: list[str]


def tables(markdown: str) -> list[list[list[Cell]]]:
    """Every table of the rendered Markdown, as rows of cells (the header row first)."""
    found: list[list[list[Cell]]] = []
    rows: list[list[Cell]] = []
    row: list[Cell] | None = None
    for token in MarkdownIt("gfm-like").parse(markdown):
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            children = token.children or []
            row.append(
                Cell(
                    "".join(child.content for child in children if child.type in ("text", "code_inline")),
                    [str(child.attrs["href"]) for child in children if child.type == "link_open"],
                    [child.content for child in children if child.type == "html_inline"],
                )
            )
        elif token.type == "tr_close" and row is not None:
            rows.append(row)
            row = None
        elif token.type == "table_close":
            found.append(rows)
    return found


def test_markdown_table_cells(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene) -> None:
    result = status(dualdeploy, fake_github, scene, "--format", "markdown")
    assert result.returncode == 0, result.stderr
    dashboard, *details = tables(result.stdout)
    header, *rows = dashboard
    assert [cell.text for cell in header] == [
        "Component",
        "Deploys",
        "Deployed commit",
        "When",
        "Pending",
        "Status",
        "Deploy",
    ]
    assert all(len(row) == 7 for row in rows)
    by_name = {row[0].text: row for row in rows}
    assert list(by_name) == ["api", "client", "tenant-agent", "support-agent", "billing-agent"]

    tenant = by_name["tenant-agent"]
    base = scene.shas["base"]
    assert tenant[1].text == "manual"
    assert tenant[2].text == base[:7] and tenant[2].links == [f"{URL}/commit/{base}"]
    assert tenant[3].text.startswith("2023-11-14 22:14 UTC") and tenant[3].links[0].startswith(f"{URL}/actions/runs/")
    assert tenant[4].text == "1: Tenant: answer in French"
    assert tenant[5].text == "🟠 stale (1 behind for 1 h 43 min)"
    assert tenant[6].text == "Run deploy-agents.yml" and tenant[6].links == [
        f"{URL}/actions/workflows/deploy-agents.yml"
    ]

    api = by_name["api"]
    assert api[4].text == "0" and api[5].text == "✅ in sync"
    assert api[6].text == "deploys on merge" and api[6].links == [f"{URL}/actions"]

    client = by_name["client"]
    assert client[4].text == "1: Web: new button" and client[5].text.startswith("🟠 stale")

    support = by_name["support-agent"]
    assert support[5].text == "🔄 deploying"
    assert support[4].text.startswith("1: ")

    billing = by_name["billing-agent"]
    assert (
        billing[2].text == "—" and billing[3].text == "—" and billing[4].text == "—"
    )  # nothing deployed known: no count
    assert billing[5].text == "❔ unknown"
    assert "no successful deployment of environment 'billing-agent' yet" in MarkdownIt("gfm-like").render(result.stdout)

    # The details of each component with pending commits: one more table each.
    support_details = next(table for table in details if any(HOSTILE[:8] in c.text for c in table[1]))
    assert [cell.text for cell in support_details[0]] == ["Commit", "Subject", "Author", "On target since", "Files"]
    commit, subject, author, landed, files = support_details[1]
    assert commit.links == [f"{URL}/commit/{scene.shas['support']}"]
    assert subject.text == HOSTILE.replace("@", "@\u200b")
    assert author.text == "@\u200bmallory | x"
    assert landed.text == "2023-11-14 22:31 UTC"
    assert files.text == SUPPORT


def test_hostile_subjects_stay_text(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene) -> None:
    result = status(dualdeploy, fake_github, scene, "--format", "markdown")
    dashboard = tables(result.stdout)[0]
    support = next(row for row in dashboard if row[0].text == "support-agent")
    assert len(support) == 7  # the pipes did not split the cell
    pending = support[4]
    # Shown as typed, but no HTML, no link, no mention, no emphasis:
    assert pending.text == "1: " + HOSTILE.replace("@", "@\u200b")
    assert pending.html == [] and pending.links == []
    html = MarkdownIt("gfm-like").render(result.stdout)
    assert "<script>" not in html and 'href="javascript' not in html and "<strong>" not in html
    assert "@acme" not in html and "@mallory" not in html  # a zero-width space keeps them from notifying


def test_job_results_from_to_json_needs(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene) -> None:
    needs = {
        "deploy-api": {"result": "success", "outputs": {}},
        "deploy-client": {"result": "failure", "outputs": {"url": "https://x"}},
        "build": {"result": "success", "outputs": {}},  # not a component: ignored
    }
    result = status(dualdeploy, fake_github, scene, "--format", "markdown", DD_JOB_RESULTS=json.dumps(needs))
    assert result.returncode == 0, result.stderr
    rows = {row[0].text: row for row in tables(result.stdout)[0][1:]}
    assert rows["api"][5].text == "✅ in sync; deployed by this run"
    assert rows["client"][5].text.endswith("; deploy failed in this run")
    assert rows["tenant-agent"][5].text == "🟠 stale (1 behind for 1 h 43 min)"


def test_job_results_plain_mapping(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene) -> None:
    results = json.dumps({"api": "cancelled", "client": "skipped"})
    result = status(dualdeploy, fake_github, scene, "--job-results", results)
    assert "in sync; deploy cancelled in this run" in result.stdout
    assert "not deployed by this run" in result.stdout


@pytest.mark.parametrize("text", ["{oops", "[1, 2]"])
def test_bad_job_results_exit_2(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene, text: str) -> None:
    result = status(dualdeploy, fake_github, scene, "--job-results", text)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("dualdeploy: error: job-results: ")


def test_text_table_locally(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene) -> None:
    result = status(dualdeploy, fake_github, scene, GITHUB_ACTIONS=None)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"target {scene.shas['web'][:12]}"
    assert lines[1].split() == ["COMPONENT", "DEPLOYS", "DEPLOYED", "WHEN", "PENDING", "STATUS"]
    table = {line.split()[0]: line for line in lines[2:7]}
    assert table["tenant-agent"].split()[:7] == [
        "tenant-agent",
        "manual",
        scene.shas["base"][:7],
        "2023-11-14",
        "22:14",
        "UTC",
        "1",
    ]
    assert table["tenant-agent"].endswith("stale (1 behind for 1 h 43 min)")
    assert table["api"].endswith("in sync") and table["support-agent"].endswith("deploying")
    assert table["billing-agent"].split()[2] == "-" and table["billing-agent"].endswith("unknown")
    assert "billing-agent: no successful deployment of environment 'billing-agent' yet; fix: record deployments" in (
        result.stdout
    )
    assert result.summary == ""  # no job summary outside Actions
    assert "::" not in result.stdout


def test_json_format(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene) -> None:
    result = status(dualdeploy, fake_github, scene, "--format", "json", "--components", "tenant-agent,billing-agent")
    assert result.returncode == 0, result.stderr
    # In Actions the token's ::add-mask:: line comes first (the runner takes it out of the log); the
    # request count goes to stderr, so stdout is the JSON alone.
    lines = [line for line in result.stdout.splitlines() if not line.startswith("::")]
    assert "GitHub API requests: " in result.stderr
    report = json.loads("\n".join(lines))
    assert report["target"] == scene.shas["web"]
    tenant, billing = report["components"]
    assert tenant["component"] == "tenant-agent" and tenant["status"] == "stale"
    assert tenant["deployed_sha"] == scene.shas["base"]
    assert tenant["deployed_at"] == T0 + 60
    assert [c["sha"] for c in tenant["pending_commits"]] == [scene.shas["tenant"]]
    assert tenant["pending_commits"][0]["files"] == [TENANT]
    assert billing["status"] == "unknown" and billing["deployed_sha"] is None
    assert "billing-agent" in billing["reason"]


def test_job_summary_in_actions(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene) -> None:
    result = status(dualdeploy, fake_github, scene, "--format", "json")
    assert result.summary.startswith("## Deployment status")
    assert len(tables(result.summary)[0]) == 6  # header and five components


def test_unknown_component_exits_2(dualdeploy: Dualdeploy, fake_github: FakeGitHub, scene: Scene) -> None:
    result = status(dualdeploy, fake_github, scene, "--components", "tenant-agent,nope")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "no component 'nope'" in line

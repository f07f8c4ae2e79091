"""`dualdeploy docs`: generated sections kept in step with the config, and nothing else touched."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from dualdeploy import cli
from dualdeploy.alerts import AlertItem
from dualdeploy.changes import Commit
from dualdeploy.config import load_config
from dualdeploy.dashboard import render_dashboard
from dualdeploy.drift import PendingCommit
from dualdeploy.errors import DualDeployError
from dualdeploy.jobs.docs import NO_TOKEN, TARGETS, codeowners_patterns, rows_without_token
from dualdeploy.markers import HASH, MARKDOWN, find_sections, update_section
from dualdeploy.render import SafeMarkdown, render
from fakegithub import FakeGitHub
from gitrepo import GitRepo
from runner import clean_environment, run_process

ROOT = Path(__file__).resolve().parents[1]
GENERATED = [target.path for target in TARGETS if not target.only_if_present]
MARKDOWN_FILES = [path for path in GENERATED if path.endswith(".md")]

CONFIG = """\
version: 1
components:
  api:
    description: REST API, deploys on every push to main
    deploy: auto
    paths: ["server/**", "!server/src/agent-v2/**"]
    owners: ["@acme/api-team"]
  client:
    deploy: auto
    paths: ["apps/web/**"]
  tenant-agent:
    description: Tenant agent | *runs* on <Cloud Run>
    deploy: manual
    paths: ["server/src/agent-v2/deploy/tenant/**"]
    uses: [agent-shared]
    deploy-workflow: deploy-agents.yml
    owners: ["@acme/agents-team"]
  billing-agent:
    deploy: manual
    paths: ["server/src/agent-v2/deploy/billing/**", "**/*.billing.{ts,tsx}"]
    uses: [agent-shared]
    deploy-workflow: deploy-agents.yml
    owners: ["@acme/billing-team", "@ada"]
    deployed:
      url: https://billing.example.com/version
      field: git.sha
shared:
  agent-shared: ["packages/contracts/src/**", "server/src/lib/**"]
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "mono"
    (root / ".github").mkdir(parents=True)
    (root / ".github/dual-deploy.yml").write_text(CONFIG)
    return root


def docs(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(["docs", "--repo", str(repo), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def snapshot(repo: Path) -> dict[str, bytes]:
    return {path.relative_to(repo).as_posix(): path.read_bytes() for path in sorted(repo.rglob("*")) if path.is_file()}


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table of a Markdown text as rows of cell texts (the header row first)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    found: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in tokens:
        if token.type == "table_open":
            found.append([])
        elif token.type == "table_close":
            row = None
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            found[-1].append(row or [])
        elif token.type == "inline" and row is not None:
            row.append("".join(child.content for child in token.children or ()).strip())
        elif token.type in ("th_close", "td_close") and row is not None and len(row) == 0:
            row.append("")
    return found


# --- the whole command ---------------------------------------------------------------------------


def test_first_run_creates_every_file_and_second_run_changes_nothing(repo: Path, capsys) -> None:
    status, out, _ = docs(repo, capsys=capsys)
    assert status == 0
    for path in GENERATED:
        assert (repo / path).is_file(), path
        assert f"created    {path}" in out
    assert not (repo / "AGENTS.md").exists(), "AGENTS.md is only updated when the repository has one"
    first = snapshot(repo)

    status, out, _ = docs(repo, capsys=capsys)
    assert status == 0
    assert snapshot(repo) == first
    assert out.count("unchanged") == len(GENERATED)


def test_a_bad_now_is_a_usage_error_with_or_without_a_token(repo: Path, capsys) -> None:
    status, _, err = docs(repo, "--only", "status", "--now", "next tuesday", capsys=capsys)
    assert status == 2
    assert "--now: must be ISO 8601 or unix seconds, not 'next tuesday'" in err
    assert not (repo / "docs/DEPLOYMENT_STATUS.md").exists()


def test_alias_generate_and_only(repo: Path, capsys) -> None:
    assert cli.main(["generate", "--repo", str(repo), "--only", "codeowners,runbook"]) == 0
    written = {path for path in snapshot(repo) if path != ".github/dual-deploy.yml"}
    assert written == {".github/CODEOWNERS", "docs/DEPLOYMENT_RUNBOOK.md"}
    assert cli.main(["docs", "--repo", str(repo), "--only", "codeowner"]) == 2
    assert "unknown target 'codeowner'; choose from: pr-template, codeowners" in capsys.readouterr().err


def test_user_content_before_and_after_the_section_is_kept_byte_for_byte(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    claude = repo / "CLAUDE.md"
    generated = claude.read_text()
    before = "# Project notes\n\nUse pnpm.  \n\n"
    after = "\n## More notes\n\n- keep me\n"
    claude.write_text(before + generated + after)
    docs(repo, capsys=capsys)
    assert claude.read_text() == before + generated + after

    # The config changes: only the generated part follows.
    (repo / ".github/dual-deploy.yml").write_text(CONFIG.replace("tenant-agent", "tenant-bot"))
    docs(repo, capsys=capsys)
    text = claude.read_text()
    assert text.startswith(before) and text.endswith(after)
    assert "tenant-bot" in text and "tenant-agent" not in text


def test_a_file_without_markers_gets_the_section_appended(repo: Path, capsys) -> None:
    template = repo / ".github/pull_request_template.md"
    template.write_text("## What changed\n\n- \n")
    docs(repo, capsys=capsys)
    text = template.read_text()
    assert text.startswith("## What changed\n\n- \n\n<!-- BEGIN dualdeploy:agent-deployment (generated from ")
    assert text.endswith("<!-- END dualdeploy:agent-deployment -->\n")


def test_missing_trailing_newline(repo: Path, capsys) -> None:
    (repo / "CLAUDE.md").write_bytes(b"# Notes without a final newline")
    docs(repo, capsys=capsys)
    text = (repo / "CLAUDE.md").read_bytes()
    assert text.startswith(b"# Notes without a final newline\n\n<!-- BEGIN dualdeploy:architecture")
    once = snapshot(repo)
    docs(repo, capsys=capsys)
    assert snapshot(repo) == once

    # A file that ends right after the END marker keeps ending there.
    runbook = repo / "docs/DEPLOYMENT_RUNBOOK.md"
    runbook.write_bytes(runbook.read_bytes().rstrip(b"\n"))
    (repo / ".github/dual-deploy.yml").write_text(CONFIG.replace("REST API", "The REST API"))
    docs(repo, capsys=capsys)
    assert runbook.read_bytes().endswith(b"<!-- END dualdeploy:runbook -->")
    assert "The REST API" in runbook.read_text()


def test_crlf_files_stay_crlf(repo: Path, capsys) -> None:
    user = b"# Agents guide\r\n\r\nRead this first.\r\n"
    (repo / "AGENTS.md").write_bytes(user)
    (repo / ".github/CODEOWNERS").write_bytes(b"* @acme/everyone\r\n")
    docs(repo, capsys=capsys)
    for name in ("AGENTS.md", ".github/CODEOWNERS"):
        raw = (repo / name).read_bytes()
        assert b"\n" not in raw.replace(b"\r\n", b""), f"{name} has a bare LF"
    assert (repo / "AGENTS.md").read_bytes().startswith(user + b"\r\n<!-- BEGIN dualdeploy:architecture")
    assert b"### For coding assistants" in (repo / "AGENTS.md").read_bytes()
    once = snapshot(repo)
    docs(repo, capsys=capsys)
    assert snapshot(repo) == once
    assert docs(repo, "--check", capsys=capsys)[0] == 0


def test_existing_codeowners_with_conflicting_rules(repo: Path, capsys) -> None:
    user = "# Everyone reviews by default\n* @acme/everyone\n/server/ @acme/old-api-team\n"
    (repo / ".github/CODEOWNERS").write_text(user)
    docs(repo, capsys=capsys)
    text = (repo / ".github/CODEOWNERS").read_text()
    assert text.startswith(user + "\n# BEGIN dualdeploy:codeowners")
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    # Last match wins: the generated rules come after the user's, in config order.
    assert rules == [
        "* @acme/everyone",
        "/server/ @acme/old-api-team",
        "/server/ @acme/api-team",
        "/server/src/agent-v2/deploy/tenant/ @acme/agents-team",
        "/server/src/agent-v2/deploy/billing/ @acme/billing-team @ada",
        "*.billing.ts @acme/billing-team @ada",
        "*.billing.tsx @acme/billing-team @ada",
    ]
    assert (
        "# dualdeploy: '!server/src/agent-v2/**' excludes paths; CODEOWNERS has no exclusions, so it is not converted"
        in text.splitlines()
    )
    assert "# client has no owners in the config, so it gets no line" in text
    assert "last line that matches" in text.lower()


def test_an_existing_codeowners_or_pr_template_elsewhere_is_the_one_updated(repo: Path, capsys) -> None:
    # GitHub reads one CODEOWNERS: a new .github/CODEOWNERS would silently replace the root one.
    (repo / "CODEOWNERS").write_text("* @acme/everyone\n")
    (repo / ".github/PULL_REQUEST_TEMPLATE.md").write_text("## Why\n")
    status, out, _ = docs(repo, capsys=capsys)
    assert status == 0
    assert "updated    CODEOWNERS" in out and "updated    .github/PULL_REQUEST_TEMPLATE.md" in out
    assert not (repo / ".github/CODEOWNERS").exists()
    assert sorted(p.name for p in (repo / ".github").iterdir() if p.name.lower().startswith("pull")) == [
        "PULL_REQUEST_TEMPLATE.md"
    ]
    assert "# BEGIN dualdeploy:codeowners" in (repo / "CODEOWNERS").read_text()
    assert docs(repo, "--check", capsys=capsys)[0] == 0


def test_a_byte_order_mark_stays_first(repo: Path, capsys) -> None:
    (repo / "CLAUDE.md").write_bytes(b"\xef\xbb\xbf")
    docs(repo, capsys=capsys)
    raw = (repo / "CLAUDE.md").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf\n\n<!-- BEGIN dualdeploy:architecture")
    # A BEGIN marker right after the BOM is found, not duplicated.
    (repo / "CLAUDE.md").write_bytes(b"\xef\xbb\xbf" + raw.lstrip(b"\xef\xbb\xbf\n"))
    docs(repo, capsys=capsys)
    again = (repo / "CLAUDE.md").read_bytes()
    assert again.startswith(b"\xef\xbb\xbf<!-- BEGIN") and again.count(b"BEGIN dualdeploy") == 1


@pytest.mark.parametrize(
    ("pattern", "converted", "skipped"),
    [
        ("server/**", ("/server/",), ""),
        ("**", ("*",), ""),
        ("server/src/agent-v2/deploy/tenant/**", ("/server/src/agent-v2/deploy/tenant/",), ""),
        ("apps/web/src/*.ts", ("/apps/web/src/*.ts",), ""),
        ("apps/*/src/**", ("/apps/*/src/",), ""),
        ("server/**/*.sql", ("/server/**/*.sql",), ""),
        ("**/*.md", ("*.md",), ""),
        ("**/migrations/**", ("migrations/",), ""),
        ("**/db/migrations/**", ("**/db/migrations/",), ""),
        ("**/Dockerfile", ("Dockerfile",), ""),
        ("package.json", ("/package.json",), ""),
        ("*.config.js", ("/*.config.js",), ""),
        ("src/{a,b}/**", ("/src/a/", "/src/b/"), ""),
        ("!server/tests/**", (), "exclusion"),
        ("src/[ab]/**", (), "range"),
        ("docs/my file.md", (), "space"),
    ],
)
def test_codeowners_patterns(pattern: str, converted: tuple[str, ...], skipped: str) -> None:
    assert codeowners_patterns(pattern) == (converted, skipped)


# --- --check -------------------------------------------------------------------------------------


def test_check_on_fresh_files(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    status, out, _ = docs(repo, "--check", capsys=capsys)
    assert status == 0
    assert "up to date" in out


def test_check_before_the_first_run_reports_every_file_and_writes_nothing(repo: Path, capsys) -> None:
    status, out, err = docs(repo, "--check", capsys=capsys)
    assert status == 1
    assert "--- /dev/null\n+++ b/.github/CODEOWNERS\n" in out
    assert f"{len(GENERATED)} generated files out of date" in err
    assert snapshot(repo) == {".github/dual-deploy.yml": CONFIG.encode()}


def test_check_on_a_stale_config(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    before = snapshot(repo)
    (repo / ".github/dual-deploy.yml").write_text(
        CONFIG.replace('owners: ["@acme/agents-team"]', 'owners: ["@acme/bots"]')
    )
    status, out, err = docs(repo, "--check", capsys=capsys)
    assert status == 1
    assert "--- a/.github/CODEOWNERS\n+++ b/.github/CODEOWNERS\n" in out
    assert "-/server/src/agent-v2/deploy/tenant/ @acme/agents-team\n" in out
    assert "+/server/src/agent-v2/deploy/tenant/ @acme/bots\n" in out
    assert "run `dualdeploy docs` and commit" in err
    assert {k: v for k, v in snapshot(repo).items() if k != ".github/dual-deploy.yml"} == {
        k: v for k, v in before.items() if k != ".github/dual-deploy.yml"
    }, "--check writes nothing"


def test_check_on_a_hand_edited_generated_part(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    runbook = repo / "docs/DEPLOYMENT_RUNBOOK.md"
    runbook.write_text(runbook.read_text().replace("| Nothing. |", "| Nothing at all. |"))
    status, out, _ = docs(repo, "--check", capsys=capsys)
    assert status == 1
    assert "+++ b/docs/DEPLOYMENT_RUNBOOK.md" in out
    assert "-| in sync |" in out and "Nothing at all." in out
    assert "CODEOWNERS" not in out, "only the edited file is reported"
    # Editing outside the markers is the user's business.
    runbook.write_text("# My runbook\n" + runbook.read_text().replace("Nothing at all.", "Nothing."))
    assert docs(repo, "--check", capsys=capsys)[0] == 0


# --- broken markers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("intro\n<!-- BEGIN dualdeploy:architecture (x) -->\nold\n", 2, "has no END line"),
        (
            "<!-- BEGIN dualdeploy:architecture -->\n<!-- END dualdeploy:architecture -->\n"
            "<!-- BEGIN dualdeploy:architecture -->\n<!-- END dualdeploy:architecture -->\n",
            3,
            "appears twice (first on line 1)",
        ),
        ("text\n\n<!-- END dualdeploy:architecture -->\n", 3, "has no matching BEGIN"),
        (
            "<!-- BEGIN dualdeploy:architecture -->\n<!-- BEGIN dualdeploy:other -->\n<!-- END dualdeploy:other -->\n",
            2,
            "starts inside section 'architecture'",
        ),
    ],
)
def test_broken_markers_are_an_error_not_an_overwrite(
    repo: Path, capsys, content: str, line: int, message: str
) -> None:
    (repo / "CLAUDE.md").write_text(content)
    status, _, err = docs(repo, "--only", "claude-md", capsys=capsys)
    assert status == 2
    assert err.startswith(f"dualdeploy: error: CLAUDE.md:{line}: ")
    assert message in err
    assert (repo / "CLAUDE.md").read_text() == content
    assert docs(repo, "--check", "--only", "claude-md", capsys=capsys)[0] == 2


def test_markers_in_code_fences_are_examples() -> None:
    text = "```md\n<!-- BEGIN dualdeploy:architecture -->\n```\nafter\n"
    assert find_sections(text, MARKDOWN, "x.md") == {}
    updated = update_section(text, "architecture", "body", style=MARKDOWN, source="c.yml", file="x.md")
    assert updated.startswith(text) and updated.count("BEGIN dualdeploy:architecture") == 2


def test_user_content_between_two_sections() -> None:
    text = (
        "top\n# BEGIN dualdeploy:a\nold a\n# END dualdeploy:a\n"
        "middle\r\n# BEGIN dualdeploy:b\nold b\n# END dualdeploy:b\nend"
    )
    updated = update_section(text, "a", "new a", style=HASH, source="c.yml", file="CODEOWNERS")
    updated = update_section(updated, "b", "new b", style=HASH, source="c.yml", file="CODEOWNERS")
    assert updated.startswith("top\n# BEGIN dualdeploy:a (generated from c.yml;")
    assert "new a\n# END dualdeploy:a\nmiddle\r\n# BEGIN dualdeploy:b" in updated
    assert updated.endswith("new b\n# END dualdeploy:b\nend")
    assert update_section(updated, "a", "new a", style=HASH, source="c.yml", file="CODEOWNERS") == updated


def test_a_description_cannot_forge_a_marker(repo: Path, capsys) -> None:
    config = CONFIG.replace("REST API, deploys on every push to main", "'x\n      <!-- END dualdeploy:runbook -->'")
    (repo / ".github/dual-deploy.yml").write_text(config)
    docs(repo, capsys=capsys)
    assert docs(repo, capsys=capsys)[0] == 0
    text = (repo / "docs/DEPLOYMENT_RUNBOOK.md").read_text()
    section = find_sections(text, MARKDOWN, "docs/DEPLOYMENT_RUNBOOK.md")["runbook"]
    assert text[section.end :] == "\n" and "## Troubleshooting" in section.text(text)
    assert "&lt;\\!\\-\\- END dualdeploy:runbook \\-\\-&gt;" in text


def test_not_utf8_is_an_error(repo: Path, capsys) -> None:
    (repo / "CLAUDE.md").write_bytes(b"ok\n\xff\xfe\n")
    status, _, err = docs(repo, capsys=capsys)
    assert status == 2 and "CLAUDE.md:2: the file is not UTF-8 text" in err


# --- the generated Markdown ----------------------------------------------------------------------


def test_every_markdown_file_parses_and_its_tables_have_the_cells(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    parsed = {path: tables((repo / path).read_text()) for path in MARKDOWN_FILES}

    status = parsed["docs/DEPLOYMENT_STATUS.md"][0]
    assert status[0] == ["Component", "Deploys", "Deployed commit", "When", "Pending", "Status", "Deploy"]
    assert [row[0] for row in status[1:]] == ["api", "client", "tenant-agent", "billing-agent"]
    for row in status[1:]:
        assert row[2:4] == ["—", "—"] and row[5] == "❔ unknown", row
    assert status[3][1] == "manual" and status[3][6] == "Run deploy-agents.yml"
    assert status[1][6] == "deploys on merge"

    pr = parsed[".github/pull_request_template.md"][0]
    assert pr[0] == ["Agent", "How to deploy after merge", "How to verify"]
    assert [row[0] for row in pr[1:]] == ["tenant-agent", "billing-agent"]
    assert "gh workflow run deploy-agents.yml --ref main" in pr[1][1]
    assert "tenant-agent" in pr[1][2] and "environment" in pr[1][2]
    assert "https://billing.example.com/version" in pr[2][2] and "git.sha" in pr[2][2]

    runbook = parsed["docs/DEPLOYMENT_RUNBOOK.md"]
    assert runbook[0][0] == ["Component", "Deploys", "Deploy", "Owners"]
    assert runbook[0][1] == ["api", "automatic", "Automatic on every merge to main", "@acme/api-team"]
    assert runbook[0][4][3] == "@acme/billing-team, @ada"
    assert [row[0] for row in runbook[1][1:]] == ["in sync", "stale", "deploying", "diverged", "unknown"]
    assert runbook[2][0] == ["Message", "Cause", "Fix"]

    for path in (".github/workflows/WORKFLOWS_README.md", "CLAUDE.md"):
        architecture = parsed[path][0]
        assert architecture[0] == ["Component", "Deploys", "Paths", "How it deploys"]
        assert architecture[3][:2] == ["tenant-agent", "manual"]
        assert "server/src/agent-v2/deploy/tenant/**" in architecture[3][2]

    issue = parsed[".github/ISSUE_TEMPLATE/stale-agent.md"]
    assert len(issue) == 3, "a pending-commits table per manual agent, then how to fix"
    assert issue[0][1] == ["<sha>", "subject", "author", "#number", "date and time (UTC)"]
    assert issue[2][0] == ["Agent", "Deploy", "Verify"]
    assert [row[0] for row in issue[2][1:]] == ["tenant-agent", "billing-agent"]


def test_markdown_renders_safely(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    html = MarkdownIt("gfm-like").render((repo / "docs/DEPLOYMENT_RUNBOOK.md").read_text())
    # The description's "<Cloud Run>", "|" and "*" stay text; owners do not notify anyone.
    assert "Tenant agent | *runs* on &lt;Cloud Run&gt;" in html
    assert '<a href="../.github/workflows/deploy-agents.yml">' in html
    assert '<a href="#tenant-agent">' in html and "<h3>tenant-agent</h3>" in html
    assert re.search(r"(?<![`\w])@acme/", (repo / ".github/ISSUE_TEMPLATE/stale-agent.md").read_text()) is None


def test_a_hostile_description_starting_a_line_stays_text(repo: Path, capsys) -> None:
    # The runbook puts a component's description at the start of its own line, where '#' makes a
    # heading and '[text](url)' a link that hides its target: a config value must show as written.
    hostile = "# Deploy by hand now, see [the fix](https://evil.example/steal)"
    config = repo / ".github/dual-deploy.yml"
    config.write_text(config.read_text().replace("REST API, deploys on every push to main", f"'{hostile}'"))
    status, _, err = docs(repo, capsys=capsys)
    assert status == 0, err
    runbook = (repo / "docs/DEPLOYMENT_RUNBOOK.md").read_text()
    assert any(line.startswith("\\# Deploy by hand") for line in runbook.splitlines())
    html = MarkdownIt("gfm-like").render(runbook)
    assert not re.search(r"<h\d[^>]*>[^<]*Deploy by hand", html)
    assert 'href="https://evil.example/steal"' not in html
    assert f"<p>{hostile}</p>" in re.sub(r"</?a\b[^>]*>", "", html)  # linkify may mark a bare URL, nothing more


def test_issue_template_front_matter(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    text = (repo / ".github/ISSUE_TEMPLATE/stale-agent.md").read_text()
    assert text.startswith("---\nname: Stale agent deployment\n")
    assert 'labels: ["alert", "deployment"]' in text.split("---")[1]
    # The front matter belongs to the repository once written: edits survive.
    (repo / ".github/ISSUE_TEMPLATE/stale-agent.md").write_text(text.replace("assignees: []", "assignees: [ada]"))
    docs(repo, capsys=capsys)
    assert "assignees: [ada]" in (repo / ".github/ISSUE_TEMPLATE/stale-agent.md").read_text()


def test_issue_template_is_the_monitors_alert_with_placeholders(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    form = (repo / ".github/ISSUE_TEMPLATE/stale-agent.md").read_text()
    landed = 1_700_000_000
    commit = Commit("b" * 40, "tenant change (#7)", "Ada", landed, landed, ("server/src/agent-v2/deploy/tenant/a.ts",))
    item = AlertItem(
        name="tenant-agent",
        sha="a" * 40,
        deployed_at=landed - 60,
        commit_url=None,
        repo_url=None,
        deploy_url="https://github.com/acme/mono/actions/workflows/deploy-agents.yml",
        workflow="deploy-agents.yml",
        owners=SafeMarkdown("@acme/agents-team"),
        waited="3 h",
        pending=(PendingCommit(commit, commit.paths),),
    )
    alert = render(
        "monitor_issue.md.j2",
        marker=SafeMarkdown("<!-- marker -->"),
        state=SafeMarkdown("<!-- state -->"),
        target="c" * 40,
        target_url=None,
        items=[item],
        budget=50,
        metrics=[],
        previous=None,
        max_age="1 h",
    )

    def section(text: str, name: str) -> list[str]:
        """The agent's section: its heading, list and table, with the data cut off each line."""
        lines = text.split(f"### `{name}`:", 1)[1].split("\n\n| Commit |")[0].splitlines()[1:]
        table = "| Commit |" + text.split(f"### `{name}`:", 1)[1].split("\n| Commit |", 1)[1].split("\n", 1)[0]
        return [line.split(":")[0] for line in lines if line] + [table]

    assert (
        section(form, "tenant-agent")
        == section(alert, "tenant-agent")
        == [
            "- Deployed",
            "- Deploy",
            "- Owners",
            "| Commit | Subject | Author | Pull request | On production since |",
        ]
    )
    assert "- Deployed: `<sha>` at *date and time (UTC)*" in form
    assert "### `billing-agent`: *N* commits waiting for *how long*" in form
    assert "### `api`" not in form, "the monitor alerts about manual components only"


def test_status_page_table_is_the_dashboards(repo: Path, capsys) -> None:
    docs(repo, capsys=capsys)
    page = (repo / "docs/DEPLOYMENT_STATUS.md").read_text()
    config = load_config(repo / ".github/dual-deploy.yml")
    summary = render_dashboard("Deployment status", "c" * 40, list(rows_without_token(config)), repo_url=None)
    table = summary[summary.index("| Component |") :].split("\n\n")[0]
    assert table in page
    assert all(row.reason == NO_TOKEN for row in rows_without_token(config))
    assert NO_TOKEN not in page, "one sentence says there is no token, not one per row"


# --- the status page with a token ----------------------------------------------------------------

# Every component reads GitHub deployments (the fake), none a version URL on the real network.
LIVE_CONFIG = CONFIG.replace(
    "    deployed:\n      url: https://billing.example.com/version\n      field: git.sha\n", ""
)
assert LIVE_CONFIG != CONFIG


def test_status_page_with_live_data_and_check_without_a_token(tmp_path: Path, fake_github: FakeGitHub, capsys) -> None:
    git = GitRepo(tmp_path / "live")
    deployed = git.commit(
        "base",
        {
            ".github/dual-deploy.yml": LIVE_CONFIG,
            "server/src/agent-v2/deploy/tenant/index.ts": "1",
            "server/src/index.ts": "1",
        },
    )
    git.commit("tenant change", {"server/src/agent-v2/deploy/tenant/index.ts": "2"})
    fake_github.add_repo("acme/mono", head_sha=git.head())
    for environment, sha in (("tenant-agent", deployed), ("api", git.head())):
        deployment = fake_github.add_deployment("acme/mono", sha=sha, environment=environment)
        fake_github.add_deployment_status("acme/mono", deployment.id, "success")

    os.environ["GITHUB_API_URL"] = fake_github.url
    try:
        status, out, err = docs(
            git.path, "--github-token", "test-token", "--repository", "acme/mono", "--only", "status", capsys=capsys
        )
    finally:
        del os.environ["GITHUB_API_URL"]
    assert status == 0, err
    page = (git.path / "docs/DEPLOYMENT_STATUS.md").read_text()
    rows = {row[0]: row for row in tables(page)[0][1:]}
    assert rows["api"][2] == git.head()[:7] and rows["api"][5] == "✅ in sync" and rows["api"][4] == "0"
    assert rows["tenant-agent"][2] == deployed[:7] and rows["tenant-agent"][4] == "1: tenant change"
    assert rows["tenant-agent"][5].startswith("🟠 stale (1 behind for ")
    assert rows["client"][5] == "❔ unknown" and rows["client"][2] == "—"
    assert f"[`{deployed[:7]}`](https://github.com/acme/mono/commit/{deployed})" in page
    # Below the table, as in the job summary: why a row is what it is, and the pending commits.
    assert "### client: unknown\n\nno successful deployment of environment 'client' yet" in page
    assert "<details><summary>1 pending commit</summary>" in page
    history = tables(page)[-1]
    assert history[0] == ["When", "Component", "Environment", "Commit", "State", "By"]
    assert sorted(row[1] for row in history[1:]) == ["api", "tenant-agent"]
    assert "dualdeploy:status-structure sha256:" in page

    # --check reads no network: the snapshot is current as long as the config gives the same page.
    requests = len(fake_github.requests)
    assert docs(git.path, "--check", "--only", "status", capsys=capsys)[0] == 0
    assert len(fake_github.requests) == requests
    (git.path / ".github/dual-deploy.yml").write_text(LIVE_CONFIG.replace("client:", "web:"))
    status, out, _ = docs(git.path, "--check", "--only", "status", capsys=capsys)
    assert status == 1 and "+| `web` |" in out


def test_a_token_without_a_repository_is_an_error(repo: Path, capsys) -> None:
    status, _, err = docs(repo, "--github-token", "t", capsys=capsys)
    assert status == 2 and "pass --repository owner/name" in err


# --- the bundled example -------------------------------------------------------------------------


def test_examples_docs_are_current() -> None:
    result = run_process("docs", "--check", "--repo", "examples/monorepo", cwd=ROOT)
    assert result.returncode == 0, (
        f"the generated files in examples/monorepo are out of date; run "
        f"`dualdeploy docs --repo examples/monorepo`:\n{result.stdout}{result.stderr}"
    )


def test_errors_carry_file_and_line() -> None:
    with pytest.raises(DualDeployError) as error:
        find_sections("a\n# BEGIN dualdeploy:codeowners\n", HASH, ".github/CODEOWNERS")
    assert (error.value.file, error.value.line) == (".github/CODEOWNERS", 2)


# --- the quick reference, the onboarding FAQ, the assistants' monitoring commands ------------------

EXAMPLE = ROOT / "examples/monorepo"
QUICK_REFERENCE = "docs/solutions/patterns/DUAL_DEPLOYMENT_QUICK_REFERENCE.md"


def test_examples_quick_reference_and_onboarding_carry_the_workflow_inputs() -> None:
    """The bundled example's generated guides tell people the exact command, inputs included."""
    quick = (EXAMPLE / QUICK_REFERENCE).read_text()
    onboarding = (EXAMPLE / "docs/ONBOARDING.md").read_text()
    for agent in ("tenant-agent", "support-agent", "billing-agent"):
        command = f"`gh workflow run deploy-agents.yml --ref main -f 'agents=[\"{agent}\"]'`"
        assert command in quick, agent
        assert command in onboarding, agent
    assert "gh workflow run deploy-agents.yml --ref main`" not in quick + onboarding, "a command without its inputs"
    # Both are managed sections, so `docs --check` (test_examples_docs_are_current) covers them.
    assert "<!-- BEGIN dualdeploy:quick-reference " in quick
    assert "<!-- BEGIN dualdeploy:onboarding " in onboarding


def test_quick_reference_is_one_screen_in_four_steps(repo: Path, capsys) -> None:
    docs(repo, "--only", "quick-reference", capsys=capsys)
    text = (repo / QUICK_REFERENCE).read_text()
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == [
        "### 1. Did you change agent code?",
        "### 2. After merge: deploy it",
        "### 3. Verify it runs",
        "### 4. Who owns it",
    ]
    changed, deploy = tables(text)
    assert changed[1:] == [
        ["server/src/agent-v2/deploy/tenant/**", "tenant-agent"],
        ["server/src/agent-v2/deploy/billing/**, **/*.billing.{ts,tsx}", "billing-agent"],
        ["packages/contracts/src/**, server/src/lib/** (shared agent-shared)", "tenant-agent, billing-agent"],
    ]
    assert deploy[1][0] == "tenant-agent" and "gh workflow run deploy-agents.yml --ref main" in deploy[1][1]
    assert "dualdeploy explain --pr <number>" in text and "dualdeploy status" in text
    assert "- `billing-agent`: `@acme/billing-team`, `@ada`" in text
    assert len(text.splitlines()) < 60


def test_onboarding_faq_answers_the_questions_and_keeps_the_rest_of_the_file(repo: Path, capsys) -> None:
    (repo / "docs").mkdir()
    (repo / "docs/ONBOARDING.md").write_text("# Welcome\n\nAsk for a laptop.\n")
    docs(repo, "--only", "onboarding", capsys=capsys)
    text = (repo / "docs/ONBOARDING.md").read_text()
    assert text.startswith("# Welcome\n\nAsk for a laptop.\n")
    questions = [line for line in text.splitlines() if line.startswith("### ")]
    assert questions == [
        "### When do I need to deploy agents?",
        "### How do I know if my pull request needs it?",
        "### How do I deploy and verify?",
        "### How do I roll back?",
        "### Why didn't my agent deploy?",
    ]
    assert "- [ ] Read [the quick reference](solutions/patterns/DUAL_DEPLOYMENT_QUICK_REFERENCE.md)" in text
    why = text.split("### Why didn't my agent deploy?")[1]
    assert "dualdeploy explain --pr <number>" in why


def test_quick_reference_path_comes_from_the_config(repo: Path, capsys) -> None:
    config = repo / ".github/dual-deploy.yml"
    config.write_text(CONFIG + "docs:\n  quick-reference: handbook/QUICK.md\n  onboarding: ONBOARDING.md\n")
    status, out, _ = docs(repo, "--only", "quick-reference,onboarding", capsys=capsys)
    assert status == 0
    assert "created    handbook/QUICK.md" in out and "created    ONBOARDING.md" in out
    assert not (repo / QUICK_REFERENCE).exists() and not (repo / "docs/ONBOARDING.md").exists()
    assert "[the onboarding FAQ](../ONBOARDING.md)" in (repo / "handbook/QUICK.md").read_text()
    assert "[the quick reference](handbook/QUICK.md)" in (repo / "ONBOARDING.md").read_text()
    status, _, _ = docs(repo, "--check", capsys=capsys)
    assert status == 1  # the other targets were never written
    status, _, _ = docs(repo, "--check", "--only", "quick-reference,onboarding", capsys=capsys)
    assert status == 0
    (repo / "handbook/QUICK.md").write_text((repo / "handbook/QUICK.md").read_text().replace("tenant", "tennant"))
    status, out, _ = docs(repo, "--check", "--only", "quick-reference", capsys=capsys)
    assert status == 1 and "b/handbook/QUICK.md" in out


def test_assistant_files_list_the_monitoring_commands(repo: Path, capsys) -> None:
    (repo / "AGENTS.md").write_text("# Agents\n")
    docs(repo, capsys=capsys)
    for name in ("CLAUDE.md", "AGENTS.md"):
        text = (repo / name).read_text()
        monitoring = text.split("### Monitoring the deployments")[1]
        for command in (
            "dualdeploy status",
            "dualdeploy explain --pr <number>",
            "dualdeploy sync-check",
            "gh issue list --label alert",
        ):
            assert command in monitoring, (name, command)
    assert "### Monitoring the deployments" not in (repo / ".github/workflows/WORKFLOWS_README.md").read_text()


def test_deploy_commands_name_the_repositorys_default_branch(tmp_path: Path) -> None:
    """A repository whose default branch is `trunk`: the guides' `gh workflow run --ref` and their
    prose name `trunk` (`--ref main` would fail as printed), as `detect` and `explain` do."""
    upstream = GitRepo(tmp_path / "upstream", branch="trunk")
    upstream.commit("base", {".github/dual-deploy.yml": CONFIG})
    clone = tmp_path / "clone"
    upstream.git("clone", "--quiet", f"file://{upstream.path}", str(clone))
    result = run_process("docs", "--repo", str(clone), "--only", "quick-reference,onboarding,runbook")
    assert result.returncode == 0, result.stderr
    names = (QUICK_REFERENCE, "docs/ONBOARDING.md", "docs/DEPLOYMENT_RUNBOOK.md")
    guides = "".join((clone / name).read_text() for name in names)
    assert "`gh workflow run deploy-agents.yml --ref trunk`" in guides
    assert "--ref main" not in guides and "`main`" not in guides
    assert run_process("docs", "--repo", str(clone), "--check").returncode == 1  # the other files are not written

    # In Actions the event's default branch decides, as everywhere else.
    elsewhere = run_process(
        "docs", "--repo", str(clone), "--only", "quick-reference", env={"DD_DEFAULT_BRANCH": "release"}
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "`gh workflow run deploy-agents.yml --ref release`" in (clone / QUICK_REFERENCE).read_text()


def test_the_readme_has_no_heading_swallowed_by_a_code_block() -> None:
    """Each command's section of the README is a heading a reader (and the table of contents) sees,
    not text inside an unclosed code block."""
    tokens = MarkdownIt().parse((ROOT / "README.md").read_text())
    headings = [tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"]
    for command in ("check", "explain", "announce"):
        assert any(heading.startswith(f"`dualdeploy {command}`") for heading in headings), command


def test_quick_reference_and_onboarding_in_one_file_keep_both_sections(repo: Path, capsys) -> None:
    """`docs.quick-reference` may name the onboarding file: both managed sections end up in it on the
    first run, a second run changes nothing, and `--check` agrees."""
    config = repo / ".github/dual-deploy.yml"
    config.write_text(CONFIG + "docs:\n  quick-reference: docs/ONBOARDING.md\n")
    status, _, err = docs(repo, "--only", "quick-reference,onboarding", capsys=capsys)
    assert status == 0, err
    text = (repo / "docs/ONBOARDING.md").read_text()
    assert "<!-- BEGIN dualdeploy:onboarding " in text and "<!-- BEGIN dualdeploy:quick-reference " in text
    before = snapshot(repo)
    assert docs(repo, "--only", "quick-reference,onboarding", capsys=capsys)[0] == 0
    assert snapshot(repo) == before
    assert docs(repo, "--check", "--only", "quick-reference,onboarding", capsys=capsys)[0] == 0

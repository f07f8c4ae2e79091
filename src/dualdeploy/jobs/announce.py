"""`dualdeploy announce`: one GitHub Discussion that announces the dual deployment to the team.

The discussion carries the quick reference (the same template as the generated file, with links
made absolute) and links to the runbook, the status page and the deploy workflows. It is found by
a hidden marker at the start of its body, created once in the category given by name and edited
in place afterwards; a run with nothing new writes nothing. Discussions are reached through
GitHub's GraphQL API (REST has none), through the same client as the rest of the suite.

GitHub's API cannot pin a discussion: the command says so and prints the link to pin it by hand.
`--pin-issue` keeps the announcement as one pinned issue instead (`pinIssue` exists).

With Slack configured it posts the link once per change of the announcement: the body's hidden
state records the fingerprint of the announcement that was last posted.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from dualdeploy import actions_io, github
from dualdeploy.config import Config
from dualdeploy.errors import EXIT_GAP, DualDeployError
from dualdeploy.guides import guide_values
from dualdeploy.jobs import common
from dualdeploy.markers import hidden_state, read_hidden_state
from dualdeploy.render import SafeMarkdown, link_target, render, render_plain

MARKER = "<!-- dualdeploy:announcement -->"
DEFAULT_CATEGORY = "Announcements"
DISCUSSION_PAGES = 10  # 1,000 discussions: past that, an old announcement would be recreated, not lost

CATEGORIES = """
query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id
    discussionCategories(first: 100) { nodes { id name } }
  }
}
"""
DISCUSSIONS = """
query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    discussions(first: 100, after: $after, orderBy: {field: CREATED_AT, direction: ASC}) {
      nodes { id number title body url category { id name } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
CREATE = """
mutation($repositoryId: ID!, $categoryId: ID!, $title: String!, $body: String!) {
  createDiscussion(input: {repositoryId: $repositoryId, categoryId: $categoryId, title: $title, body: $body}) {
    discussion { id number url }
  }
}
"""
UPDATE = """
mutation($discussionId: ID!, $title: String!, $body: String!, $categoryId: ID) {
  updateDiscussion(input: {discussionId: $discussionId, title: $title, body: $body, categoryId: $categoryId}) {
    discussion { id number url }
  }
}
"""
PIN_ISSUE = """
mutation($issueId: ID!) {
  pinIssue(input: {issueId: $issueId}) { issue { id isPinned } }
}
"""


@dataclass(frozen=True)
class Kept:
    """What a run did to the announcement, and what it needs to write the body again."""

    action: str  # created | updated | unchanged
    url: str
    previous: dict  # the hidden state the body had before this run
    rewrite: Callable[[str], None]  # writes the body again (to undo a Slack mark after a failed post)


def run(args: argparse.Namespace) -> int:
    _git, config = common.open_config(args)
    repo = common.github_repo(args)
    if repo is None:
        raise DualDeployError(
            "announce writes to GitHub: pass --github-token (or set GITHUB_TOKEN) and --repository owner/name",
            key="--github-token",
        )
    with github.call("read the repository", permission="contents: read"):
        full_name, repo_url, branch = repo.full_name, repo.html_url, repo.default_branch
    branch = actions_io.default_branch() or branch
    title = render_plain("announcement_title.txt.j2").strip()
    content = announcement(config, repo_url, branch)
    fingerprint = hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()[:16]
    webhook = common.slack_webhook(config)

    def body(previous: dict) -> str:
        # With Slack, the body records this announcement as posted in the same write (a crash
        # between the write and the post costs one missed message, never a second one).
        return body_of(content, fingerprint, fingerprint if webhook else previous.get("slack"))

    if args.pin_issue:
        kept = keep_pinned_issue(repo, title, body)
        print(f"announcement issue {kept.action}: {kept.url} (pinned)")
    else:
        kept = keep_discussion(repo, full_name, args.category or DEFAULT_CATEGORY, title, body)
        print(f"announcement discussion {kept.action}: {kept.url}")
        print(render_plain("announcement_pin.txt.j2", url=kept.url).strip())
    actions_io.set_output("announcement-url", kept.url)
    if not webhook or kept.previous.get("slack") == fingerprint:
        return 0
    return post_to_slack(args, config, webhook, full_name, title, kept, content, fingerprint)


def announcement(config: Config, repo_url: str, branch: str) -> str:
    """The visible body: the quick reference and the links, all absolute (a discussion resolves no relative link)."""

    def blob(path: str) -> SafeMarkdown:
        return link_target(f"{repo_url}/blob/{branch}/{path}")

    def workflow(file: str) -> SafeMarkdown:
        return link_target(f"{repo_url}/actions/workflows/{file}")

    values = guide_values(config, config.path, link=blob, workflow_link=workflow, branch=branch)
    files = dict.fromkeys(
        component.deploy_workflow
        for component in sorted(config.components, key=lambda component: not component.manual)
        if component.deploy_workflow
    )
    return render(
        "announcement.md.j2",
        **values,
        quick_reference_url=blob(config.docs.quick_reference),
        deploy_workflows=[(file, workflow(file)) for file in files],
    ).strip("\n")


def body_of(content: str, fingerprint: str, slack: str | None) -> str:
    state = {"fingerprint": fingerprint}
    if slack:
        state["slack"] = slack
    return f"{MARKER}\n{hidden_state(state)}\n{content}\n"


# --- the discussion -------------------------------------------------------------------------------


def keep_discussion(repo, full_name: str, category_name: str, title: str, body: Callable[[dict], str]) -> Kept:
    """Create the announcement in the category, or edit it in place (moving it when the category changed)."""
    owner, name = full_name.split("/", 1)
    found = github.graphql(
        repo,
        CATEGORIES,
        {"owner": owner, "name": name},
        what="read the discussion categories",
        permission="discussions: read",
    )["repository"]
    categories = found["discussionCategories"]["nodes"] or []
    category = next((c for c in categories if c["name"].casefold() == category_name.strip().casefold()), None)
    if category is None:
        names = ", ".join(repr(c["name"]) for c in categories)
        raise DualDeployError(
            f"no discussion category {category_name!r} in {full_name}; "
            + (
                f"its categories are: {names}; pass one with --category, or create {category_name!r} in the "
                "repository's Discussions settings"
                if categories
                else "it has no discussion categories: enable Discussions in the repository's settings, "
                "or keep a pinned issue instead with --pin-issue"
            ),
            key="--category",
        )
    existing = find_announcement(repo, owner, name)
    previous = read_hidden_state(existing["body"]) if existing else {}
    text = body(previous)
    if existing is None:
        existing = github.graphql(
            repo,
            CREATE,
            {"repositoryId": found["id"], "categoryId": category["id"], "title": title, "body": text},
            what=f"create the announcement in {category['name']!r}",
            permission="discussions: write",
        )["createDiscussion"]["discussion"]
        action = "created"
    elif existing["body"] == text and existing["title"] == title and existing["category"]["id"] == category["id"]:
        action = "unchanged"
    else:
        moved = existing["category"]["id"] != category["id"]
        update_discussion(repo, existing, title, text, category["id"] if moved else None)
        action = "updated"
    return Kept(action, existing["url"], previous, lambda again: update_discussion(repo, existing, title, again))


def update_discussion(repo, discussion: dict, title: str, body: str, category_id: str | None = None) -> None:
    github.graphql(
        repo,
        UPDATE,
        {"discussionId": discussion["id"], "title": title, "body": body, "categoryId": category_id},
        what=f"update the announcement (discussion #{discussion['number']})",
        permission="discussions: write",
    )


def find_announcement(repo, owner: str, name: str) -> dict | None:
    """The oldest discussion whose body starts with the marker; others are never touched."""
    after = None
    for _ in range(DISCUSSION_PAGES):
        page = github.graphql(
            repo,
            DISCUSSIONS,
            {"owner": owner, "name": name, "after": after},
            what="read the discussions",
            permission="discussions: read",
        )["repository"]["discussions"]
        for node in page["nodes"] or []:
            if (node.get("body") or "").startswith(MARKER):
                return node
        if not page["pageInfo"]["hasNextPage"]:
            return None
        after = page["pageInfo"]["endCursor"]
    return None


# --- the pinned issue -------------------------------------------------------------------------------


def own_issue(repo):
    """The open issue whose body starts with the marker (issues the suite does not own are never touched)."""
    with github.call("list the open issues", permission="issues: read"):
        for issue in repo.get_issues(state="open"):
            if issue.pull_request is None and (issue.body or "").startswith(MARKER):
                return issue
    return None


def keep_pinned_issue(repo, title: str, body: Callable[[dict], str]) -> Kept:
    """Create the announcement issue, or edit it in place; pin it (pinning a pinned issue changes nothing)."""
    issue = own_issue(repo)
    previous = read_hidden_state(issue.body) if issue else {}
    text = body(previous)
    action = "unchanged"
    if issue is None:
        with github.call("create the announcement issue", permission="issues: write"):
            issue = repo.create_issue(title=title, body=text)
        action = "created"
    elif issue.body != text or issue.title != title:
        edit_issue(issue, title, text)
        action = "updated"
    github.graphql(
        repo,
        PIN_ISSUE,
        {"issueId": issue.node_id},
        what=f"pin the announcement issue #{issue.number}",
        permission="issues: write",
    )
    return Kept(action, issue.html_url, previous, lambda again: edit_issue(issue, title, again))


def edit_issue(issue, title: str, body: str) -> None:
    with github.call(f"edit the announcement issue #{issue.number}", permission="issues: write"):
        issue.edit(title=title, body=body)


# --- Slack ----------------------------------------------------------------------------------------


def post_to_slack(
    args: argparse.Namespace,
    config: Config,
    webhook: str,
    full_name: str,
    title: str,
    kept: Kept,
    content: str,
    fingerprint: str,
) -> int:
    """The link, once per change of the announcement; a failed post is unmarked, so the next run retries."""
    from dualdeploy import notify
    from dualdeploy.notify import render_slack

    payload = render_slack(
        "slack/announcement.json.j2",
        repo=full_name,
        url=kept.url,
        title=title,
        first=not kept.previous.get("slack"),
        mention=config.slack.mention if config.slack and config.slack.mention else "",
    )
    result = notify.send(webhook, payload)
    if result.sent:
        print("Slack: posted the announcement's link")
        return 0
    kept.rewrite(body_of(content, fingerprint, kept.previous.get("slack")))
    if result.error and args.fail_on_notify_error:
        raise DualDeployError(result.error, key="slack", exit_status=EXIT_GAP)
    return 0

"""The part of GitHub's issue search syntax the suite uses: qualifiers plus quoted or bare text.

Supported: `repo:o/r`, `is:issue|pr|open|closed`, `type:issue|pr`, `state:open|closed`,
`label:x` (all must match, `label:"a b"` for spaces), `author:login`, `in:title|body|comments`.
Text matches case-insensitively as a substring, like GitHub's match on whole words does for the
markers and titles tests search for. Other qualifiers are ignored rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fakegithub.state import Issue, Repo, Store

_TOKEN = re.compile(r'-?[\w.-]+:"[^"]*"|-?[\w.-]+:\S+|"[^"]*"|\S+')


@dataclass
class IssueQuery:
    repos: list[str] = field(default_factory=list)
    kind: str | None = None  # "issue" or "pr"
    state: str | None = None
    labels: list[str] = field(default_factory=list)
    author: str | None = None
    fields: set[str] = field(default_factory=set)  # where text must appear; empty: title and body
    terms: list[str] = field(default_factory=list)


def parse(query: str) -> IssueQuery:
    parsed = IssueQuery()
    for token in _TOKEN.findall(query):
        key, colon, value = token.partition(":")
        value = value.strip('"')
        if not colon or token.startswith('"'):
            parsed.terms.append(token.strip('"').lower())
        elif key == "repo":
            parsed.repos.append(value.lower())
        elif key in ("is", "type") and value in ("issue", "pr", "pull-request"):
            parsed.kind = "issue" if value == "issue" else "pr"
        elif key in ("is", "state") and value in ("open", "closed"):
            parsed.state = value
        elif key == "label":
            parsed.labels.append(value.lower())
        elif key == "author":
            parsed.author = value.lower()
        elif key == "in":
            parsed.fields.update(value.split(","))
    return parsed


def search(store: Store, query: IssueQuery) -> list[tuple[Repo, Issue]]:
    """Matching issues across repositories, newest first (GitHub's order for an equal score)."""
    found = [
        (repo, issue)
        for key, repo in store.repos.items()
        if not query.repos or key in query.repos
        for issue in repo.issues.values()
        if matches(store, repo, issue, query)
    ]
    return sorted(found, key=lambda pair: (pair[1].created_at, pair[1].id), reverse=True)


def matches(store: Store, repo: Repo, issue: Issue, query: IssueQuery) -> bool:
    if query.kind == "issue" and issue.pull or query.kind == "pr" and not issue.pull:
        return False
    if query.state and issue.state != query.state:
        return False
    if query.author and issue.user.lower() != query.author:
        return False
    if not {name.lower() for name in issue.labels}.issuperset(query.labels):
        return False
    text = searchable_text(store, repo, issue, query.fields or {"title", "body"})
    return all(term in text for term in query.terms)


def searchable_text(store: Store, repo: Repo, issue: Issue, fields: set[str]) -> str:
    parts = []
    if "title" in fields:
        parts.append(issue.title)
    if "body" in fields:
        parts.append(issue.body or "")
    if "comments" in fields:
        parts.extend(comment.body for comment in store.comments_on(repo, issue.number))
    return "\n".join(parts).lower()

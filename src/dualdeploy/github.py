"""The one way the suite reaches GitHub: PyGithub, with bounded retries, a time budget, a request
count, and failures turned into one line that says what was tried and which permission is missing."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from github import Auth, Github, GithubException, GithubRetry
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester
from urllib3.exceptions import MaxRetryError

from dualdeploy.errors import DualDeployError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_BUDGET_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 15


class GitHubError(DualDeployError):
    """A GitHub call failed; `status` is the HTTP status (0 when no response came)."""

    status: int = 0


class PermissionMissing(GitHubError):
    """The token may not do this (a fork's read-only token, or a missing `permissions:` entry)."""


@dataclass
class RequestCounter:
    """HTTP requests sent by this process, retries included (providers read from several threads)."""

    count: int = 0
    by_kind: Counter = field(default_factory=Counter)  # "rest" and "graphql", for the benchmarks
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str = "rest") -> None:
        with self._lock:
            self.count += 1
            self.by_kind[kind] += 1


REQUESTS = RequestCounter()


def request_kind(url: str | None) -> str:
    return "graphql" if urlsplit(url or "").path.endswith("/graphql") else "rest"


def _count(response, *args, **kwargs):  # requests' response hook signature
    REQUESTS.add(request_kind(getattr(response, "url", None)))
    return response


class _CountingHTTPConnection(HTTPRequestsConnectionClass):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.session.hooks["response"].append(_count)


class _CountingHTTPSConnection(HTTPSRequestsConnectionClass):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.session.hooks["response"].append(_count)


class _BudgetRetry(GithubRetry):
    """GitHub's retry rules (5xx, secondary rate limits, Retry-After), stopped by a deadline.

    urllib3 counts attempts; a deadline on top keeps a run from sleeping through a long outage.
    """

    deadline: float = float("inf")

    def new(self, **kwargs):
        retry = super().new(**kwargs)
        retry.deadline = self.deadline
        return retry

    def increment(self, *args, **kwargs):
        if time.monotonic() > self.deadline:
            raise MaxRetryError(kwargs.get("_pool"), kwargs.get("url") or "", "time budget exhausted")
        retry = super().increment(*args, **kwargs)
        # A retry follows, so this attempt's answer never reaches the response hook: count it here.
        REQUESTS.add(request_kind(kwargs.get("url")))
        return retry


def make_retry(budget_seconds: float, *, total: int = 5) -> _BudgetRetry:
    retry = _BudgetRetry(
        total=total,
        connect=3,
        read=2,
        backoff_factor=0.5,
        backoff_max=10,
        status_forcelist=[*range(500, 600), 429],
        secondary_rate_wait=min(60.0, budget_seconds / 2),
        max_rate_limit_wait=budget_seconds,
        raise_on_status=False,
    )
    retry.deadline = time.monotonic() + budget_seconds
    return retry


def api_url() -> str:
    return (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def budget_from_env() -> float:
    """The run's total time budget for GitHub calls: DD_GITHUB_BUDGET_SECONDS, else 120 s."""
    value = os.environ.get("DD_GITHUB_BUDGET_SECONDS", "").strip()
    try:
        return float(value) if value else DEFAULT_BUDGET_SECONDS
    except ValueError:
        raise DualDeployError(f"must be a number of seconds, not {value!r}", key="DD_GITHUB_BUDGET_SECONDS") from None


def connect(token: str, *, base_url: str | None = None, budget_seconds: float | None = None) -> Github:
    """A PyGithub client for github.com or a GitHub Enterprise Server (GITHUB_API_URL)."""
    budget_seconds = budget_from_env() if budget_seconds is None else budget_seconds
    if not token:
        raise DualDeployError(
            "no GitHub token: pass `github-token` (default: the job's GITHUB_TOKEN) or set GITHUB_TOKEN",
            key="github-token",
        )
    Requester.injectConnectionClasses(_CountingHTTPConnection, _CountingHTTPSConnection)
    # PyGithub logs every retried 403 at INFO on stderr; the suite reports failures itself, in one line.
    logging.getLogger("github").setLevel(logging.WARNING)
    retry = make_retry(budget_seconds)
    client = Github(
        auth=Auth.Token(token),
        base_url=base_url or api_url(),
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry=retry,
        per_page=100,
        lazy=True,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    _DEADLINES[id(client.requester)] = retry.deadline
    return client


@contextlib.contextmanager
def call(what: str, *, permission: str) -> Iterator[None]:
    """Run GitHub calls; a failure becomes one line: what, HTTP status, GitHub's message, the permission."""
    try:
        yield
    except GithubException as error:
        raise _as_error(what, permission, error.status, _message(error)) from None
    except (MaxRetryError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise _as_error(what, permission, 0, f"no answer from GitHub ({reason})") from None


def _message(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    message = str(data.get("message") or error.message or "no message")
    details = [
        str(item.get("code") or item.get("message")) for item in data.get("errors") or [] if isinstance(item, dict)
    ]
    return f"{message} ({', '.join(details)})" if details else message


def _as_error(what: str, permission: str, status: int, message: str) -> GitHubError:
    denied = status == 403 and "rate limit" not in message.lower()
    if status == 401:
        hint = "the token is invalid or expired"
    elif denied:
        hint = (
            f"the token likely lacks `{permission}` (add it under `permissions:`; "
            "a fork's pull request gets a read-only token)"
        )
    elif status == 404:
        hint = f"not found, or the token cannot see it (needs `{permission}`)"
    else:
        hint = f"needs `{permission}`"
    status_text = f"HTTP {status}" if status else "no response"
    error_type = PermissionMissing if denied else GitHubError
    error = error_type(f"GitHub: could not {what}: {status_text}: {message}; {hint}", key="github")
    error.status = status
    return error


# GraphQL's own rate limit answers 200 with RATE_LIMITED, which urllib3 cannot see: graphql() waits
# for the reset itself when it falls inside the run's budget (the deadline of the client's retry).
_DEADLINES: dict[int, float] = {}
GRAPHQL_RATE_LIMITED = "RATE_LIMITED"
GRAPHQL_ERROR_STATUS = {"NOT_FOUND": 404, "FORBIDDEN": 403, "RATE_LIMITED": 403, "UNAUTHENTICATED": 401}


def graphql(
    client_or_repo: Any,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    what: str,
    permission: str,
) -> dict[str, Any]:
    """Run one GraphQL document through PyGithub's requester (same token, retries, budget and request
    count as REST) and return its `data`. GraphQL's errors, which come in a 200 answer, become the
    same one-line GitHubError as a failed REST call: what was tried, GitHub's type and message, the fix.
    """
    requester = client_or_repo.requester
    payload = {"query": query, "variables": dict(variables or {})}
    while True:
        with call(what, permission=permission):
            headers, answer = requester.requestJsonAndCheck("POST", requester.graphql_url, input=payload)
        answer = answer if isinstance(answer, dict) else {}
        errors = [error for error in answer.get("errors") or [] if isinstance(error, dict)]
        if not errors:
            return answer.get("data") or {}
        limited = any(error.get("type") == GRAPHQL_RATE_LIMITED for error in errors)
        wait = _seconds_to_reset(headers)
        if limited and wait is not None and time.monotonic() + wait < _DEADLINES.get(id(requester), 0.0):
            time.sleep(wait)
            continue
        raise _graphql_error(what, permission, errors, headers)


def _seconds_to_reset(headers: Mapping[str, Any]) -> float | None:
    try:
        return max(0.0, float(headers.get("x-ratelimit-reset")) - time.time()) + 1.0
    except (TypeError, ValueError):
        return None


def _graphql_error(what: str, permission: str, errors: list[dict[str, Any]], headers: Mapping[str, Any]) -> GitHubError:
    first = errors[0]
    kind = str(first.get("type") or "")
    where = ".".join(str(part) for part in first.get("path") or [])
    message = str(first.get("message") or "no message")
    cause = f"GraphQL {kind or 'error'}{f' at {where}' if where else ''}: {message}"
    if len(errors) > 1:
        cause += f" (and {len(errors) - 1} more)"
    if kind == GRAPHQL_RATE_LIMITED:
        reset = headers.get("x-ratelimit-reset")
        when = (
            datetime.fromtimestamp(int(reset), tz=timezone.utc).strftime("%H:%M UTC")
            if str(reset or "").isdigit()
            else "within the hour"
        )
        error = GitHubError(
            f"GitHub: could not {what}: {cause}; GraphQL points exhausted for this token, they reset at {when} "
            "(a repository's GITHUB_TOKEN has 1,000 points an hour)",
            key="github",
        )
        error.status = 403
        return error
    if kind == "FORBIDDEN":
        error = PermissionMissing(
            f"GitHub: could not {what}: {cause}; the token likely lacks `{permission}` (add it under "
            "`permissions:`; a fork's pull request gets a read-only token)",
            key="github",
        )
    elif kind == "NOT_FOUND":
        error = GitHubError(
            f"GitHub: could not {what}: {cause}; not found, or the token cannot see it (needs `{permission}`)",
            key="github",
        )
    else:
        error = GitHubError(f"GitHub: could not {what}: {cause}; GitHub refused the query", key="github")
    error.status = GRAPHQL_ERROR_STATUS.get(kind, 200)
    return error


@dataclass(frozen=True)
class SuiteLabel:
    name: str
    color: str
    description: str


SUITE_LABELS = {
    label.name: label
    for label in (
        SuiteLabel("agent-changes", "8250df", "Changes code of a manually deployed component (Dual Deploy Guard)"),
        SuiteLabel("requires-manual-deploy", "f0883e", "Needs a manual deploy after merge (Dual Deploy Guard)"),
        SuiteLabel("deployment", "0e8a16", "About deployments (Dual Deploy Guard)"),
        SuiteLabel("alert", "d73a4a", "Needs attention: a deployment gap (Dual Deploy Guard)"),
    )
}


def owns(body: str | None, marker: str) -> bool:
    """A comment or issue is the suite's when its body starts with the hidden marker.

    Not "contains": a person quoting the marker (in a code block, say) does not hand the comment over.
    """
    return (body or "").lstrip("\ufeff").startswith(marker)


def sticky_comments(issue, marker: str) -> list:
    """The comments of an issue or pull request that start with `marker`, oldest first."""
    with call(f"list the comments of #{issue.number}", permission="pull-requests: read"):
        return [comment for comment in issue.get_comments() if owns(comment.body, marker)]


def upsert_sticky_comment(issue, marker: str, body: str, *, found: list | None = None) -> tuple[str, str]:
    """Create the one comment that starts with `marker`, or edit it in place; returns (action, url).

    Only comments that start with the marker are edited; later duplicates of ours (a past race)
    are deleted so the pull request keeps exactly one. `found`: the result of `sticky_comments`
    when the caller already read it (to read the comment's hidden state first).
    """
    ours = sticky_comments(issue, marker) if found is None else found
    if not ours:
        with call(f"comment on #{issue.number}", permission="pull-requests: write"):
            created = issue.create_comment(body)
        return "created", created.html_url
    sticky, duplicates = ours[0], ours[1:]
    action = "unchanged"
    if sticky.body != body:
        with call(f"edit comment {sticky.id} on #{issue.number}", permission="pull-requests: write"):
            sticky.edit(body)
        action = "updated"
    for duplicate in duplicates:
        with call(f"delete duplicate comment {duplicate.id} on #{issue.number}", permission="pull-requests: write"):
            duplicate.delete()
    return action, sticky.html_url


def ensure_label(repo, label: SuiteLabel) -> None:
    """Create a suite label with its colour when the repository lacks it; an existing one is left as is."""
    with call(f"create the label {label.name!r}", permission="issues: write"):
        try:
            repo.create_label(label.name, label.color, label.description)
        except GithubException as error:
            if error.status != 422:  # 422 already_exists: a person may have chosen another colour
                raise


def label_names(issue) -> set[str]:
    """The labels on an issue or pull request, lower case."""
    with call(f"read the labels of #{issue.number}", permission="issues: read"):
        return {label.name.lower() for label in issue.get_labels()}


def apply_labels(repo, issue, to_add, to_remove) -> None:
    """Add suite labels (created in the repository when missing) and remove others, by name."""
    to_add, to_remove = sorted(to_add), sorted(to_remove)
    for name in to_add:
        ensure_label(repo, SUITE_LABELS[name])
    if to_add:
        with call(f"add labels {', '.join(to_add)} to #{issue.number}", permission="issues: write"):
            issue.add_to_labels(*to_add)
    for name in to_remove:
        with call(f"remove label {name!r} from #{issue.number}", permission="issues: write"):
            try:
                issue.remove_from_labels(name)
            except GithubException as error:
                if error.status != 404:  # removed meanwhile: the outcome we wanted
                    raise


__all__ = [
    "GitHubError",
    "PermissionMissing",
    "REQUESTS",
    "SUITE_LABELS",
    "apply_labels",
    "call",
    "connect",
    "graphql",
    "label_names",
    "owns",
    "sticky_comments",
    "upsert_sticky_comment",
]

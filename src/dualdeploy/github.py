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


class CannotConnect(GitHubError):
    """No answer from GitHub at all: DNS, a refused connection, a timeout (never a permission)."""


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
    """Run GitHub calls (REST, or GraphQL's transport); after the bounded retries a failure becomes one
    line that says what was tried and what actually went wrong: no connection, 401, 403 (the
    permission), 404, rate limit, GitHub failing."""
    try:
        yield
    except GitHubError:
        raise
    except Exception as error:  # noqa: BLE001 (classified below; anything else is re-raised as it is)
        classified = classify(what, permission, error)
        if classified is None:
            raise
        raise classified from None


def classify(what: str, permission: str, error: BaseException) -> GitHubError | None:
    """The GitHubError for a failed GitHub call, or None when the error is not a GitHub failure."""
    if isinstance(error, GithubException):
        return _as_error(what, permission, error.status, _message(error))
    if isinstance(error, (MaxRetryError, OSError)):  # requests' ConnectionError and Timeout are OSErrors
        cause = connection_failure(error)
        failure = CannotConnect(
            f"GitHub: could not {what}: cannot connect to {api_url()} ({cause}); check GITHUB_API_URL and the network",
            key="github",
        )
        failure.status = 0
        return failure
    return None


def connection_failure(error: BaseException) -> str:
    """What went wrong on the way to GitHub, in a few words: DNS, refused, timed out, TLS, the budget."""
    seen: list[BaseException] = []
    pending: list[object] = [error]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or item in seen:
            continue
        seen.append(item)
        pending += [getattr(item, "reason", None), item.__cause__, item.__context__, *item.args]
    text = " ".join(f"{type(item).__name__}: {item}" for item in seen).lower()
    if "time budget exhausted" in text:
        return "no answer within the run's time budget for GitHub, DD_GITHUB_BUDGET_SECONDS"
    if any(word in text for word in ("nameresolution", "gaierror", "name or service not known", "name resolution")):
        return "DNS lookup failed"
    if "refused" in text:
        return "connection refused"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    if "ssl" in text or "certificate" in text:
        return "TLS handshake failed"
    return str(getattr(error, "reason", None) or error)[:200]


def _message(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    message = str(data.get("message") or error.message or "no message")
    details = [
        str(item.get("code") or item.get("message")) for item in data.get("errors") or [] if isinstance(item, dict)
    ]
    return f"{message} ({', '.join(details)})" if details else message


def is_rate_limit(status: int, message: str) -> bool:
    return status == 429 or (status == 403 and "rate limit" in message.lower())


def hint(status: int, permission: str, message: str = "") -> str:
    """The fix for a GitHub answer that is not a success, by what the status means (REST and GraphQL)."""
    if status == 401:
        return "the token is invalid or expired: pass a valid `github-token`"
    if is_rate_limit(status, message):
        return "rate limited: wait for the limit to reset, or use a token with a higher limit"
    if status == 403:
        return (
            f"the token likely lacks `{permission}` (add it under `permissions:`; "
            "a fork's pull request gets a read-only token)"
        )
    if status == 404:
        return (
            f"not found: wrong repository ({os.environ.get('GITHUB_REPOSITORY') or 'GITHUB_REPOSITORY'}) or name, "
            f"or the token cannot see it (it needs `{permission}`)"
        )
    if status >= 500:
        return "GitHub kept failing through the retries: try again later"
    return "GitHub refused the request"


def _as_error(what: str, permission: str, status: int, message: str) -> GitHubError:
    denied = status == 403 and not is_rate_limit(status, message)
    error_type = PermissionMissing if denied else GitHubError
    error = error_type(
        f"GitHub: could not {what}: HTTP {status}: {message}; {hint(status, permission, message)}", key="github"
    )
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
    if kind in ("FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"):
        error_type = PermissionMissing if kind == "FORBIDDEN" else GitHubError
        error = error_type(
            f"GitHub: could not {what}: {cause}; {hint(GRAPHQL_ERROR_STATUS[kind], permission)}", key="github"
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
    """The suite's comments on an issue or pull request: they start with `marker`, oldest first, and
    are all by the suite's author (see `suite_authored`)."""
    with call(f"list the comments of #{issue.number}", permission="pull-requests: read"):
        return suite_authored([comment for comment in issue.get_comments() if owns(comment.body, marker)])


def author_of(comment) -> tuple[str, str]:
    """(login, type) of a comment's author; ("", "") when GitHub gives none (a deleted account)."""
    user = getattr(comment, "user", None)
    return (getattr(user, "login", "") or "", getattr(user, "type", "") or "") if user is not None else ("", "")


def suite_authored(comments: list) -> list:
    """Of the comments (or issues) that start with the marker (oldest first), those the suite wrote.

    The workflow's token is an app's, so the suite's comments are a bot's: when a bot wrote one,
    that bot is the suite. Without a bot's (a personal token, or a comment of an older version),
    the oldest one's author is. A comment by anyone else that starts with the marker (a person who
    pasted the comment's source to discuss it) is theirs: never edited, never deleted as a duplicate.
    """
    if not comments:
        return []
    bots = [comment for comment in comments if author_of(comment)[1] == "Bot"]
    suite = author_of(bots[0] if bots else comments[0])[0]
    return [comment for comment in comments if author_of(comment)[0] == suite]


def upsert_sticky_comment(issue, marker: str, body: str, *, found: list | None = None) -> tuple[str, str]:
    """Create the one comment that starts with `marker`, or edit it in place; returns (action, url).

    Only the suite's comments that start with the marker are edited; later duplicates of ours (a
    past race, so by the same author) are deleted so the pull request keeps exactly one. `found`:
    the result of `sticky_comments` when the caller already read it (to read its hidden state first).
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

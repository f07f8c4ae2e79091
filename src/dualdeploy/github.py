"""The one way the suite reaches GitHub: PyGithub, with bounded retries, a time budget, a request
count, and failures turned into one line that says what was tried and which permission is missing."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self) -> None:
        with self._lock:
            self.count += 1


REQUESTS = RequestCounter()


def _count(response, *args, **kwargs):  # requests' response hook signature
    REQUESTS.add()
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
        REQUESTS.add()
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
    return Github(
        auth=Auth.Token(token),
        base_url=base_url or api_url(),
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry=make_retry(budget_seconds),
        per_page=100,
        lazy=True,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


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


def upsert_sticky_comment(issue, marker: str, body: str) -> tuple[str, str]:
    """Create the one comment that starts with `marker`, or edit it in place; returns (action, url).

    Only comments that start with the marker are edited; later duplicates of ours (a past race)
    are deleted so the pull request keeps exactly one.
    """
    with call(f"list the comments of #{issue.number}", permission="pull-requests: read"):
        ours = [comment for comment in issue.get_comments() if owns(comment.body, marker)]
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


def sync_labels(repo, issue, wanted: set[str], managed: set[str]) -> tuple[list[str], list[str]]:
    """Make the suite's `managed` labels on an issue equal `wanted`; other labels are never touched."""
    with call(f"read the labels of #{issue.number}", permission="issues: read"):
        present = {label.name.lower() for label in issue.get_labels()}
    to_add = sorted(name for name in wanted if name.lower() not in present)
    to_remove = sorted(name for name in managed - wanted if name.lower() in present)
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
    return to_add, to_remove


__all__ = [
    "GitHubError",
    "PermissionMissing",
    "REQUESTS",
    "SUITE_LABELS",
    "call",
    "connect",
    "owns",
    "sync_labels",
    "upsert_sticky_comment",
]

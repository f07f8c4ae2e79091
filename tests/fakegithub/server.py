"""A stateful fake of api.github.com on loopback, for tests that talk HTTP like the real thing.

`FakeGitHub` runs a `ThreadingHTTPServer` on 127.0.0.1 (any free port) in a daemon thread. Tests
seed repositories, pull requests, comments, deployments and workflow runs, point PyGithub (or any
HTTP client) at `fake.url`, and then read back what the code under test changed. Answers follow
GitHub: paths, JSON shapes, status codes and error bodies, Link pagination, rate-limit headers,
token permissions; faults (5xx, rate limits, slow answers) can be injected per request.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
import socket
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from fakegithub import graphql_api
from fakegithub.auth import DEFAULT_LIMITS, Token, anonymous, bad_credentials, permissions_for
from fakegithub.payloads import Payloads
from fakegithub.routes import Call, Listing, Reply, Route, effective_scopes, find_route
from fakegithub.state import (
    DOCS_URL,
    ApiError,
    ChangedFile,
    Comment,
    Commit,
    Deployment,
    DeploymentStatus,
    Discussion,
    DiscussionCategory,
    Issue,
    Job,
    Label,
    Pull,
    Repo,
    Store,
    User,
    Workflow,
    WorkflowRun,
    not_found,
)

if TYPE_CHECKING:
    import github
    from typing_extensions import Self

DEFAULT_TOKEN = "test-token"
DEFAULT_ACTOR = "github-actions[bot]"  # whom the workflow's GITHUB_TOKEN acts as
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
SECONDARY_RATE_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
FAULT_MESSAGES = {
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request "
    "and contact us if the problem persists.",
}

Record = TypeVar("Record")
Moment = datetime | str | None


class RecordedRequest(NamedTuple):
    """A request as the fake received it; `body` is the parsed JSON (raw text if it was not JSON)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any

    @property
    def reads_only(self) -> bool:
        """A GET, or a GraphQL query (GitHub takes those as POST): nothing on GitHub changes."""
        if self.method in ("GET", "HEAD"):
            return True
        if self.method != "POST" or self.path not in graphql_api.PATHS or not isinstance(self.body, dict):
            return False
        return not str(self.body.get("query") or "").lstrip().startswith("mutation")


@dataclass
class Fault:
    """An answer forced onto the next `times` requests that match `method` and `path`."""

    method: str
    path: re.Pattern[str]
    status: int | None  # None: answer normally, only `delay` seconds late
    times: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self.path.search(path) is not None


@dataclass
class Response:
    status: int
    body: Any  # JSON-able, str/bytes sent as is, None for no body
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


class FakeGitHub:
    """GitHub's REST API for tests; use as a context manager (or `start()`/`stop()`)."""

    def __init__(self) -> None:
        self._store = Store()
        self._lock = threading.RLock()
        self._tokens: dict[str, Token] = {}
        self._anonymous = anonymous()
        self._faults: list[Fault] = []
        self._requests: list[RecordedRequest] = []
        self._request_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._payloads: Payloads | None = None
        self.add_token(DEFAULT_TOKEN)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._payloads = Payloads(self._store, self.url)
        # A short poll keeps stop() quick: shutdown() waits for the loop to look at its flag.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-github", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes requests sleeping in a `delay` fault
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The API root, e.g. http://127.0.0.1:54321 (what `base_url` and GITHUB_API_URL take)."""
        if self._server is None:
            raise RuntimeError("the fake GitHub is not running: use `with FakeGitHub() as fake:` or start()")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client(self, token: str = DEFAULT_TOKEN, **options: Any) -> github.Github:
        """A PyGithub client for this server; `options` go to `github.Github` (e.g. `retry=None`)."""
        import github

        # PyGithub spaces requests 0.25 s apart (writes 1 s) to spare github.com; a fake needs no sparing.
        options.setdefault("seconds_between_requests", None)
        options.setdefault("seconds_between_writes", None)
        return github.Github(auth=github.Auth.Token(token), base_url=self.url, **options)

    def env(self, token: str = DEFAULT_TOKEN) -> dict[str, str]:
        """Environment variables that point a `dualdeploy` process at this server."""
        return {"GITHUB_API_URL": self.url, "GITHUB_TOKEN": token}

    # --- clock --------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The time stamped on everything created; fixed until a test sets or advances it."""
        return self._store.now

    @now.setter
    def now(self, moment: datetime | str) -> None:
        with self._lock:
            self._store.now = _moment(moment) or self._store.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock on, e.g. `fake.advance(hours=2)`; returns the new time."""
        with self._lock:
            self._store.now += timedelta(**delta)
            return self._store.now

    # --- tokens -------------------------------------------------------------------------------

    def add_token(
        self,
        token: str,
        *,
        write: bool = True,
        permissions: Mapping[str, str] | None = None,
        login: str = DEFAULT_ACTOR,
        rate_limit: int = DEFAULT_LIMITS["core"],
        search_rate_limit: int = DEFAULT_LIMITS["search"],
        graphql_rate_limit: int = DEFAULT_LIMITS["graphql"],
    ) -> None:
        """Accept `token`: every permission at write (or read, `write=False`), or exactly
        `permissions` such as {"issues": "read", "pull_requests": "write"}; metadata is always readable."""
        with self._lock:
            self._store.user(login)
            granted = permissions_for(write, dict(permissions) if permissions is not None else None)
            limits = {"core": rate_limit, "search": search_rate_limit, "graphql": graphql_rate_limit}
            self._tokens[token] = Token.make(token, login, granted, limits)

    # --- seeding ------------------------------------------------------------------------------

    def add_user(self, login: str, *, name: str | None = None) -> User:
        with self._lock:
            user = self._store.user(login)
            user.name = name if name is not None else user.name
            return copy.deepcopy(user)

    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = False,
        description: str | None = None,
        head_sha: str | None = None,
    ) -> Repo:
        """A repository whose default branch points at `head_sha` (an invented sha if not given)."""
        with self._lock:
            return self._copy(
                self._store.add_repo(
                    full_name,
                    default_branch=default_branch,
                    private=private,
                    description=description,
                    head_sha=head_sha,
                )
            )

    def set_branch(self, repo: str, branch: str, sha: str) -> None:
        with self._lock:
            self._repo(repo).branches[branch] = sha

    def add_commit(
        self,
        repo: str,
        sha: str,
        *,
        message: str = "",
        author: str = "Ada Tester <ada@example.com>",
        author_login: str | None = None,
        date: Moment = None,
        parents: Iterable[str] = (),
        files: Iterable[str | ChangedFile | Mapping[str, Any]] = (),
    ) -> Commit:
        name, _, email = author.partition(" <")
        with self._lock:
            commit = Commit(
                sha=sha,
                message=message,
                author_name=name,
                author_email=email.rstrip(">"),
                date=_moment(date) or self._store.now,
                author_login=author_login,
                parents=list(parents),
                files=_changed_files(files),
            )
            return self._copy(self._store.add_commit(self._repo(repo), commit))

    def add_issue(
        self,
        repo: str,
        number: int | None = None,
        *,
        title: str = "An issue",
        body: str | None = None,
        user: str = "octocat",
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        state: str = "open",
        state_reason: str | None = None,
        created_at: Moment = None,
    ) -> Issue:
        with self._lock:
            return self._copy(
                self._seed_issue(
                    repo,
                    number,
                    None,
                    title=title,
                    body=body,
                    user=user,
                    labels=labels,
                    assignees=assignees,
                    state=state,
                    state_reason=state_reason,
                    created_at=created_at,
                )
            )

    def add_pull(
        self,
        repo: str,
        number: int | None = None,
        *,
        head_sha: str,
        head_ref: str = "feature",
        base_ref: str | None = None,
        base_sha: str | None = None,
        title: str = "A pull request",
        body: str | None = None,
        user: str = "octocat",
        labels: Iterable[str] = (),
        files: Iterable[str | ChangedFile | Mapping[str, Any]] = (),
        state: str = "open",
        draft: bool = False,
        merged_at: Moment = None,
        merge_commit_sha: str | None = None,
        created_at: Moment = None,
    ) -> Issue:
        """A pull request (also an issue: the issue endpoints answer for its number too)."""
        with self._lock:
            target = self._repo(repo)
            base_ref = base_ref or target.default_branch
            pull = Pull(
                head_sha=head_sha,
                head_ref=head_ref,
                base_ref=base_ref,
                base_sha=base_sha or target.branches.get(base_ref, head_sha),
                draft=draft,
                merged_at=_moment(merged_at),
                merge_commit_sha=merge_commit_sha,
                files=_changed_files(files),
            )
            target.branches.setdefault(head_ref, head_sha)
            return self._copy(
                self._seed_issue(
                    repo,
                    number,
                    pull,
                    title=title,
                    body=body,
                    user=user,
                    labels=labels,
                    assignees=(),
                    state=state,
                    state_reason=None,
                    created_at=created_at,
                )
            )

    def merge_pull(self, repo: str, number: int, merge_commit_sha: str, *, merged_at: Moment = None) -> Issue:
        """Merge an open pull request as GitHub does: merged at now (or `merged_at`), then closed."""
        with self._lock:
            target = self._repo(repo)
            issue = self._lookup(lambda: self._store.pull(target, number), f"no pull request #{number} in {repo}")
            assert issue.pull is not None
            issue.pull.merged_at = _moment(merged_at) or self._store.now
            issue.pull.merge_commit_sha = merge_commit_sha
            self._store.edit_issue(target, issue, {"state": "closed"}, actor="octocat")
            return self._copy(issue)

    def _seed_issue(
        self,
        repo: str,
        number: int | None,
        pull: Pull | None,
        *,
        title: str,
        body: str | None,
        user: str,
        labels: Iterable[str],
        assignees: Iterable[str],
        state: str,
        state_reason: str | None,
        created_at: Moment,
    ) -> Issue:
        target = self._repo(repo)
        issue = self._store.create_issue(
            target,
            title=title,
            user=user,
            body=body,
            labels=list(labels),
            assignees=list(assignees),
            number=number,
            pull=pull,
            created_at=_moment(created_at),
        )
        if state != "open" or state_reason:
            self._store.edit_issue(target, issue, {"state": state, "state_reason": state_reason}, actor=user)
        return issue

    def add_issue_comment(
        self, repo: str, number: int, body: str, *, user: str = "octocat", created_at: Moment = None
    ) -> Comment:
        with self._lock:
            target = self._repo(repo)
            issue = self._lookup(lambda: self._store.issue(target, number), f"no issue #{number} in {repo}")
            return self._copy(self._store.add_comment(target, issue, body, user=user, created_at=_moment(created_at)))

    def add_label(self, repo: str, name: str, color: str = "ededed", description: str | None = None) -> Label:
        with self._lock:
            return self._copy(self._store.create_label(self._repo(repo), name, color, description))

    def add_deployment(
        self,
        repo: str,
        *,
        sha: str,
        ref: str | None = None,
        environment: str = "production",
        task: str = "deploy",
        payload: dict[str, Any] | str | None = None,
        description: str | None = None,
        creator: str = "octocat",
        created_at: Moment = None,
        transient_environment: bool = False,
        production_environment: bool | None = None,
    ) -> Deployment:
        with self._lock:
            return self._copy(
                self._store.create_deployment(
                    self._repo(repo),
                    ref=ref or sha,
                    sha=sha,
                    creator=creator,
                    environment=environment,
                    task=task,
                    payload=payload,
                    description=description,
                    transient_environment=transient_environment,
                    production_environment=production_environment,
                    created_at=_moment(created_at),
                )
            )

    def add_deployment_status(
        self,
        repo: str,
        deployment_id: int,
        state: str,
        *,
        environment_url: str = "",
        log_url: str = "",
        description: str = "",
        environment: str | None = None,
        creator: str = "octocat",
        created_at: Moment = None,
        auto_inactive: bool = True,
    ) -> DeploymentStatus:
        with self._lock:
            target = self._repo(repo)
            deployment = self._lookup(
                lambda: self._store.deployment(target, deployment_id), f"no deployment {deployment_id} in {repo}"
            )
            return self._copy(
                self._store.add_deployment_status(
                    target,
                    deployment,
                    state,
                    creator=creator,
                    description=description,
                    environment=environment,
                    environment_url=environment_url,
                    log_url=log_url,
                    auto_inactive=auto_inactive,
                    created_at=_moment(created_at),
                )
            )

    def add_discussion_category(
        self,
        repo: str,
        name: str,
        *,
        slug: str | None = None,
        emoji: str = ":speech_balloon:",
        description: str = "",
        answerable: bool = False,
    ) -> DiscussionCategory:
        """A discussion category (GitHub has no API to make one: a person sets them up in the settings).
        Its GraphQL id is `payloads.node_id("DiscussionCategory", category.id)`."""
        with self._lock:
            return self._copy(
                self._store.add_discussion_category(
                    self._repo(repo), name, slug=slug, emoji=emoji, description=description, is_answerable=answerable
                )
            )

    def add_discussion(self, repo: str, category: str, *, title: str, body: str, user: str = "octocat") -> Discussion:
        """A discussion in the category named `category`, numbered in the issues' sequence."""
        with self._lock:
            target = self._repo(repo)
            found = next((c for c in target.discussion_categories.values() if c.name.lower() == category.lower()), None)
            if found is None:
                raise KeyError(f"no discussion category {category!r} in {repo}; add_discussion_category() it first")
            return self._copy(self._store.create_discussion(target, found, title=title, body=body, user=user))

    def add_workflow(self, repo: str, path: str, *, name: str | None = None) -> Workflow:
        """A workflow file; `path` may be the file name alone ("deploy.yml")."""
        with self._lock:
            return self._copy(self._store.add_workflow(self._repo(repo), path, name=name))

    def add_workflow_run(
        self,
        repo: str,
        workflow: int | str,
        *,
        head_sha: str,
        head_branch: str | None = None,
        event: str = "push",
        status: str = "completed",
        conclusion: str | None = "success",
        created_at: Moment = None,
        updated_at: Moment = None,
        run_started_at: Moment = None,
        name: str | None = None,
        actor: str = "octocat",
        run_number: int | None = None,
        display_title: str = "",
        jobs: Iterable[str | Mapping[str, Any]] = (),
    ) -> WorkflowRun:
        """A run of `workflow` (id, path or file name; a new path makes the workflow). `jobs` are
        names or mappings with name/status/conclusion/started_at/completed_at."""
        with self._lock:
            target = self._repo(repo)
            found = self._find_workflow(target, workflow)
            created = _moment(created_at) or self._store.now
            run = WorkflowRun(
                id=self._store.next_id(),
                workflow_id=found.id,
                name=name or found.name,
                head_sha=head_sha,
                head_branch=head_branch or target.default_branch,
                event=event,
                status=status,
                conclusion=conclusion if status == "completed" else None,
                created_at=created,
                updated_at=_moment(updated_at) or created,
                run_started_at=_moment(run_started_at) or created,
                run_number=run_number or 1 + sum(run.workflow_id == found.id for run in target.runs.values()),
                actor=self._store.user(actor).login,
                display_title=display_title,
            )
            run.jobs = [self._job(run, spec) for spec in jobs]
            target.runs[run.id] = run
            return self._copy(run)

    def _find_workflow(self, repo: Repo, workflow: int | str) -> Workflow:
        try:
            return self._store.workflow(repo, str(workflow).rsplit("/", 1)[-1])
        except ApiError:
            if isinstance(workflow, int):
                raise KeyError(f"no workflow {workflow} in {repo.full_name}") from None
            return self._store.add_workflow(repo, workflow)

    def _job(self, run: WorkflowRun, spec: str | Mapping[str, Any]) -> Job:
        fields = {"name": spec} if isinstance(spec, str) else dict(spec)
        status = fields.get("status", run.status)
        completed = _moment(fields.get("completed_at")) or (run.updated_at if status == "completed" else None)
        return Job(
            id=self._store.next_id(),
            run_id=run.id,
            name=fields["name"],
            status=status,
            conclusion=fields.get("conclusion", run.conclusion if status == "completed" else None),
            started_at=_moment(fields.get("started_at")) or run.run_started_at,
            completed_at=completed,
        )

    # --- inspection ---------------------------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        with self._lock:
            return self._copy(self._repo(full_name))

    def issue(self, repo: str, number: int) -> Issue:
        """The issue or pull request `number` as it is now (labels, state, body, ...)."""
        with self._lock:
            target = self._repo(repo)
            return self._copy(self._lookup(lambda: self._store.issue(target, number), f"no #{number} in {repo}"))

    def comments(self, repo: str, number: int) -> list[Comment]:
        """The comments on issue or pull request `number`, oldest first."""
        with self._lock:
            return self._copy(self._store.comments_on(self._repo(repo), number))

    def labels(self, repo: str) -> list[Label]:
        """The repository's labels, by name."""
        with self._lock:
            return self._copy(sorted(self._repo(repo).labels.values(), key=lambda label: label.name.casefold()))

    def deployments(self, repo: str) -> list[Deployment]:
        """The repository's deployments, newest first, each with its statuses (oldest first)."""
        with self._lock:
            return self._copy(sorted(self._repo(repo).deployments.values(), key=lambda d: d.id, reverse=True))

    def discussion_categories(self, repo: str) -> list[DiscussionCategory]:
        with self._lock:
            return self._copy(sorted(self._repo(repo).discussion_categories.values(), key=lambda c: c.id))

    def discussions(self, repo: str) -> list[Discussion]:
        """The repository's discussions, by number."""
        with self._lock:
            return self._copy(sorted(self._repo(repo).discussions.values(), key=lambda d: d.number))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the start (or `reset_requests()`), in order."""
        with self._lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- fault injection ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 502,
        *,
        times: int = 1,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` matching requests with `status` (method "*" matches any; the
        regex is searched in the path). The body defaults to GitHub's JSON error for that status."""
        message = FAULT_MESSAGES.get(status) or HTTPStatus(status).phrase
        default = {"message": message, "documentation_url": DOCS_URL, "status": str(status)}
        self._add_fault(
            Fault(
                method.upper(),
                re.compile(path_regex),
                status,
                times,
                default if body is None else body,
                dict(headers or {}),
                delay,
            )
        )

    def slow_next(self, method: str, path_regex: str, delay: float, *, times: int = 1) -> None:
        """Answer the next `times` matching requests normally, but only after `delay` seconds."""
        self._add_fault(Fault(method.upper(), re.compile(path_regex), None, times, delay=delay))

    def secondary_rate_limit(
        self,
        method: str = "*",
        path_regex: str = ".*",
        *,
        times: int = 1,
        status: int = 403,
        retry_after: int | None = 1,
    ) -> None:
        """GitHub's secondary ("abuse") limit: 403 (or 429) with a `retry-after` header."""
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
            "If you reach out to GitHub Support for help, please include the request ID "
            "C0DE:1234:5678:9ABC:DEF0."
        )
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        self.fail_next(
            method,
            path_regex,
            status,
            times=times,
            headers=headers,
            body={"message": message, "documentation_url": SECONDARY_RATE_DOCS},
        )

    def exhaust_rate_limit(self, token: str = DEFAULT_TOKEN, *, reset_in: float = 60.0, resource: str = "core") -> None:
        """Spend the token's primary limit: requests get 403 with `x-ratelimit-remaining: 0`
        until `reset_in` seconds (wall clock) have passed."""
        with self._lock:
            self._tokens[token].buckets[resource].exhaust(reset_in)

    def _add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- request handling ---------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], raw_body: bytes) -> Response:
        """Answer one HTTP request; `headers` have lower-case names."""
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body, parse_error = _parse_body(raw_body)
        with self._lock:
            self._requests.append(RecordedRequest(method, split.path, query, body))
            fault = self._take_fault(method, split.path)
            number = next(self._request_ids)
            request_id = f"C0DE:FA4E:{number:06X}:{number:06X}:00000000"  # GitHub's five hex groups, unique
        if fault is not None and fault.delay:
            self._stopping.wait(fault.delay)  # outside the lock: other requests go on meanwhile
        with self._lock:
            response = self._answer(method, split.path, query, headers, body, parse_error, fault)
        response.headers.setdefault("x-github-request-id", request_id)
        return response

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        body: Any,
        parse_error: bool,
        fault: Fault | None,
    ) -> Response:
        token = self._authenticate(headers.get("authorization", ""))
        if token is None:
            return self._error(bad_credentials(), self._anonymous.buckets["core"].headers("core"))
        if fault is not None and fault.status is not None:
            core = token.buckets["core"]
            core.take()
            return Response(fault.status, fault.body, {**_json_headers(), **core.headers("core"), **fault.headers})
        if method == "POST" and path in graphql_api.PATHS:
            return self._graphql(token, body, parse_error)
        found = find_route(method, path)
        resource = found[0].resource if found else "core"  # GitHub counts requests it cannot route too
        if resource is not None and not token.buckets[resource].take():
            account = self._store.user(token.login).id if token.login else 0
            return self._error(token.rate_limited(resource, account), {})
        rate_headers = token.buckets[resource or "core"].headers(resource or "core")
        if found is None:
            return self._error(not_found(), rate_headers)
        route, params = found
        call = Call(
            self._store, self._payload_renderer(), token, {k: unquote(v) for k, v in params.items()}, query, body
        )
        try:
            result = self._run(route, call, parse_error)
        except ApiError as error:
            if error.status in (403, 422) and error.documentation_url == DOCS_URL:
                error.documentation_url = route.docs
            return self._error(error, rate_headers)
        if isinstance(result, Listing):
            return self._page(result, path, query, rate_headers)
        reply_headers = {**(_json_headers() if result.body is not None else {}), **rate_headers, **result.headers}
        return Response(result.status, result.body, reply_headers)

    def _graphql(self, token: Token, body: Any, parse_error: bool) -> Response:
        bucket = token.buckets["graphql"]
        if parse_error:
            return self._error(ApiError(400, "Problems parsing JSON", documentation_url=graphql_api.DOCS), {})
        status, answer = graphql_api.answer(self._store, token, body)
        return Response(status, answer, {**_json_headers(), **bucket.headers("graphql")})

    def _run(self, route: Route, call: Call, parse_error: bool) -> Reply | Listing:
        if "owner" in call.params:
            repo = call.repo  # 404 for a repository that does not exist ...
            if repo.private and call.token.anonymous:
                raise not_found()  # ... or that the caller may not see
        if route.scopes:
            call.token.require(effective_scopes(route, call), route.level, route.docs)
        if parse_error:
            raise ApiError(400, "Problems parsing JSON", documentation_url=route.docs)
        return route.handler(call)

    def _authenticate(self, authorization: str) -> Token | None:
        """The caller's token; anonymous without a header, None (401) for one GitHub would not know."""
        if not authorization:
            return self._anonymous
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return None
        return self._tokens.get(value.strip())

    def _page(self, listing: Listing, path: str, query: dict[str, str], headers: dict[str, str]) -> Response:
        per_page = min(_positive_int(query.get("per_page"), DEFAULT_PER_PAGE), MAX_PER_PAGE)
        page = _positive_int(query.get("page"), 1)
        last = max(1, math.ceil(len(listing.items) / per_page))
        items = listing.items[(page - 1) * per_page : page * per_page]
        body: Any = items
        if listing.envelope:
            body = {"total_count": len(listing.items), **listing.extra, listing.envelope: items}
        links = self._links(path, query, page, last)
        return Response(200, body, {**_json_headers(), **headers, **({"link": links} if links else {})})

    def _links(self, path: str, query: dict[str, str], page: int, last: int) -> str:
        """GitHub's Link header: prev, next, last, first; the caller's query kept, `page` last."""

        def link(number: int, rel: str) -> str:
            params = {key: value for key, value in query.items() if key != "page"}
            return f'<{self.url}{path}?{urlencode({**params, "page": number})}>; rel="{rel}"'

        parts = []
        if page > 1:
            parts.append(link(page - 1, "prev"))
        if page < last:
            parts += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            parts.append(link(1, "first"))
        return ", ".join(parts)

    def _error(self, error: ApiError, headers: dict[str, str]) -> Response:
        return Response(error.status, error.body(), {**_json_headers(), **headers, **error.headers})

    def _payload_renderer(self) -> Payloads:
        assert self._payloads is not None
        return self._payloads

    # --- helpers ------------------------------------------------------------------------------

    def _repo(self, full_name: str) -> Repo:
        return self._lookup(lambda: self._store.repo(full_name), f"no repository {full_name}; add_repo() it first")

    @staticmethod
    def _lookup(find: Any, message: str) -> Any:
        """Seeding and inspection mistakes are the test's: a KeyError that says what is missing."""
        try:
            return find()
        except ApiError:
            raise KeyError(message) from None

    @staticmethod
    def _copy(record: Record) -> Record:
        # Copies, so a test holding a record neither races the server nor changes state by accident.
        return copy.deepcopy(record)


def _moment(value: Moment) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _changed_files(files: Iterable[str | ChangedFile | Mapping[str, Any]]) -> list[ChangedFile]:
    return [
        file
        if isinstance(file, ChangedFile)
        else ChangedFile(filename=file)
        if isinstance(file, str)
        else ChangedFile(**file)
        for file in files
    ]


def _parse_body(raw: bytes) -> tuple[Any, bool]:
    """The JSON body and whether it failed to parse (GitHub then answers 400)."""
    if not raw.strip():
        return None, False
    try:
        return json.loads(raw), False
    except ValueError:
        return raw.decode(errors="replace"), True


def _positive_int(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= 1 else default


def _json_headers() -> dict[str, str]:
    return {
        "content-type": "application/json; charset=utf-8",
        "x-github-media-type": "github.v3; format=json",
        "x-github-api-version-selected": "2022-11-28",
    }


class _Server(ThreadingHTTPServer):
    """Tracks open connections so `stop()` can close idle keep-alive sockets instead of waiting."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeGitHub) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) or stop() closing the socket is no server bug.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' sessions expect
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK, 40 ms a request.
    disable_nagle_algorithm = True
    server_version = "github.com"
    sys_version = ""
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.fake.handle(self.command, self.path, headers, raw_body)
        payload = response.encoded()
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != HTTPStatus.NO_CONTENT:
            self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if payload and response.status != HTTPStatus.NO_CONTENT:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # pytest shows failures; a line per request would drown them

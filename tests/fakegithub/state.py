"""What the fake GitHub knows, held in memory: users, repositories and everything inside them.

The store is the one place that changes state, for the HTTP handlers and the seeding helpers
alike, so a test that seeds a comment and a client that posts one end up with the same record.
Its rules (label names are case-insensitive, closing sets `closed_at`, a success status retires
older deployments) are GitHub's; a broken rule raises `ApiError` with the status GitHub gives.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DOCS_URL = "https://docs.github.com/rest"
MAX_BODY_CHARS = 65536
DEFAULT_LABEL_COLOR = "ededed"
ISSUE_STATES = ("open", "closed")
STATE_REASONS = ("completed", "not_planned", "reopened", "duplicate")
DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
# A fixed start keeps timestamps in assertions and snapshots stable; tests move it with `now`.
DEFAULT_NOW = datetime(2024, 1, 15, 9, 0, 0, tzinfo=timezone.utc)
MAX_PINNED_ISSUES = 3


class ApiError(Exception):
    """An answer other than success, shaped as GitHub shapes it: message, errors, documentation_url."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        documentation_url: str = DOCS_URL,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.documentation_url = documentation_url

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        body["status"] = str(self.status)
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(resource: str, code: str, field_name: str, message: str | None = None) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field_name}
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])


def invalid_request(detail: str) -> ApiError:
    """GitHub's answer when the body fails its JSON schema (a missing or mistyped field)."""
    return ApiError(422, f"Invalid request.\n\n{detail}")


def fake_sha(*parts: object) -> str:
    """A stable 40-hex id for things tests do not name (tree and blob shas)."""
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "Bot" for apps such as github-actions[bot]
    name: str | None = None


@dataclass
class Label:
    id: int
    name: str
    color: str = DEFAULT_LABEL_COLOR
    description: str | None = None
    default: bool = False


@dataclass
class ChangedFile:
    """A file in a pull request or a commit, as GitHub's diff entry has it."""

    filename: str
    status: str = "modified"
    additions: int = 1
    deletions: int = 0
    patch: str | None = None
    previous_filename: str | None = None


@dataclass
class Pull:
    """What makes an issue a pull request."""

    head_sha: str
    head_ref: str
    base_ref: str
    base_sha: str
    draft: bool = False
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    files: list[ChangedFile] = field(default_factory=list)


@dataclass
class Issue:
    """An issue, or a pull request (GitHub numbers both in one sequence; `pull` tells them apart)."""

    id: int
    number: int
    title: str
    user: str
    created_at: datetime
    updated_at: datetime
    body: str | None = None
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)  # canonical names from the repository's labels
    assignees: list[str] = field(default_factory=list)
    closed_at: datetime | None = None
    closed_by: str | None = None
    locked: bool = False
    pull: Pull | None = None
    pinned: bool = False  # GraphQL's pinIssue; a repository pins at most MAX_PINNED_ISSUES


@dataclass
class DiscussionCategory:
    id: int
    name: str
    slug: str
    created_at: datetime
    updated_at: datetime
    emoji: str = ":speech_balloon:"
    description: str = ""
    is_answerable: bool = False


@dataclass
class Discussion:
    """A discussion; GitHub numbers discussions in the same sequence as issues and pull requests."""

    id: int
    number: int
    title: str
    body: str
    category_id: int
    user: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: str
    created_at: datetime
    updated_at: datetime


@dataclass
class DeploymentStatus:
    id: int
    state: str
    creator: str
    created_at: datetime
    updated_at: datetime
    environment: str = ""
    description: str = ""
    environment_url: str = ""
    log_url: str = ""


@dataclass
class Deployment:
    id: int
    sha: str
    ref: str
    environment: str
    creator: str
    created_at: datetime
    updated_at: datetime
    task: str = "deploy"
    payload: dict[str, Any] | str = field(default_factory=dict)
    description: str | None = None
    original_environment: str = ""
    transient_environment: bool = False
    production_environment: bool = False
    statuses: list[DeploymentStatus] = field(default_factory=list)  # oldest first; listed newest first


@dataclass
class Workflow:
    id: int
    name: str
    path: str
    created_at: datetime
    updated_at: datetime
    state: str = "active"


@dataclass
class Job:
    id: int
    run_id: int
    name: str
    status: str = "completed"
    conclusion: str | None = "success"
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass
class WorkflowRun:
    id: int
    workflow_id: int
    name: str
    head_sha: str
    head_branch: str | None
    event: str
    status: str
    conclusion: str | None
    created_at: datetime
    updated_at: datetime
    run_started_at: datetime
    run_number: int
    actor: str
    run_attempt: int = 1
    display_title: str = ""
    jobs: list[Job] = field(default_factory=list)


@dataclass
class Commit:
    sha: str
    message: str
    author_name: str
    author_email: str
    date: datetime
    author_login: str | None = None  # the GitHub account the email belongs to, when there is one
    parents: list[str] = field(default_factory=list)
    files: list[ChangedFile] = field(default_factory=list)


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    created_at: datetime
    private: bool = False
    description: str | None = None
    branches: dict[str, str] = field(default_factory=dict)  # branch -> head sha
    labels: dict[str, Label] = field(default_factory=dict)  # lower-cased name -> label
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    deployments: dict[int, Deployment] = field(default_factory=dict)
    workflows: dict[int, Workflow] = field(default_factory=dict)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    discussion_categories: dict[int, DiscussionCategory] = field(default_factory=dict)
    discussions: dict[int, Discussion] = field(default_factory=dict)  # by number

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class Store:
    """All repositories and users, plus the clock that stamps what they record."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.now = now
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}  # lower-cased full name -> repo
        # One sequence for every kind of id: ids then also sort by creation, as GitHub's do.
        self._ids = itertools.count(1001)

    def next_id(self) -> int:
        return next(self._ids)

    # --- users and repositories ---------------------------------------------------------------

    def user(self, login: str) -> User:
        """The account with this login, made on first mention (tests name users freely)."""
        key = login.lower()
        if key not in self.users:
            kind = "Bot" if login.endswith("[bot]") else "User"
            self.users[key] = User(login=login, id=self.next_id(), type=kind)
        return self.users[key]

    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = False,
        description: str | None = None,
        head_sha: str | None = None,
    ) -> Repo:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"a repository is named owner/name, not {full_name!r}")
        self.user(owner)
        repo = Repo(
            id=self.next_id(),
            owner=owner,
            name=name,
            default_branch=default_branch,
            created_at=self.now,
            private=private,
            description=description,
        )
        repo.branches[default_branch] = head_sha or fake_sha(full_name, default_branch)
        self.repos[full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise not_found()
        return repo

    # --- issues and pull requests -------------------------------------------------------------

    def issue(self, repo: Repo, number: int) -> Issue:
        issue = repo.issues.get(number)
        if issue is None:
            raise not_found()
        return issue

    def pull(self, repo: Repo, number: int) -> Issue:
        issue = self.issue(repo, number)
        if issue.pull is None:
            raise not_found()
        return issue

    def create_issue(
        self,
        repo: Repo,
        *,
        title: str,
        user: str,
        body: str | None = None,
        labels: list[str] | tuple[str, ...] = (),
        assignees: list[str] | tuple[str, ...] = (),
        number: int | None = None,
        pull: Pull | None = None,
        created_at: datetime | None = None,
    ) -> Issue:
        if not title:
            raise validation_failed("Issue", "missing_field", "title")
        check_body_length("Issue", body)
        if number is None:
            number = next_number(repo)
        elif number in repo.issues or number in repo.discussions:
            raise ValueError(f"{repo.full_name} already has #{number}")
        stamp = created_at or self.now
        issue = Issue(
            id=self.next_id(),
            number=number,
            title=title,
            user=self.user(user).login,
            body=body,
            created_at=stamp,
            updated_at=stamp,
            pull=pull,
        )
        issue.labels = [self.label_or_create(repo, name).name for name in dict.fromkeys(labels)]
        issue.assignees = [self.user(login).login for login in dict.fromkeys(assignees)]
        repo.issues[number] = issue
        return issue

    def edit_issue(self, repo: Repo, issue: Issue, changes: dict[str, Any], *, actor: str) -> Issue:
        """PATCH semantics: only the keys present change; `labels`/`assignees` replace the lists."""
        if "title" in changes:
            if not changes["title"]:
                raise validation_failed("Issue", "missing_field", "title")
            issue.title = str(changes["title"])
        if "body" in changes:
            check_body_length("Issue", changes["body"])
            issue.body = changes["body"]
        if "state" in changes or "state_reason" in changes:
            self._change_state(issue, changes.get("state", issue.state), changes.get("state_reason"), actor)
        if "labels" in changes:
            issue.labels = [self.label_or_create(repo, name).name for name in label_names(changes["labels"])]
        if "assignees" in changes:
            issue.assignees = [self.user(login).login for login in dict.fromkeys(changes["assignees"] or [])]
        if changes.get("assignee"):
            issue.assignees = [self.user(changes["assignee"]).login]
        issue.updated_at = self.now
        return issue

    def _change_state(self, issue: Issue, state: str, reason: str | None, actor: str) -> None:
        if state not in ISSUE_STATES:
            raise validation_failed("Issue", "invalid", "state")
        if reason is not None and reason not in STATE_REASONS:
            raise validation_failed("Issue", "invalid", "state_reason")
        if state == "closed" and issue.state != "closed":
            issue.closed_at = self.now
            issue.closed_by = self.user(actor).login
            issue.state_reason = reason or "completed"
        elif state == "open" and issue.state != "open":
            issue.closed_at = None
            issue.state_reason = "reopened"
        elif reason is not None:
            issue.state_reason = reason
        issue.state = state

    def add_assignees(self, issue: Issue, logins: list[str]) -> Issue:
        for login in logins:
            canonical = self.user(login).login
            if canonical not in issue.assignees:
                issue.assignees.append(canonical)
        return issue

    def remove_assignees(self, issue: Issue, logins: list[str]) -> Issue:
        """GitHub ignores logins that are not assigned (or unknown): no error, the issue as it is."""
        gone = {login.lower() for login in logins}
        issue.assignees = [login for login in issue.assignees if login.lower() not in gone]
        issue.updated_at = self.now
        return issue

    # --- comments -----------------------------------------------------------------------------

    def add_comment(
        self, repo: Repo, issue: Issue, body: str, *, user: str, created_at: datetime | None = None
    ) -> Comment:
        check_body_length("IssueComment", body)
        stamp = created_at or self.now
        comment = Comment(
            id=self.next_id(),
            issue_number=issue.number,
            body=body,
            user=self.user(user).login,
            created_at=stamp,
            updated_at=stamp,
        )
        repo.comments[comment.id] = comment
        issue.updated_at = max(issue.updated_at, stamp)
        return comment

    def comment(self, repo: Repo, comment_id: int) -> Comment:
        comment = repo.comments.get(comment_id)
        if comment is None:
            raise not_found()
        return comment

    def comments_on(self, repo: Repo, number: int) -> list[Comment]:
        return [comment for comment in repo.comments.values() if comment.issue_number == number]

    def edit_comment(self, comment: Comment, body: str) -> Comment:
        check_body_length("IssueComment", body)
        comment.body = body
        comment.updated_at = self.now
        return comment

    # --- labels -------------------------------------------------------------------------------

    def label(self, repo: Repo, name: str) -> Label:
        label = repo.labels.get(name.lower())
        if label is None:
            raise not_found()
        return label

    def create_label(self, repo: Repo, name: str, color: str | None = None, description: str | None = None) -> Label:
        if not name:
            raise validation_failed("Label", "missing_field", "name")
        if name.lower() in repo.labels:
            raise validation_failed("Label", "already_exists", "name")
        label = Label(id=self.next_id(), name=name, color=check_color(color), description=description)
        repo.labels[name.lower()] = label
        return label

    def label_or_create(self, repo: Repo, name: str) -> Label:
        """Issues may name labels the repository lacks; GitHub then creates them in its grey."""
        return repo.labels.get(name.lower()) or self.create_label(repo, name)

    def edit_label(
        self,
        repo: Repo,
        label: Label,
        *,
        new_name: str | None = None,
        color: str | None = None,
        description: str | None = None,
    ) -> Label:
        if new_name and new_name.lower() != label.name.lower() and new_name.lower() in repo.labels:
            raise validation_failed("Label", "already_exists", "name")
        if color is not None:
            label.color = check_color(color)
        if description is not None:
            label.description = description
        if new_name:
            old_name = label.name
            del repo.labels[old_name.lower()]
            label.name = new_name
            repo.labels[new_name.lower()] = label
            for issue in repo.issues.values():
                issue.labels = [new_name if name == old_name else name for name in issue.labels]
        return label

    def delete_label(self, repo: Repo, label: Label) -> None:
        del repo.labels[label.name.lower()]
        for issue in repo.issues.values():
            if label.name in issue.labels:
                issue.labels.remove(label.name)

    def add_issue_labels(self, repo: Repo, issue: Issue, names: list[str]) -> None:
        for name in names:
            canonical = self.label_or_create(repo, name).name
            if canonical not in issue.labels:
                issue.labels.append(canonical)
        issue.updated_at = self.now

    def remove_issue_label(self, repo: Repo, issue: Issue, name: str) -> None:
        label = repo.labels.get(name.lower())
        if label is None or label.name not in issue.labels:
            raise ApiError(404, "Label does not exist")
        issue.labels.remove(label.name)
        issue.updated_at = self.now

    # --- commits and refs ---------------------------------------------------------------------

    def add_commit(self, repo: Repo, commit: Commit) -> Commit:
        repo.commits[commit.sha] = commit
        return commit

    def commit(self, repo: Repo, ref: str) -> Commit:
        """A commit by full sha, unique prefix or branch name; GitHub answers 422 for anything else."""
        sha = self.resolve_ref(repo, ref)
        if sha is None or sha not in repo.commits:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        return repo.commits[sha]

    def resolve_ref(self, repo: Repo, ref: str) -> str | None:
        if ref in repo.branches:
            return repo.branches[ref]
        matches = [sha for sha in repo.commits if sha.startswith(ref.lower())] if len(ref) >= 4 else []
        if len(matches) == 1:
            return matches[0]
        # A sha the test never registered is still a sha: deployments of it are allowed.
        if re.fullmatch(r"[0-9a-f]{7,40}", ref):
            return ref
        return None

    # --- deployments --------------------------------------------------------------------------

    def create_deployment(
        self,
        repo: Repo,
        *,
        ref: str,
        creator: str,
        sha: str | None = None,
        environment: str = "production",
        task: str = "deploy",
        payload: dict[str, Any] | str | None = None,
        description: str | None = None,
        transient_environment: bool = False,
        production_environment: bool | None = None,
        created_at: datetime | None = None,
    ) -> Deployment:
        if sha is None:
            sha = self.resolve_ref(repo, ref)
            if sha is None:
                raise ApiError(422, f"No ref found for: {ref}")
        stamp = created_at or self.now
        deployment = Deployment(
            id=self.next_id(),
            sha=sha,
            ref=ref,
            environment=environment,
            creator=self.user(creator).login,
            created_at=stamp,
            updated_at=stamp,
            task=task,
            payload={} if payload is None else payload,
            description=description,
            original_environment=environment,
            transient_environment=transient_environment,
            # GitHub's default: "production" is a production environment, anything else is not.
            production_environment=environment == "production"
            if production_environment is None
            else production_environment,
        )
        repo.deployments[deployment.id] = deployment
        return deployment

    def deployment(self, repo: Repo, deployment_id: int) -> Deployment:
        deployment = repo.deployments.get(deployment_id)
        if deployment is None:
            raise not_found()
        return deployment

    def add_deployment_status(
        self,
        repo: Repo,
        deployment: Deployment,
        state: str,
        *,
        creator: str,
        description: str = "",
        environment: str | None = None,
        environment_url: str = "",
        log_url: str = "",
        auto_inactive: bool = True,
        created_at: datetime | None = None,
    ) -> DeploymentStatus:
        if state not in DEPLOYMENT_STATES:
            raise validation_failed("DeploymentStatus", "invalid", "state")
        if environment:
            deployment.environment = environment
        stamp = created_at or self.now
        status = DeploymentStatus(
            id=self.next_id(),
            state=state,
            creator=self.user(creator).login,
            created_at=stamp,
            updated_at=stamp,
            environment=deployment.environment,
            description=description or "",
            environment_url=environment_url or "",
            log_url=log_url or "",
        )
        deployment.statuses.append(status)
        deployment.updated_at = stamp
        if state == "success" and auto_inactive:
            self._retire_older_deployments(repo, deployment, creator, stamp)
        return status

    def _retire_older_deployments(self, repo: Repo, current: Deployment, creator: str, stamp: datetime) -> None:
        """GitHub's `auto_inactive`: older successful deployments to the same non-production,
        non-transient environment get an `inactive` status when a newer one succeeds."""
        for older in repo.deployments.values():
            if (
                older.id < current.id
                and older.environment == current.environment
                and not older.production_environment
                and not older.transient_environment
                and older.statuses
                and older.statuses[-1].state == "success"
            ):
                self.add_deployment_status(
                    repo, older, "inactive", creator=creator, auto_inactive=False, created_at=stamp
                )

    # --- discussions -------------------------------------------------------------------------

    def add_discussion_category(
        self,
        repo: Repo,
        name: str,
        *,
        slug: str | None = None,
        emoji: str = ":speech_balloon:",
        description: str = "",
        is_answerable: bool = False,
    ) -> DiscussionCategory:
        if any(category.name.lower() == name.lower() for category in repo.discussion_categories.values()):
            raise ValueError(f"{repo.full_name} already has the discussion category {name!r}")
        category = DiscussionCategory(
            id=self.next_id(),
            name=name,
            slug=slug or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"),
            created_at=self.now,
            updated_at=self.now,
            emoji=emoji,
            description=description,
            is_answerable=is_answerable,
        )
        repo.discussion_categories[category.id] = category
        return category

    def create_discussion(
        self, repo: Repo, category: DiscussionCategory, *, title: str, body: str, user: str
    ) -> Discussion:
        discussion = Discussion(
            id=self.next_id(),
            number=next_number(repo),
            title=title,
            body=body,
            category_id=category.id,
            user=self.user(user).login,
            created_at=self.now,
            updated_at=self.now,
        )
        repo.discussions[discussion.number] = discussion
        return discussion

    # --- workflows ----------------------------------------------------------------------------

    def add_workflow(self, repo: Repo, path: str, *, name: str | None = None) -> Workflow:
        if "/" not in path:
            path = f".github/workflows/{path}"
        workflow = Workflow(
            id=self.next_id(), name=name or path.rsplit("/", 1)[-1], path=path, created_at=self.now, updated_at=self.now
        )
        repo.workflows[workflow.id] = workflow
        return workflow

    def workflow(self, repo: Repo, id_or_file: str) -> Workflow:
        """A workflow by id or by file name, as the `workflow_id` path parameter allows."""
        for workflow in repo.workflows.values():
            if id_or_file in (str(workflow.id), workflow.path.rsplit("/", 1)[-1]):
                return workflow
        raise not_found()

    def run(self, repo: Repo, run_id: int) -> WorkflowRun:
        run = repo.runs.get(run_id)
        if run is None:
            raise not_found()
        return run


def next_number(repo: Repo) -> int:
    """The next number of an issue, pull request or discussion: one sequence for all three."""
    return max([*repo.issues, *repo.discussions], default=0) + 1


def check_body_length(resource: str, body: str | None) -> None:
    if body is not None and len(body) > MAX_BODY_CHARS:
        raise validation_failed(
            resource, "custom", "body", f"body is too long (maximum is {MAX_BODY_CHARS} characters)"
        )


def check_color(color: str | None) -> str:
    color = (color or DEFAULT_LABEL_COLOR).removeprefix("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
        raise validation_failed("Label", "invalid", "color")
    return color.lower()


def label_names(value: Any) -> list[str]:
    """Label lists arrive as names, as `{"name": ...}` objects, or wrapped in `{"labels": [...]}`."""
    if isinstance(value, dict):
        value = value.get("labels", [])
    if not isinstance(value, list):
        raise invalid_request(f"For 'links/0/schema', {value!r} is not an array.")
    names = [item.get("name", "") if isinstance(item, dict) else str(item) for item in value]
    return list(dict.fromkeys(name for name in names if name))

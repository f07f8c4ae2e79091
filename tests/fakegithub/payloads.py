"""The JSON GitHub sends for each record: every field its OpenAPI schema requires and PyGithub reads.

`url` fields point back at the fake (PyGithub follows them for edits, deletes and lazy loads and
refuses URLs of another host); `html_url` fields point at github.com, where a person would click.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fakegithub.state import (
    ChangedFile,
    Comment,
    Commit,
    Deployment,
    DeploymentStatus,
    Issue,
    Job,
    Label,
    Repo,
    Store,
    User,
    Workflow,
    WorkflowRun,
    fake_sha,
)

HTML_URL = "https://github.com"
DEFAULT_AUTHOR = ("Ada Tester", "ada@example.com")

Json = dict[str, Any]


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def node_id(kind: str, record_id: int) -> str:
    """GitHub's legacy global node id ("04:User1" in base64): opaque, stable, unique per kind."""
    return base64.b64encode(f"0{len(kind)}:{kind}{record_id}".encode()).decode()


def no_reactions(url: str) -> Json:
    return {
        "url": f"{url}/reactions",
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }


class Payloads:
    """Renders records for a server whose API lives at `api_url`."""

    def __init__(self, store: Store, api_url: str) -> None:
        self.store = store
        self.api = api_url.rstrip("/")

    # --- people and repositories --------------------------------------------------------------

    def user(self, login: str) -> Json:
        user = self.store.user(login)
        url = f"{self.api}/users/{quote(user.login)}"
        is_bot = user.type == "Bot"
        html = f"{HTML_URL}/apps/{user.login.removesuffix('[bot]')}" if is_bot else f"{HTML_URL}/{user.login}"
        return {
            "login": user.login,
            "id": user.id,
            "node_id": node_id(user.type, user.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": html,
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def authenticated_user(self, user: User) -> Json:
        return {
            **self.user(user.login),
            "name": user.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": iso(self.store.now),
            "updated_at": iso(self.store.now),
        }

    def repo_url(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_html(self, repo: Repo) -> str:
        return f"{HTML_URL}/{repo.full_name}"

    def repo(self, repo: Repo) -> Json:
        """One shape for full, plain and minimal repositories: a superset satisfies all three schemas."""
        url, html = self.repo_url(repo), self.repo_html(repo)
        open_issues = sum(issue.state == "open" for issue in repo.issues.values())
        templated = {
            "archive_url": "{archive_format}{/ref}",
            "assignees_url": "assignees{/user}",
            "blobs_url": "git/blobs{/sha}",
            "branches_url": "branches{/branch}",
            "collaborators_url": "collaborators{/collaborator}",
            "comments_url": "comments{/number}",
            "commits_url": "commits{/sha}",
            "compare_url": "compare/{base}...{head}",
            "contents_url": "contents/{+path}",
            "contributors_url": "contributors",
            "deployments_url": "deployments",
            "downloads_url": "downloads",
            "events_url": "events",
            "forks_url": "forks",
            "git_commits_url": "git/commits{/sha}",
            "git_refs_url": "git/refs{/sha}",
            "git_tags_url": "git/tags{/sha}",
            "hooks_url": "hooks",
            "issue_comment_url": "issues/comments{/number}",
            "issue_events_url": "issues/events{/number}",
            "issues_url": "issues{/number}",
            "keys_url": "keys{/key_id}",
            "labels_url": "labels{/name}",
            "languages_url": "languages",
            "merges_url": "merges",
            "milestones_url": "milestones{/number}",
            "notifications_url": "notifications{?since,all,participating}",
            "pulls_url": "pulls{/number}",
            "releases_url": "releases{/id}",
            "stargazers_url": "stargazers",
            "statuses_url": "statuses/{sha}",
            "subscribers_url": "subscribers",
            "subscription_url": "subscription",
            "tags_url": "tags",
            "teams_url": "teams",
            "trees_url": "git/trees{/sha}",
        }
        stamp = iso(repo.created_at)
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": repo.description,
            "fork": False,
            "url": url,
            **{key: f"{url}/{suffix}" for key, suffix in templated.items()},
            "git_url": f"git://github.com/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "size": 0,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "open_issues": open_issues,
            "open_issues_count": open_issues,
            "default_branch": repo.default_branch,
            "visibility": "private" if repo.private else "public",
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "is_template": False,
            "license": None,
            "topics": [],
            "created_at": stamp,
            "updated_at": stamp,
            "pushed_at": stamp,
            "network_count": 0,
            "subscribers_count": 0,
        }

    # --- issues, pull requests, comments, labels ----------------------------------------------

    def label(self, repo: Repo, label: Label) -> Json:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_url(repo)}/labels/{quote(label.name)}",
            "name": label.name,
            "color": label.color,
            "default": label.default,
            "description": label.description,
        }

    def issue_labels(self, repo: Repo, issue: Issue) -> list[Json]:
        return [self.label(repo, repo.labels[name.lower()]) for name in issue.labels]

    def issue_html(self, repo: Repo, issue: Issue) -> str:
        kind = "pull" if issue.pull else "issues"
        return f"{self.repo_html(repo)}/{kind}/{issue.number}"

    def issue(self, repo: Repo, issue: Issue) -> Json:
        url = f"{self.repo_url(repo)}/issues/{issue.number}"
        assignees = [self.user(login) for login in issue.assignees]
        payload = {
            "url": url,
            "repository_url": self.repo_url(repo),
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "timeline_url": f"{url}/timeline",
            "html_url": self.issue_html(repo, issue),
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.user),
            "labels": self.issue_labels(repo, issue),
            "state": issue.state,
            "locked": issue.locked,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": len(self.store.comments_on(repo, issue.number)),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "author_association": self.association(repo, issue.user),
            "active_lock_reason": None,
            "body": issue.body,
            "closed_by": self.user(issue.closed_by) if issue.closed_by else None,
            "reactions": no_reactions(url),
            "performed_via_github_app": None,
            "state_reason": issue.state_reason,
        }
        if issue.pull:
            pull_url = f"{self.repo_url(repo)}/pulls/{issue.number}"
            html = payload["html_url"]
            payload["draft"] = issue.pull.draft
            payload["pull_request"] = {
                "url": pull_url,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": iso(issue.pull.merged_at),
            }
        return payload

    def association(self, repo: Repo, login: str) -> str:
        return "OWNER" if login.lower() == repo.owner.lower() else "NONE"

    def search_item(self, repo: Repo, issue: Issue) -> Json:
        # The search schema types `body` as a plain string: an issue without one gets "".
        return {**self.issue(repo, issue), "body": issue.body or "", "score": 1.0}

    def pull(self, repo: Repo, issue: Issue) -> Json:
        pull = issue.pull
        assert pull is not None
        url = f"{self.repo_url(repo)}/pulls/{issue.number}"
        issue_url = f"{self.repo_url(repo)}/issues/{issue.number}"
        html = self.issue_html(repo, issue)
        statuses_url = f"{self.repo_url(repo)}/statuses/{pull.head_sha}"
        assignees = [self.user(login) for login in issue.assignees]
        links = {
            "self": url,
            "html": html,
            "issue": issue_url,
            "comments": f"{issue_url}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{self.repo_url(repo)}/pulls/comments{{/number}}",
            "commits": f"{url}/commits",
            "statuses": statuses_url,
        }
        return {
            "url": url,
            "id": issue.id,
            "node_id": node_id("PullRequest", issue.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": links["review_comment"],
            "comments_url": f"{issue_url}/comments",
            "statuses_url": statuses_url,
            "number": issue.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": self.user(issue.user),
            "body": issue.body,
            "labels": self.issue_labels(repo, issue),
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "merged_at": iso(pull.merged_at),
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self.branch_end(repo, pull.head_ref, pull.head_sha),
            "base": self.branch_end(repo, pull.base_ref, pull.base_sha),
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": self.association(repo, issue.user),
            "auto_merge": None,
            "draft": pull.draft,
            "merged": pull.merged_at is not None,
            "mergeable": None if pull.merged_at else True,
            "rebaseable": None if pull.merged_at else True,
            "mergeable_state": "unknown" if pull.merged_at else "clean",
            "merged_by": None,
            "comments": len(self.store.comments_on(repo, issue.number)),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": sum(file.additions for file in pull.files),
            "deletions": sum(file.deletions for file in pull.files),
            "changed_files": len(pull.files),
        }

    def branch_end(self, repo: Repo, ref: str, sha: str) -> Json:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(repo.owner),
            "repo": self.repo(repo),
        }

    def comment(self, repo: Repo, comment: Comment) -> Json:
        url = f"{self.repo_url(repo)}/issues/comments/{comment.id}"
        issue = repo.issues[comment.issue_number]
        return {
            "url": url,
            "html_url": f"{self.issue_html(repo, issue)}#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_url(repo)}/issues/{comment.issue_number}",
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": self.association(repo, comment.user),
            "body": comment.body,
            "reactions": no_reactions(url),
            "performed_via_github_app": None,
        }

    def changed_file(self, repo: Repo, sha: str, file: ChangedFile) -> Json:
        path = quote(file.filename)
        entry: Json = {
            "sha": fake_sha(sha, file.filename),
            "filename": file.filename,
            "status": file.status,
            "additions": file.additions,
            "deletions": file.deletions,
            "changes": file.additions + file.deletions,
            "blob_url": f"{self.repo_html(repo)}/blob/{sha}/{path}",
            "raw_url": f"{self.repo_html(repo)}/raw/{sha}/{path}",
            "contents_url": f"{self.repo_url(repo)}/contents/{path}?ref={sha}",
        }
        if file.patch is not None:
            entry["patch"] = file.patch
        if file.previous_filename:
            entry["previous_filename"] = file.previous_filename
        return entry

    # --- commits ------------------------------------------------------------------------------

    def commit(self, repo: Repo, commit: Commit) -> Json:
        url = f"{self.repo_url(repo)}/commits/{commit.sha}"
        git_user = {"name": commit.author_name, "email": commit.author_email, "date": iso(commit.date)}
        account = self.user(commit.author_login) if commit.author_login else None
        additions = sum(file.additions for file in commit.files)
        deletions = sum(file.deletions for file in commit.files)
        return {
            "sha": commit.sha,
            "node_id": node_id("Commit", int(commit.sha[:8], 16)),
            "url": url,
            "html_url": f"{self.repo_html(repo)}/commit/{commit.sha}",
            "comments_url": f"{url}/comments",
            "commit": {
                "url": f"{self.repo_url(repo)}/git/commits/{commit.sha}",
                "author": git_user,
                "committer": git_user,
                "message": commit.message,
                "comment_count": 0,
                "tree": {
                    "sha": fake_sha(commit.sha, "tree"),
                    "url": f"{self.repo_url(repo)}/git/trees/{fake_sha(commit.sha, 'tree')}",
                },
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": account,
            "committer": account,
            "parents": [
                {
                    "sha": parent,
                    "url": f"{self.repo_url(repo)}/commits/{parent}",
                    "html_url": f"{self.repo_html(repo)}/commit/{parent}",
                }
                for parent in commit.parents
            ],
            "stats": {"total": additions + deletions, "additions": additions, "deletions": deletions},
            "files": [self.changed_file(repo, commit.sha, file) for file in commit.files],
        }

    def head_commit(self, repo: Repo, sha: str, fallback_time: datetime) -> Json:
        """The short commit a workflow run embeds; invented from the sha when the test gave none."""
        commit = repo.commits.get(sha)
        name, email = (commit.author_name, commit.author_email) if commit else DEFAULT_AUTHOR
        person = {"name": name, "email": email}
        return {
            "id": sha,
            "tree_id": fake_sha(sha, "tree"),
            "message": commit.message if commit else "",
            "timestamp": iso(commit.date if commit else fallback_time),
            "author": person,
            "committer": person,
        }

    # --- deployments --------------------------------------------------------------------------

    def deployment(self, repo: Repo, deployment: Deployment) -> Json:
        url = f"{self.repo_url(repo)}/deployments/{deployment.id}"
        return {
            "url": url,
            "id": deployment.id,
            "node_id": node_id("Deployment", deployment.id),
            "sha": deployment.sha,
            "ref": deployment.ref,
            "task": deployment.task,
            "payload": deployment.payload,
            "original_environment": deployment.original_environment,
            "environment": deployment.environment,
            "description": deployment.description,
            "creator": self.user(deployment.creator),
            "created_at": iso(deployment.created_at),
            "updated_at": iso(deployment.updated_at),
            "statuses_url": f"{url}/statuses",
            "repository_url": self.repo_url(repo),
            "transient_environment": deployment.transient_environment,
            "production_environment": deployment.production_environment,
            "performed_via_github_app": None,
        }

    def deployment_status(self, repo: Repo, deployment: Deployment, status: DeploymentStatus) -> Json:
        deployment_url = f"{self.repo_url(repo)}/deployments/{deployment.id}"
        return {
            "url": f"{deployment_url}/statuses/{status.id}",
            "id": status.id,
            "node_id": node_id("DeploymentStatus", status.id),
            "state": status.state,
            "creator": self.user(status.creator),
            "description": status.description,
            "environment": status.environment,
            "target_url": status.log_url,
            "created_at": iso(status.created_at),
            "updated_at": iso(status.updated_at),
            "deployment_url": deployment_url,
            "repository_url": self.repo_url(repo),
            "environment_url": status.environment_url,
            "log_url": status.log_url,
            "performed_via_github_app": None,
        }

    # --- actions ------------------------------------------------------------------------------

    def workflow(self, repo: Repo, workflow: Workflow) -> Json:
        return {
            "id": workflow.id,
            "node_id": node_id("Workflow", workflow.id),
            "name": workflow.name,
            "path": workflow.path,
            "state": workflow.state,
            "created_at": iso(workflow.created_at),
            "updated_at": iso(workflow.updated_at),
            "url": f"{self.repo_url(repo)}/actions/workflows/{workflow.id}",
            "html_url": f"{self.repo_html(repo)}/blob/{repo.default_branch}/{workflow.path}",
            "badge_url": f"{self.repo_html(repo)}/workflows/{quote(workflow.name)}/badge.svg",
        }

    def run(self, repo: Repo, run: WorkflowRun) -> Json:
        url = f"{self.repo_url(repo)}/actions/runs/{run.id}"
        workflow = repo.workflows[run.workflow_id]
        repository = self.repo(repo)
        check_suite_id = run.id + 500_000_000
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("WorkflowRun", run.id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": workflow.path,
            "display_title": run.display_title or run.name,
            "run_number": run.run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "check_suite_id": check_suite_id,
            "check_suite_node_id": node_id("CheckSuite", check_suite_id),
            "url": url,
            "html_url": f"{self.repo_html(repo)}/actions/runs/{run.id}",
            "pull_requests": [],
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "actor": self.user(run.actor),
            "triggering_actor": self.user(run.actor),
            "run_attempt": run.run_attempt,
            "referenced_workflows": [],
            "run_started_at": iso(run.run_started_at),
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{self.repo_url(repo)}/check-suites/{check_suite_id}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{self.repo_url(repo)}/actions/workflows/{workflow.id}",
            "head_commit": self.head_commit(repo, run.head_sha, run.created_at),
            "repository": repository,
            "head_repository": repository,
            "head_repository_id": repo.id,
        }

    def job(self, repo: Repo, run: WorkflowRun, job: Job) -> Json:
        return {
            "id": job.id,
            "run_id": run.id,
            "workflow_name": run.name,
            "head_branch": run.head_branch,
            "run_url": f"{self.repo_url(repo)}/actions/runs/{run.id}",
            "run_attempt": run.run_attempt,
            "node_id": node_id("CheckRun", job.id),
            "head_sha": run.head_sha,
            "url": f"{self.repo_url(repo)}/actions/jobs/{job.id}",
            "html_url": f"{self.repo_html(repo)}/actions/runs/{run.id}/job/{job.id}",
            "status": job.status,
            "conclusion": job.conclusion,
            "created_at": iso(run.created_at),
            "started_at": iso(job.started_at or run.run_started_at),
            "completed_at": iso(job.completed_at),
            "name": job.name,
            "steps": [],
            "check_run_url": f"{self.repo_url(repo)}/check-runs/{job.id}",
            "labels": ["ubuntu-latest"],
            "runner_id": 1,
            "runner_name": "GitHub Actions 1",
            "runner_group_id": 1,
            "runner_group_name": "GitHub Actions",
        }

    # --- rate limits --------------------------------------------------------------------------

    @staticmethod
    def rate_limit(resources: dict[str, Json]) -> Json:
        return {"resources": resources, "rate": resources["core"]}

"""`dualdeploy detect`: which components a change impacts, as JSON, Markdown or text.

In a workflow it also sets the step outputs and the job summary; on a pull request it keeps the
sticky comment and the labels up to date (`publish_to_pull_request`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from dualdeploy import actions_io
from dualdeploy.changes import Git, Range, pull_request_range, push_range
from dualdeploy.config import DEFAULT_CONFIG_PATH, Config, load_config, parse_config_bytes
from dualdeploy.errors import ConfigError, DualDeployError, GitError
from dualdeploy.impact import Impact, impact_of_paths
from dualdeploy.markers import hidden_state, read_hidden_state
from dualdeploy.pull_requests import (
    CHANGES_LABEL,
    COMMENT_MARKER,
    LIFE_KEYS,
    MANAGED_LABELS,
    PullRequestLife,
    epoch_of,
    labels_added_before,
    life_from_state,
    plan_labels,
    wanted_labels,
)

FILE_BUDGETS = (50, 20, 5, 0)
FORK_EXAMPLE = "examples/workflows/pr-fork-impact.yml"
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")


def run(args: argparse.Namespace) -> int:
    git = Git(args.repo)
    event_name, event = actions_io.load_event()
    config_path = args.config or DEFAULT_CONFIG_PATH
    config_base = base_of_target(event_name, event)
    config = load_detect_config(git, args.repo, config_path, config_base)
    try:
        change_range = select_range(git, args, event_name, event)
        paths = git.changed_paths(change_range.base, change_range.head)
        remembered = False
    except GitError as error:
        if not closing(event_name, event):
            raise
        # A merged pull request's branch may be gone from the clone: its comment remembers the impact.
        pull = event["pull_request"]
        change_range, paths, remembered = Range(pull["base"]["sha"], pull["head"]["sha"]), [], True
        print(f"{error.one_line()}; the impact recorded in the pull request's comment is used", file=sys.stderr)
    impact = impact_of_paths(config, paths, base=change_range.base, head=change_range.head)
    # Judged by the base's config: a config edit in this pull request counts only once merged.
    config_edit = config_path if config_base and edits(paths, config_path) else None
    # Only the Markdown comment names the deploy branch, and finding it may take git processes.
    branch = deploy_branch(git) if args.format == "markdown" or actions_io.in_actions() else "main"
    print(format_impact(impact, config, args.format, branch, config_edit=config_edit))
    if config_edit:
        print(f"this pull request edits {config_edit}; it was judged by the base branch's config", file=sys.stderr)
    if actions_io.in_actions():
        report_in_actions(
            impact, config, event_name, event, args, branch, config_edit=config_edit, remembered=remembered
        )
    return 0


def closing(event_name: str, event: dict) -> bool:
    return event_name in PULL_REQUEST_EVENTS and event.get("action") == "closed" and "pull_request" in event


def base_of_target(event_name: str, event: dict) -> str | None:
    """Under pull_request_target, the base commit whose config judges the pull request; else None."""
    if event_name != "pull_request_target":
        return None
    return ((event.get("pull_request") or {}).get("base") or {}).get("sha") or None


def load_detect_config(git: Git, repo: str, config_path: str, base: str | None) -> Config:
    """The config from the work tree, or, under pull_request_target, as committed on the base: read
    from git's objects, so even a workflow that checked out the pull request cannot change its rules."""
    if base is None:
        return load_config(Path(repo) / config_path, display_path=config_path)
    base_sha = git.resolve(base, what="pull_request.base.sha")
    shown = f"{config_path} (base {base_sha[:12]})"
    raw = git.file_at(base_sha, config_path)
    if raw is None:
        raise ConfigError(
            f"no config file at {shown}: pull_request_target judges a pull request by the base branch's "
            "config, so commit it to the base branch first (`dualdeploy init` writes one)"
        )
    return parse_config_bytes(raw, shown)


def edits(changed_paths: list[str], path: str) -> bool:
    return path.removeprefix("./") in changed_paths


def deploy_branch(git: Git) -> str:
    """The branch deploys run on, for the `gh workflow run --ref` line: the repository's default branch."""
    known = actions_io.default_branch()
    if known:
        return known
    try:
        return git.default_branch().removeprefix("origin/")
    except DualDeployError:
        return "main"


def select_range(git: Git, args: argparse.Namespace, event_name: str, event: dict) -> Range:
    """Explicit --base/--head win; otherwise the event's; otherwise this branch against the default branch."""
    base, head, mode = args.base, args.head, args.mode
    if not base and not head:
        if event_name in PULL_REQUEST_EVENTS and "pull_request" in event:
            pull = event["pull_request"]
            base, head, mode = pull["base"]["sha"], pull["head"]["sha"], "pr"
            if git.try_resolve(head) is None and pull.get("number") is not None:
                head = fetch_pull_head(git, args, int(pull["number"]), head)
        elif event_name == "merge_group" and "merge_group" in event:
            base, head, mode = event["merge_group"]["base_sha"], event["merge_group"]["head_sha"], "pr"
        elif event_name == "push" and event.get("after"):
            base, head, mode = event.get("before") or "0" * 40, event["after"], "push"
    head = head or "HEAD"
    if (mode or "pr") == "push":
        return push_range(git, base or "0" * 40, head)
    return pull_request_range(git, base or git.default_branch(), head)


def fetch_pull_head(git: Git, args: argparse.Namespace, number: int, head: str) -> str:
    """A fork's head is not in the base's clone: fetch `refs/pull/N/head` as objects (no checkout)."""
    token = args.github_token or ""  # passed to git in its environment only, never printed
    fetched = git.fetch_pull_head(number, token=token, server_url=os.environ.get("GITHUB_SERVER_URL", ""))
    print(
        f"fetched refs/pull/{number}/head ({fetched[:12]}) from origin as objects; nothing checked out",
        file=sys.stderr,
    )
    if git.try_resolve(head) is None:
        raise DualDeployError(
            f"the event's head {head[:12]} is no longer on pull request #{number} (its head is now "
            f"{fetched[:12]}, pushed since): the run for the newer push reports on it",
            key="--head",
        )
    return head


def deploy_links(config: Config, repo_url: str | None) -> dict[str, str | None]:
    """Each component's deploy page: its workflow's run form, or the Actions tab without one."""
    return {component.name: component.deploy_url(repo_url) for component in config.components}


def deploy_commands(config: Config, branch: str) -> dict[str, str | None]:
    """Each component's `gh workflow run` line on the default branch, with its deploy-inputs."""
    return {component.name: component.deploy_command(branch) for component in config.components}


def render_comment(
    impact: Impact,
    config: Config,
    repo_url: str | None,
    branch: str = "main",
    *,
    state: dict | None = None,
    kept_by_hand: tuple[str, ...] = (),
    config_edit: str | None = None,
    pull: int | None = None,
) -> str:
    """The sticky comment; on the pull request (number `pull`) it carries the suite's memory (`state`), hidden."""
    from dualdeploy.render import GITHUB_COMMENT_LIMIT, SafeMarkdown, render, render_within

    links = deploy_links(config, repo_url)
    commands = deploy_commands(config, branch)
    return render_within(
        GITHUB_COMMENT_LIMIT,
        lambda budget: render(
            "pr_comment.md.j2",
            impact=impact,
            links=links,
            commands=commands,
            budget=budget,
            marker=SafeMarkdown(COMMENT_MARKER),
            state=SafeMarkdown(hidden_state(state)) if state is not None else "",
            kept_by_hand=kept_by_hand,
            config_edit=config_edit,
            pull=pull,
        ),
        FILE_BUDGETS,
    )


def format_impact(
    impact: Impact, config: Config, output_format: str, branch: str = "main", *, config_edit: str | None = None
) -> str:
    if output_format == "json":
        # Compact separators keep json on its C encoder (indent= falls back to pure Python).
        return json.dumps(impact.to_json(), separators=(", ", ": "))
    if output_format == "markdown":
        return render_comment(impact, config, actions_io.repo_url(), branch, config_edit=config_edit)
    return format_text(impact)


def format_text(impact: Impact) -> str:
    noun = "file" if impact.changed_files == 1 else "files"
    lines = [f"{impact.changed_files} changed {noun} between {impact.base[:12]} and {impact.head[:12]}"]
    if not impact.components:
        lines.append("No component is impacted.")
    for component in impact.components:
        via = f" via {', '.join(component.via)}" if component.via else ""
        action = "needs a MANUAL deploy" if component.manual else "deploys automatically"
        count = len(component.files)
        lines.append(f"  {component.name}: {action} ({count} file{'' if count == 1 else 's'}{via})")
    lines.append(
        "Manual deploy required after merge." if impact.requires_manual_deploy else "No manual deploy required."
    )
    return "\n".join(lines)


def closed_life(impact: Impact, pull: dict, previous: dict, *, remembered: bool = False) -> PullRequestLife:
    """The pull request's life from its `closed` event: merged (when, as which commit) or not;
    deploys a rerun finds already recorded are kept. `remembered`: the commits were not in the clone,
    so the impacted components are the ones the comment recorded (none recorded: an error)."""
    number = int(pull["number"])
    manual = tuple(sorted(component.name for component in impact.manual_components))
    if remembered:
        if not isinstance(previous.get("manual"), list):
            raise GitError(
                f"the commits of #{number} are not in this clone and its comment records no impact; "
                "check out with fetch-depth: 0",
                key="pull_request",
            )
        manual = life_from_state(number, previous).manual
    if not (pull.get("merged") or pull.get("merged_at")):
        return PullRequestLife(number, manual=manual, closed_unmerged=True)
    known = life_from_state(number, previous)
    for field_name, value in (("merge_commit_sha", pull.get("merge_commit_sha")), ("merged_at", pull.get("merged_at"))):
        if not value and not (field_name == "merged_at" and known.merged_at is not None):
            # Merged, but not as which commit or when: never 'closed without merging', nor a deploy
            # that cannot be matched. Nothing is written; a rerun or the monitor asks GitHub again.
            raise DualDeployError(
                f"#{number} is merged but its closed event has no {field_name}, so what its deploy must "
                "carry is unknown; nothing was changed: re-run the job (the monitor also catches up)",
                key="pull_request",
            )
    same_merge = known.merge_commit == pull["merge_commit_sha"]
    return PullRequestLife(
        number,
        manual=manual,
        merged_at=epoch_of(pull.get("merged_at")) or known.merged_at,
        merge_commit=pull["merge_commit_sha"],
        deployed={name: deploy for name, deploy in known.deployed.items() if name in manual} if same_merge else {},
    )


def closed_labels(life: PullRequestLife) -> set[str]:
    """Once closed: `agent-changes` stays true; `requires-manual-deploy` only while the merge waits."""
    if not life.manual:
        return set()
    return set(MANAGED_LABELS) if life.phase == "merged" else {CHANGES_LABEL}


def report_in_actions(
    impact: Impact,
    config: Config,
    event_name: str,
    event: dict,
    args: argparse.Namespace,
    branch: str = "main",
    *,
    config_edit: str | None = None,
    remembered: bool = False,
) -> None:
    """Outputs and the job summary always; on a pull request also the sticky comment and the labels."""
    manual = [component.name for component in impact.manual_components]
    actions_io.set_output("components", json.dumps(impact.to_json()["components"]))
    actions_io.set_output("manual-components", json.dumps(manual))
    actions_io.set_output("requires-manual-deploy", "true" if manual else "false")
    comment = render_comment(impact, config, actions_io.repo_url(), branch, config_edit=config_edit)
    comment_url = ""
    if event_name in PULL_REQUEST_EVENTS and "pull_request" in event and (args.comment or args.labels):
        comment_url = publish_to_pull_request(
            impact, config, event_name, event, args, branch, config_edit=config_edit, remembered=remembered
        )
    actions_io.set_output("comment-url", comment_url)
    actions_io.append_summary(comment)
    report_model_findings(config, args, branch)


def report_model_findings(config: Config, args: argparse.Namespace, branch: str) -> None:
    """The `dualdeploy check` findings, as warnings: a pull request that breaks the model says so,
    and never fails because of it."""
    from dualdeploy.checks import annotations
    from dualdeploy.jobs import common
    from dualdeploy.render import render

    try:
        findings = common.check_model(Git(args.repo), config, args.repo, branch=branch)
    except DualDeployError as error:
        findings = ()
        actions_io.annotate("warning", f"the config checks could not run: {error.one_line()}", title="dualdeploy check")
    if not findings:
        return
    stream = sys.stderr if args.format == "json" else sys.stdout
    for line in annotations(findings, error_level="warning"):
        print(line, file=stream, flush=True)
    actions_io.append_summary(render("check_findings.md.j2", findings=findings, config=config.path))


def publish_to_pull_request(
    impact: Impact,
    config: Config,
    event_name: str,
    event: dict,
    args: argparse.Namespace,
    branch: str = "main",
    *,
    config_edit: str | None = None,
    remembered: bool = False,
) -> str:
    """Keep the sticky comment and the labels in step with the impact; degrade to a warning without rights."""
    from dualdeploy import github
    from dualdeploy.pull_requests import render_comment as render_after_merge

    pull = event["pull_request"]
    repository = (event.get("repository") or {}).get("full_name") or os.environ.get("GITHUB_REPOSITORY", "")
    head_repository = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    if event_name == "pull_request" and head_repository and head_repository != repository:
        warn_read_only(
            f"this pull request comes from the fork {head_repository}, so the job's token is read-only",
            fix=(
                "To comment and label on fork pull requests, run detect-agent-impact under `pull_request_target` "
                f"as in dualdeploy/dual-deploy-guard's {FORK_EXAMPLE} (it never runs the fork's code)."
            ),
        )
        return ""
    token = args.github_token or ""
    actions_io.mask(token)
    client = github.connect(token)
    repo = client.get_repo(repository)
    issue = repo.get_issue(int(pull["number"]))
    comment_url = ""
    try:
        # Read first, write after: the comment's hidden state says which labels the suite added.
        found = github.sticky_comments(issue, COMMENT_MARKER) if args.comment else []
        previous = read_hidden_state(found[0].body) if found else {}
        present = github.label_names(issue) if args.labels else set()
        life = closed_life(impact, pull, previous, remembered=remembered) if event.get("action") == "closed" else None
        wanted = closed_labels(life) if life else wanted_labels(impact.requires_manual_deploy)
        plan = plan_labels(
            wanted if args.labels else set(),
            present,
            labels_added_before(previous, legacy_comment=bool(found) and not previous, present=present),
            remembers=bool(args.comment),
        )
        if args.comment:
            state = {**previous, "labels_added": list(plan.labels_added)} if args.labels else previous
            if life is not None:
                body = render_after_merge(life, config, actions_io.repo_url(), life.to_state(state), branch)
            else:
                manual = sorted(component.name for component in impact.manual_components)
                state = {**{k: v for k, v in state.items() if k not in LIFE_KEYS}, "manual": manual}
                body = render_comment(
                    impact,
                    config,
                    actions_io.repo_url(),
                    branch,
                    state=state,
                    kept_by_hand=plan.kept_by_hand,
                    config_edit=config_edit,
                    pull=int(pull["number"]),
                )
            action, comment_url = github.upsert_sticky_comment(issue, COMMENT_MARKER, body, found=found)
            print(f"PR comment {action}: {comment_url}", file=sys.stderr)
            if action != "unchanged" and impact.requires_manual_deploy and life is None:
                notify_slack(impact, config, pull, repository, comment_url, branch)
        if args.labels:
            github.apply_labels(repo, issue, plan.to_add, plan.to_remove)
            kept = f"; kept (added by hand): {', '.join(plan.kept_by_hand)}" if plan.kept_by_hand else ""
            print(
                f"labels added: {', '.join(plan.to_add) or 'none'}; removed: {', '.join(plan.to_remove) or 'none'}"
                + kept,
                file=sys.stderr,
            )
    except github.PermissionMissing as error:
        warn_read_only(error.message)
    return comment_url


def notify_slack(
    impact: Impact, config: Config, pull: dict, repository: str, comment_url: str, branch: str = "main"
) -> None:
    """The opt-in PR notice: sent when the comment is new or changed, so each push does not repeat it."""
    from dualdeploy.notify import SlackComponent, send, webhook_from_env

    webhook = webhook_from_env("DD_SLACK_WEBHOOK_URL")
    if not webhook:
        return
    from dualdeploy.notify import render_slack

    links = deploy_links(config, actions_io.repo_url())
    commands = deploy_commands(config, branch)
    payload = render_slack(
        "slack/pr_notice.json.j2",
        repo=repository,
        pr_number=pull.get("number"),
        pr_title=pull.get("title") or "",
        pr_url=pull.get("html_url") or comment_url,
        components=[
            SlackComponent(name=c.name, via=c.via, deploy_url=links[c.name], deploy_command=commands[c.name])
            for c in impact.manual_components
        ],
    )
    send(webhook, payload)


GRANT_WRITE = "Grant `pull-requests: write` and `issues: write` to comment and label."


def warn_read_only(reason: str, *, fix: str = GRANT_WRITE) -> None:
    message = f"Dual Deploy Guard could not update the pull request: {reason}. The job summary has the result. {fix}"
    actions_io.annotate("warning", message, title="dualdeploy: read-only token")
    actions_io.append_summary(f"> [!WARNING]\n> {message}\n")

"""`dualdeploy detect`: which components a change impacts, as JSON, Markdown or text.

In a workflow it also sets the step outputs and the job summary; on a pull request it keeps the
sticky comment and the labels up to date (`publish_to_pull_request`).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from dualdeploy import actions_io
from dualdeploy.changes import Git, Range, pull_request_range, push_range
from dualdeploy.config import DEFAULT_CONFIG_PATH, Config, load_config
from dualdeploy.errors import DualDeployError
from dualdeploy.impact import Impact, compute_impact
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


def run(args: argparse.Namespace) -> int:
    git = Git(args.repo)
    config = load_config(
        Path(args.repo) / (args.config or DEFAULT_CONFIG_PATH), display_path=args.config or DEFAULT_CONFIG_PATH
    )
    event_name, event = actions_io.load_event()
    change_range = select_range(git, args, event_name, event)
    impact = compute_impact(
        config, git.changed_files(change_range.base, change_range.head), base=change_range.base, head=change_range.head
    )
    branch = deploy_branch(git)
    print(format_impact(impact, config, args.format, branch))
    if actions_io.in_actions():
        report_in_actions(impact, config, event_name, event, args, branch)
    return 0


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
        if event_name in ("pull_request", "pull_request_target") and "pull_request" in event:
            pull = event["pull_request"]
            base, head, mode = pull["base"]["sha"], pull["head"]["sha"], "pr"
        elif event_name == "merge_group" and "merge_group" in event:
            base, head, mode = event["merge_group"]["base_sha"], event["merge_group"]["head_sha"], "pr"
        elif event_name == "push" and event.get("after"):
            base, head, mode = event.get("before") or "0" * 40, event["after"], "push"
    head = head or "HEAD"
    if (mode or "pr") == "push":
        return push_range(git, base or "0" * 40, head)
    return pull_request_range(git, base or git.default_branch(), head)


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
) -> str:
    """The sticky comment; on the pull request it carries the suite's memory (`state`), hidden."""
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
        ),
        FILE_BUDGETS,
    )


def format_impact(impact: Impact, config: Config, output_format: str, branch: str = "main") -> str:
    if output_format == "json":
        # Compact separators keep json on its C encoder (indent= falls back to pure Python).
        return json.dumps(impact.to_json(), separators=(", ", ": "))
    if output_format == "markdown":
        return render_comment(impact, config, actions_io.repo_url(), branch)
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


PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")


def closed_life(impact: Impact, pull: dict, previous: dict) -> PullRequestLife:
    """The pull request's life from its `closed` event: merged (when, as which commit) or not;
    deploys a rerun finds already recorded are kept."""
    number = int(pull["number"])
    manual = tuple(sorted(component.name for component in impact.manual_components))
    if not (pull.get("merged") and pull.get("merge_commit_sha")):
        return PullRequestLife(number, manual=manual, closed_unmerged=True)
    known = life_from_state(number, previous)
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
    impact: Impact, config: Config, event_name: str, event: dict, args: argparse.Namespace, branch: str = "main"
) -> None:
    """Outputs and the job summary always; on a pull request also the sticky comment and the labels."""
    manual = [component.name for component in impact.manual_components]
    actions_io.set_output("components", json.dumps(impact.to_json()["components"]))
    actions_io.set_output("manual-components", json.dumps(manual))
    actions_io.set_output("requires-manual-deploy", "true" if manual else "false")
    comment = render_comment(impact, config, actions_io.repo_url(), branch)
    comment_url = ""
    if event_name in PULL_REQUEST_EVENTS and "pull_request" in event and (args.comment or args.labels):
        comment_url = publish_to_pull_request(impact, config, comment, event_name, event, args, branch)
    actions_io.set_output("comment-url", comment_url)
    actions_io.append_summary(comment)


def publish_to_pull_request(
    impact: Impact,
    config: Config,
    comment: str,
    event_name: str,
    event: dict,
    args: argparse.Namespace,
    branch: str = "main",
) -> str:
    """Keep the sticky comment and the labels in step with the impact; degrade to a warning without rights."""
    from dualdeploy import github
    from dualdeploy.pull_requests import render_comment as render_after_merge

    pull = event["pull_request"]
    repository = (event.get("repository") or {}).get("full_name") or os.environ.get("GITHUB_REPOSITORY", "")
    head_repository = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    if event_name == "pull_request" and head_repository and head_repository != repository:
        warn_read_only(f"this pull request comes from the fork {head_repository}, so the job's token is read-only")
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
        life = closed_life(impact, pull, previous) if event.get("action") == "closed" else None
        wanted = closed_labels(life) if life else wanted_labels(impact.requires_manual_deploy)
        plan = plan_labels(
            wanted if args.labels else set(),
            present,
            labels_added_before(previous),
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
                    impact, config, actions_io.repo_url(), branch, state=state, kept_by_hand=plan.kept_by_hand
                )
            action, comment_url = github.upsert_sticky_comment(issue, COMMENT_MARKER, body, found=found)
            print(f"PR comment {action}: {comment_url}")
            if action != "unchanged" and impact.requires_manual_deploy and life is None:
                notify_slack(impact, config, pull, repository, comment_url, branch)
        if args.labels:
            github.apply_labels(repo, issue, plan.to_add, plan.to_remove)
            kept = f"; kept (added by hand): {', '.join(plan.kept_by_hand)}" if plan.kept_by_hand else ""
            print(
                f"labels added: {', '.join(plan.to_add) or 'none'}; removed: {', '.join(plan.to_remove) or 'none'}"
                + kept
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


def warn_read_only(reason: str) -> None:
    message = (
        f"Dual Deploy Guard could not update the pull request: {reason}. The job summary has the result. "
        "Grant `pull-requests: write` and `issues: write` to comment and label."
    )
    actions_io.annotate("warning", message, title="dualdeploy: read-only token")
    actions_io.append_summary(f"> [!WARNING]\n> {message}\n")

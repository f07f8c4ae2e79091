"""What the suite keeps on a pull request besides the comment's text: its labels, and its memory.

The memory is the sticky comment's hidden state (`markers.hidden_state`): a JSON object the suite
reads back on the next run. Each feature owns its keys and leaves the others as they are:
`labels_added` lists the labels the suite itself put on the pull request, so that it removes only
those, and a label a person added stays whatever the suite computes.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMENT_MARKER = "<!-- dualdeploy:detect-agent-impact -->"
MANAGED_LABELS = ("agent-changes", "requires-manual-deploy")
LABELS_ADDED = "labels_added"


@dataclass(frozen=True)
class LabelPlan:
    """What to do to the suite's labels on one pull request, and what to remember afterwards."""

    to_add: tuple[str, ...]
    to_remove: tuple[str, ...]
    labels_added: tuple[str, ...]  # the new value of the hidden state's `labels_added`
    kept_by_hand: tuple[str, ...]  # no longer true, but a person added them: the suite leaves them


def wanted_labels(requires_manual_deploy: bool) -> set[str]:
    """The suite's labels that are true for an impact."""
    return set(MANAGED_LABELS) if requires_manual_deploy else set()


def labels_added_before(state: dict) -> set[str]:
    """The labels the suite recorded as its own (lower case); anything unreadable counts as none."""
    value = state.get(LABELS_ADDED)
    if not isinstance(value, list):
        return set()
    return {name.lower() for name in value if isinstance(name, str)}


def plan_labels(
    wanted: set[str],
    present: set[str],
    added_before: set[str],
    *,
    managed: tuple[str, ...] = MANAGED_LABELS,
    remembers: bool = True,
) -> LabelPlan:
    """Add the wanted labels that are missing; remove a managed label only when the suite added it
    (it is in `added_before`) and it is no longer wanted.

    A label stays recorded until a run sees it gone, so a removal that failed half way is retried
    rather than forgotten. Without a place to remember (`remembers` false: no sticky comment),
    the suite cannot tell its labels from a person's, so it adds and never removes.
    """
    present = {name.lower() for name in present}
    added_before = {name.lower() for name in added_before} & present if remembers else set()
    to_add = tuple(sorted(name for name in wanted if name.lower() not in present))
    unwanted = [name for name in managed if name not in wanted and name.lower() in present]
    to_remove = tuple(sorted(name for name in unwanted if name.lower() in added_before))
    kept_by_hand = tuple(sorted(name for name in unwanted if name.lower() not in added_before))
    recorded = {name for name in managed if name.lower() in added_before} | set(to_add)
    return LabelPlan(
        to_add=to_add,
        to_remove=to_remove,
        labels_added=tuple(sorted(recorded)) if remembers else (),
        kept_by_hand=kept_by_hand if remembers else (),
    )


__all__ = [
    "COMMENT_MARKER",
    "LABELS_ADDED",
    "MANAGED_LABELS",
    "LabelPlan",
    "labels_added_before",
    "plan_labels",
    "wanted_labels",
]

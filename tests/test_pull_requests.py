"""The label plan on plain values: the suite removes a label only when it added it."""

from dualdeploy.pull_requests import MANAGED_LABELS, labels_added_before, plan_labels, wanted_labels

ALL = set(MANAGED_LABELS)


def test_missing_wanted_labels_are_added_and_remembered() -> None:
    plan = plan_labels(ALL, {"bug"}, set())
    assert plan.to_add == ("agent-changes", "requires-manual-deploy") and plan.to_remove == ()
    assert plan.labels_added == ("agent-changes", "requires-manual-deploy") and plan.kept_by_hand == ()


def test_only_the_suites_own_labels_are_removed() -> None:
    plan = plan_labels(set(), {"agent-changes", "requires-manual-deploy"}, {"agent-changes"})
    assert plan.to_remove == ("agent-changes",)
    assert plan.kept_by_hand == ("requires-manual-deploy",)
    assert plan.labels_added == ("agent-changes",)  # remembered until a run sees it gone


def test_a_removed_label_is_forgotten_once_gone() -> None:
    plan = plan_labels(set(), set(), {"agent-changes", "requires-manual-deploy"})
    assert plan == plan_labels(set(), set(), set())
    assert plan.labels_added == () and plan.to_remove == ()


def test_a_present_wanted_label_a_person_added_is_not_claimed() -> None:
    plan = plan_labels(ALL, {"Requires-Manual-Deploy"}, set())
    assert plan.to_add == ("agent-changes",) and plan.labels_added == ("agent-changes",)


def test_without_memory_nothing_is_removed() -> None:
    plan = plan_labels(set(), ALL, ALL, remembers=False)
    assert plan.to_remove == () and plan.labels_added == () and plan.kept_by_hand == ()


def test_state_is_read_defensively() -> None:
    assert labels_added_before({"labels_added": ["Agent-Changes", 3]}) == {"agent-changes"}
    assert labels_added_before({"labels_added": "agent-changes"}) == set()
    assert wanted_labels(True) == ALL and wanted_labels(False) == set()


def test_a_comment_from_before_the_hidden_state_owns_the_labels_present() -> None:
    assert labels_added_before({}, legacy_comment=True, present={"Agent-Changes", "bug"}) == {"agent-changes"}
    assert labels_added_before({}, present={"agent-changes"}) == set()

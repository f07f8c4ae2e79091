"""The alert issue's pure parts: which mode a marker belongs to, labels to restore, assignees."""

from dualdeploy.alerts import alert_marker, issue_mode_of, missing_labels, plan_assignees, read_assigned


def test_the_marker_says_the_mode() -> None:
    assert issue_mode_of(alert_marker(None) + "\nbody") == "single"
    assert issue_mode_of(alert_marker("tenant-agent") + "\nbody") == "per-component"
    assert issue_mode_of("\ufeff" + alert_marker(None)) == "single"
    assert issue_mode_of("Quoting it:\n" + alert_marker(None)) is None
    assert issue_mode_of(None) is None


def test_missing_labels_ignore_case() -> None:
    assert missing_labels({"Alert", "triaged"}) == ["deployment"]
    assert missing_labels({"deployment", "alert"}) == []


def test_new_owners_are_assigned_and_only_the_suites_leave() -> None:
    plan = plan_assignees(["carol"], {"alice", "bob"}, {"alice"})
    assert plan.to_assign == ("carol",) and plan.to_unassign == ("alice",) and plan.assigned == ("carol",)


def test_an_owner_a_person_unassigned_is_not_assigned_again() -> None:
    plan = plan_assignees(["carol"], set(), {"carol"})
    assert plan.to_assign == () and plan.to_unassign == () and plan.assigned == ("carol",)


def test_an_owner_a_person_assigned_first_is_not_the_suites() -> None:
    plan = plan_assignees(["Bob"], {"bob"}, set())
    assert plan.to_assign == () and plan.assigned == ()
    assert plan_assignees([], {"bob"}, set()).to_unassign == ()


def test_assigned_state_is_read_defensively() -> None:
    assert read_assigned({"assigned": ["a", 1]}) == {"a"} and read_assigned({"assigned": "a"}) == set()

import json
import socket
import time
from pathlib import Path

import jinja2
import pytest

from dualdeploy import notify
from dualdeploy.changes import Commit
from dualdeploy.drift import STALE, Deployment, Drift, PendingCommit
from dualdeploy.errors import DualDeployError
from dualdeploy.notify import (
    EXIT_NOTIFY_FAILED,
    NotifyResult,
    SafeSlack,
    SlackComponent,
    escape_mrkdwn,
    fingerprint,
    fit_slack_limits,
    fit_text,
    render_slack,
    send,
    slack_link,
    slack_mention,
    webhook_from_env,
)
from slackreceiver import NO_SERVICE, OK, RATE_LIMITED, SERVER_ERROR, Answer, slow
from slackreceiver import slack_receiver as slack_receiver  # noqa: F401  (the fixture)

HOSTILE = '<!channel> & <https://evil.example|x> @here "quoted" back\\slash\nsecond line'
RAW_MARKUP = ("<!channel>", "<https://evil.example|x>", "@here")
ESCAPED = ("&lt;!channel&gt;", "&amp;", "&lt;https://evil.example|x&gt;", "@\u200bhere")
SECRET = "SECRETxyz"


@pytest.fixture(autouse=True)
def actions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run as in GitHub Actions, with the job summary in a file of the test's own."""
    summary = tmp_path / "summary.md"
    summary.touch()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def pending(*subjects: str) -> tuple[PendingCommit, ...]:
    return tuple(
        PendingCommit(Commit(f"{index:040x}", subject, "dev", 1_700_000_000, 1_700_000_000 + index, ("a",)), ("a",))
        for index, subject in enumerate(subjects, start=1)
    )


def hostile_component(**fields: object) -> SlackComponent:
    values = dict(
        name=HOSTILE,
        pending=pending(HOSTILE, "older"),
        waited="2 h",
        lag=HOSTILE,
        deployed_sha="b" * 40,
        deploy_url="https://github.com/o/r/actions/workflows/deploy-agents.yml",
        via=("agent-shared", HOSTILE),
    )
    values.update(fields)
    return SlackComponent(**values)  # type: ignore[arg-type]


def contexts(component: SlackComponent) -> dict[str, dict]:
    return {
        "slack/monitor_alert.json.j2": dict(
            repo="o/r", overdue=[component], issue_url="https://github.com/o/r/issues/1", mention=HOSTILE
        ),
        "slack/monitor_recovery.json.j2": dict(
            repo="o/r", deployed=[component], issue_url="https://github.com/o/r/issues/1"
        ),
        "slack/sync_check_stale.json.j2": dict(
            repo="o/r", target_sha="c" * 40, stale=[component], run_url="https://github.com/o/r/actions/runs/9"
        ),
        "slack/pr_notice.json.j2": dict(
            repo="o/r", pr_number=12, pr_title=HOSTILE, pr_url="https://github.com/o/r/pull/12", components=[component]
        ),
    }


TEMPLATES = sorted(contexts(hostile_component()))


def texts(node: object) -> list[str]:
    """Every `text` string of a payload, nested ones included."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(texts(item))
    return found


def assert_block_kit(payload: dict) -> None:
    assert isinstance(payload["text"], str) and payload["text"]
    assert 0 < len(payload["blocks"]) <= 50
    for block in payload["blocks"]:
        assert block["type"] in ("header", "section", "context", "divider")
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert block["text"]["type"] == "mrkdwn" and len(block["text"]["text"]) <= 3000
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
    assert json.loads(json.dumps(payload)) == payload


# --- templates -------------------------------------------------------------------------------


@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_render_block_kit_with_hostile_values_as_text(template: str) -> None:
    payload = render_slack(template, **contexts(hostile_component())[template])
    assert_block_kit(payload)
    fields = texts(payload)
    for markup in RAW_MARKUP:
        assert not any(markup in text for text in fields), markup
    shown = "\n".join(fields)
    for escaped in ESCAPED:
        assert escaped in shown, escaped
    assert '"quoted" back\\slash second line' in shown  # one line, quotes intact, JSON unbroken


def test_monitor_alert_lists_components_with_links() -> None:
    component = SlackComponent(
        name="tenant-agent",
        pending=pending("feat: retry tool calls", "fix: prompt"),
        waited="3 h 5 min",
        deploy_url="https://github.com/o/r/actions/workflows/deploy-agents.yml",
        deploy_command="gh workflow run deploy-agents.yml --ref main -f agent=tenant",
    )
    payload = render_slack(
        "slack/monitor_alert.json.j2",
        repo="o/r",
        overdue=[component],
        issue_url="https://github.com/o/r/issues/7",
        mention="<!subteam^S0123ABC|@agents-team>",
    )
    shown = "\n".join(texts(payload))
    assert "<!subteam^S0123ABC|@agents-team>" in shown
    assert "<https://github.com/o/r/issues/7|Open the tracking issue>" in shown
    assert "<https://github.com/o/r/actions/workflows/deploy-agents.yml|Run the deploy workflow>" in shown
    assert "\n`gh workflow run deploy-agents.yml --ref main -f agent=tenant`" in shown
    assert "*tenant-agent* · 2 pending commits\nNewest: feat: retry tool calls" in shown
    assert "waiting 3 h 5 min" in shown
    assert "tenant-agent" in payload["text"]


def test_a_mention_must_be_slack_mention_markup() -> None:
    assert slack_mention("<!subteam^S0123ABC>") == "<!subteam^S0123ABC>"
    assert slack_mention(" <@U024BE7LH>  <!here> ") == "<@U024BE7LH> <!here>"
    assert slack_mention("<https://evil.example|x>") == "&lt;https://evil.example|x&gt;"
    assert slack_mention("<!subteam^S1> and text") == "&lt;!subteam^S1&gt; and text"
    assert slack_mention(SafeSlack("<#C123>")) == "<#C123>"


def test_links_are_http_only_and_cannot_be_broken_out_of() -> None:
    assert slack_link("javascript:alert(1)", "<b>") == "&lt;b&gt;"
    assert slack_link("https://x.example/a?b=1&c=|<!channel>", "go") == (
        "<https://x.example/a?b=1&amp;c=%7C%3C!channel%3E|go>"
    )
    assert escape_mrkdwn("a & b\n<c>") == "a &amp; b &lt;c&gt;"


def test_derived_from_a_drift() -> None:
    drift = Drift("tenant-agent", STALE, Deployment("tenant-agent", "d" * 40), pending=pending("new", "old"))
    component = SlackComponent.from_drift(drift, now=1_700_000_000 + 7_200, deploy_url="https://example.com/run")
    assert component.name == "tenant-agent" and len(component.pending) == 2
    assert component.waited == "1 h 59 min" and component.deployed_sha == "d" * 40


def test_many_components_stay_within_slacks_limits() -> None:
    overdue = [hostile_component(name=f"agent-{index}", pending=pending("x" * 5000)) for index in range(60)]
    payload = render_slack("slack/monitor_alert.json.j2", repo="o/r", overdue=overdue, issue_url=None)
    assert_block_kit(payload)
    assert "…and 40 more" in "\n".join(texts(payload))


def test_long_text_is_cut_at_lines_and_says_how_many_are_left_out() -> None:
    lines = [f"• *agent-{index}* &amp; {'x' * 20}" for index in range(300)]
    fitted = fit_text("\n".join(lines), 3000)
    assert len(fitted) <= 3000
    kept, note = fitted.rsplit("\n", 1)
    assert note == f"…and {300 - len(kept.splitlines())} more"
    one_line = fit_text("&amp;" * 1000, 3000)
    assert len(one_line) <= 3000 and one_line.endswith("&amp;…")


def test_more_than_fifty_blocks_are_cut_with_a_note() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": str(index)}} for index in range(60)]
    payload = fit_slack_limits({"text": "t", "blocks": blocks})
    assert len(payload["blocks"]) == 50
    assert payload["blocks"][-1]["elements"][0]["text"] == "…and 11 more"


def test_a_template_that_renders_invalid_json_is_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = notify.slack_environment().overlay(
        loader=jinja2.DictLoader({"slack/broken.json.j2": '{"text": "{{ value }}", "blocks": [],}'})
    )
    monkeypatch.setattr(notify, "slack_environment", lambda: broken)
    with pytest.raises(ValueError, match="slack/broken.json.j2 rendered invalid JSON"):
        render_slack("slack/broken.json.j2", value="x")


def test_jinja_tojson_is_not_available_to_bypass_escaping() -> None:
    env = notify.slack_environment()
    with pytest.raises(jinja2.TemplateAssertionError):
        env.from_string('{"text": {{ value | tojson }}}')


def test_fingerprint_ignores_how_long_and_which_run_but_not_what() -> None:
    def alert(component: SlackComponent) -> dict:
        return render_slack("slack/monitor_alert.json.j2", repo="o/r", overdue=[component], issue_url=None)

    base = hostile_component()
    assert fingerprint(alert(base)) == fingerprint(alert(hostile_component(waited="3 d")))
    assert fingerprint(alert(base)) != fingerprint(alert(hostile_component(pending=pending("newer", *["x"] * 2))))

    def stale(run_url: str) -> dict:
        return render_slack(
            "slack/sync_check_stale.json.j2", repo="o/r", target_sha="c" * 40, stale=[base], run_url=run_url
        )

    assert fingerprint(stale("https://github.com/o/r/actions/runs/1")) == fingerprint(
        stale("https://github.com/o/r/actions/runs/2")
    )


# --- sending ---------------------------------------------------------------------------------

PAYLOAD = {"text": "fallback", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]}


def assert_secret_kept(url: str, *texts_seen: str) -> None:
    for text in texts_seen:
        visible = "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))
        assert url not in visible
        assert SECRET not in visible
        assert "/services/T000" not in visible
        assert "T000/B000" not in visible


def test_send_posts_the_payload_once(slack_receiver, capfd, actions: Path) -> None:
    url = slack_receiver.webhook_url()
    result = send(url, PAYLOAD)
    assert result == NotifyResult(sent=True)
    assert len(slack_receiver.posts) == 1
    post = slack_receiver.posts[0]
    assert post.path == f"/services/T000/B000/{SECRET}"
    assert post.body == PAYLOAD
    assert post.headers["Content-Type"].startswith("application/json")
    out, err = capfd.readouterr()
    assert f"::add-mask::{url}" in out.splitlines()
    assert_secret_kept(url, out, err, actions.read_text())


def test_a_rendered_message_arrives_as_rendered(slack_receiver) -> None:
    payload = render_slack("slack/pr_notice.json.j2", **contexts(hostile_component())["slack/pr_notice.json.j2"])
    assert send(slack_receiver.webhook_url(), payload).sent
    assert slack_receiver.posts[0].body == payload


def test_a_server_error_is_retried(slack_receiver) -> None:
    slack_receiver.answer(SERVER_ERROR, OK)
    assert send(slack_receiver.webhook_url(), PAYLOAD).sent
    assert [post.body for post in slack_receiver.posts] == [PAYLOAD, PAYLOAD]


def test_retries_are_bounded(slack_receiver, capfd) -> None:
    slack_receiver.answer(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, SERVER_ERROR)
    result = send(slack_receiver.webhook_url(), PAYLOAD)
    assert not result.sent and "Slack answered 500" in result.error
    assert len(slack_receiver.posts) == 3  # one try, two retries
    assert "::warning title=dualdeploy%3A Slack::Slack notification not sent" in capfd.readouterr().out


def test_a_rate_limit_is_waited_out(slack_receiver) -> None:
    slack_receiver.answer(RATE_LIMITED, OK)
    started = time.monotonic()
    assert send(slack_receiver.webhook_url(), PAYLOAD).sent
    assert time.monotonic() - started >= 1  # Retry-After: 1
    assert len(slack_receiver.posts) == 2


def test_a_long_retry_after_is_not_waited_for(slack_receiver) -> None:
    slack_receiver.answer(Answer(429, "rate_limited", {"Retry-After": "120"}))
    started = time.monotonic()
    result = send(slack_receiver.webhook_url(), PAYLOAD)
    assert time.monotonic() - started < 5
    assert not result.sent and "Slack answered 429 rate_limited" in result.error
    assert len(slack_receiver.posts) == 1


def test_a_removed_webhook_is_a_warning_that_says_what_to_do(slack_receiver, capfd, actions: Path) -> None:
    url = slack_receiver.webhook_url()
    slack_receiver.answer(NO_SERVICE)
    result = send(url, PAYLOAD)
    assert not result.sent
    assert "Slack answered 404 no_service" in result.error
    assert "create a new incoming webhook" in result.error
    assert len(slack_receiver.posts) == 1  # a 4xx is not retried
    out, err = capfd.readouterr()
    assert any(line.startswith("::warning ") and "404 no_service" in line for line in out.splitlines())
    summary = actions.read_text()
    assert "[!WARNING]" in summary and "404 no\\_service" in summary
    assert_secret_kept(url, out, err, summary, result.error)


def test_fail_on_error_makes_it_fatal(slack_receiver, capfd, actions: Path) -> None:
    url = slack_receiver.webhook_url()
    slack_receiver.answer(NO_SERVICE)
    with pytest.raises(DualDeployError) as raised:
        send(url, PAYLOAD, fail_on_error=True)
    assert raised.value.exit_status == EXIT_NOTIFY_FAILED == 1
    assert "404 no_service" in str(raised.value)
    out, err = capfd.readouterr()
    assert "::warning" not in out  # the CLI reports the error itself
    assert "fail-on-notify-error" in actions.read_text()
    assert_secret_kept(url, out, err, actions.read_text(), str(raised.value), repr(raised.value))


def test_a_timeout_is_a_warning_and_not_retried(slack_receiver, capfd, actions: Path) -> None:
    url = slack_receiver.webhook_url()
    slack_receiver.answer(slow(5))
    started = time.monotonic()
    result = send(url, PAYLOAD, timeout=0.5)
    assert time.monotonic() - started < 4
    assert not result.sent and "did not answer within 0.5 s" in result.error
    assert len(slack_receiver.posts) == 1
    out, err = capfd.readouterr()
    assert "::warning" in out
    assert_secret_kept(url, out, err, actions.read_text(), result.error)


def test_no_connection_is_a_warning(capfd, actions: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/T000/B000/{SECRET}"
    result = send(url, PAYLOAD)
    assert not result.sent and "could not reach Slack" in result.error
    out, err = capfd.readouterr()
    assert_secret_kept(url, out, err, actions.read_text(), result.error)


def test_an_error_that_quotes_the_url_is_scrubbed(slack_receiver, monkeypatch, capfd, actions: Path) -> None:
    url = slack_receiver.webhook_url()

    def explode(self, body, headers=None):
        raise RuntimeError(f"cannot post to {url} (path /services/T000/B000/{SECRET}, hooks.slack.com/services/X/Y/Z)")

    monkeypatch.setattr("slack_sdk.webhook.WebhookClient.send_dict", explode)
    result = send(url, PAYLOAD)
    assert not result.sent and "RuntimeError" in result.error and "[webhook]" in result.error
    assert "hooks.slack.com/services/X" not in result.error
    out, err = capfd.readouterr()
    assert_secret_kept(url, out, err, actions.read_text(), result.error)


def test_a_secret_that_is_not_a_url_is_reported_without_its_value(capfd) -> None:
    result = send(f"xoxb-{SECRET}", PAYLOAD)
    assert not result.sent and "does not hold an http(s) URL" in result.error
    assert SECRET not in result.error and SECRET not in capfd.readouterr().err


def test_outside_actions_the_warning_goes_to_stderr(slack_receiver, capfd, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS")
    url = slack_receiver.webhook_url()
    slack_receiver.answer(NO_SERVICE)
    assert not send(url, PAYLOAD).sent
    out, err = capfd.readouterr()
    assert out == ""  # no ::add-mask:: and no annotation outside Actions
    assert err.startswith("dualdeploy: warning: Slack notification not sent: Slack answered 404")
    assert_secret_kept(url, out, err)


@pytest.mark.parametrize("webhook", [None, "", "  "])
def test_no_webhook_is_skipped(webhook, slack_receiver, capfd) -> None:
    assert send(webhook, PAYLOAD) == NotifyResult(sent=False, skipped_reason="no webhook configured")
    assert slack_receiver.posts == []
    assert capfd.readouterr() == ("", "")


def test_the_webhook_comes_from_the_named_variable_masked(monkeypatch, capfd) -> None:
    url = f"https://hooks.slack.com/services/T000/B000/{SECRET}"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f" {url}\n")
    assert webhook_from_env("SLACK_WEBHOOK_URL") == url
    out = capfd.readouterr().out.splitlines()
    assert f"::add-mask::{url}" in out and f"::add-mask::/services/T000/B000/{SECRET}" in out
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "")
    assert webhook_from_env("SLACK_WEBHOOK_URL") is None
    assert webhook_from_env("DD_NOT_SET_ANYWHERE") is None

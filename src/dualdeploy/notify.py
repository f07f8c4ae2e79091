"""Slack: the text rules of its messages, and sending them through an incoming webhook.

Messages are Block Kit payloads rendered from `templates/slack/*.json.j2` by
`render_slack`, in a Jinja environment of their own (built here, since its rules are
Slack's): every `{{ expression }}` is escaped for mrkdwn (`&`, `<`, `>` become entities, so a
commit subject like `<!channel>` is shown, not obeyed) and encoded for a JSON string, so a value
can neither mention anybody nor break the JSON. Slack markup comes only from the template text
and from the `link`, `mention` and `short` filters.

The webhook URL is a secret: it is masked as soon as it is read, and no log line, summary or error
built here contains it, nor its path. A failed send is a warning (the GitHub side of the run is
already done) unless the caller asks for it to be fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from urllib.error import URLError
from urllib.parse import quote, urlsplit

import jinja2
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from dualdeploy import actions_io
from dualdeploy.drift import Drift, PendingCommit
from dualdeploy.errors import DualDeployError
from dualdeploy.render import escape_markdown, format_duration, new_environment

# Slack's Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
BLOCK_LIMIT = 50
FALLBACK_TEXT_LIMIT = 3000

MAX_RETRIES = 2
# A longer Retry-After than this is not waited for: the job would stall for a notice.
MAX_RETRY_AFTER_SECONDS = 30
# A failed send fails the step like a gap does; 2 stays for errors in the config or the command.
EXIT_NOTIFY_FAILED = 1


class SafeSlack(str):
    """Text already fit for Slack mrkdwn as it is (markup the suite wrote or checked)."""


def escape_mrkdwn(value: object) -> SafeSlack:
    """A value as plain text in Slack mrkdwn: one line, no link, no mention, no channel ping."""
    if isinstance(value, SafeSlack):
        return value
    text = " ".join(str(value).splitlines()) if value is not None else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width space after @ keeps a bare "@here" inert even where Slack links names.
    return SafeSlack(text.replace("@", "@\u200b"))


def slack_link(url: object, label: object) -> SafeSlack:
    """`<url|label>` for an http(s) URL; just the label, escaped, for anything else."""
    text = "" if url is None else str(url).strip()
    if urlsplit(text).scheme.lower() not in ("http", "https"):
        return escape_mrkdwn(label)
    # `|` would end the URL early and `<` `>` the link; `&` becomes the entity Slack expects.
    target = quote(text, safe=":/?#&=%~+,;@!$'*()[]").replace("&", "&amp;")
    return SafeSlack(f"<{target}|{escape_mrkdwn(label)}>")


_MENTION = r"<(?:!subteam\^[A-Za-z0-9]+(?:\|[^<>&|]*)?|@[UW][A-Z0-9]+|!here|!channel)>"
_MENTIONS = re.compile(rf"\s*{_MENTION}(?:\s+{_MENTION})*\s*")


def slack_mention(value: object) -> SafeSlack:
    """The configured mention (`<!subteam^ID>`, `<@U…>`, `<!here>`…) as markup; anything else as text."""
    text = "" if value is None else str(value)
    if isinstance(value, SafeSlack) or _MENTIONS.fullmatch(text):
        return SafeSlack(" ".join(text.split()))
    return escape_mrkdwn(text)


def short_sha(sha: object) -> SafeSlack:
    """The first 7 characters of a sha as inline code."""
    if not sha:
        return SafeSlack("")
    return SafeSlack("`" + escape_mrkdwn(str(sha)[:7]).replace("`", "'") + "`")


def _finalize(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = value if isinstance(value, SafeSlack) else escape_mrkdwn(value)
    # Every expression sits inside a JSON string of the template: encode it for one.
    return json.dumps(str(text), ensure_ascii=False)[1:-1]


@cache
def slack_environment() -> jinja2.Environment:
    """The Jinja environment of `templates/slack/*.json.j2` (used by `render_slack`)."""
    env = new_environment(_finalize)
    # Jinja's tojson writes "<" as \u003c, which would reach Slack as "<" after all.
    del env.filters["tojson"]
    env.filters["link"] = slack_link
    env.filters["mention"] = slack_mention
    env.filters["short"] = short_sha
    return env


def render_slack(template: str, **context: object) -> dict:
    """A Slack Block Kit payload from `templates/slack/*.json.j2`, trimmed to Slack's limits.

    The second environment (`slack_environment`) escapes every value for Slack mrkdwn and
    for a JSON string; a template whose output is not JSON is a bug and raises ValueError.
    """
    text = slack_environment().get_template(template).render(**context)
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{template} rendered invalid JSON ({error}); this is a bug in the template") from error
    return fit_slack_limits(payload)


def _cut(text: str, size: int) -> str:
    """At most `size` characters, never ending inside an `&entity;` or a `<link>`."""
    cut = text[: max(size, 0)]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut


def fit_text(text: str, limit: int) -> str:
    """Whole lines that fit in `limit` characters, then "…and N more" for the lines left out."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    for keep in range(len(lines) - 1, 0, -1):
        shown = "\n".join(lines[:keep]) + f"\n…and {len(lines) - keep} more"
        if len(shown) <= limit:
            return shown
    return _cut(text, limit - 1) + "…"


def fit_slack_limits(payload: object) -> dict:
    """Check a rendered payload's shape and trim it to Slack's limits (texts, number of blocks)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("blocks"), list):
        raise ValueError("a Slack template must render an object with a 'blocks' list")
    if isinstance(payload.get("text"), str):
        payload["text"] = fit_text(payload["text"], FALLBACK_TEXT_LIMIT)
    for block in payload["blocks"]:
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            if block.get("type") == "header":
                if len(text["text"]) > HEADER_TEXT_LIMIT:
                    text["text"] = text["text"][: HEADER_TEXT_LIMIT - 1] + "…"
            else:
                text["text"] = fit_text(text["text"], SECTION_TEXT_LIMIT)
        for element in block.get("elements", ()):
            if isinstance(element, dict) and isinstance(element.get("text"), str):
                element["text"] = fit_text(element["text"], SECTION_TEXT_LIMIT)
    blocks = payload["blocks"]
    if len(blocks) > BLOCK_LIMIT:
        left_out = len(blocks) - (BLOCK_LIMIT - 1)
        note = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {left_out} more"}]}
        payload["blocks"] = [*blocks[: BLOCK_LIMIT - 1], note]
    return payload


def fingerprint(payload: dict) -> str:
    """What a message says, as a hash: equal for two runs with nothing new to tell.

    The fallback `text` and `context` blocks are left out; templates keep what changes on every run
    (how long something has waited, which run sent it) in context blocks.
    """
    meaningful = [block for block in payload.get("blocks", ()) if block.get("type") != "context"]
    canonical = json.dumps(meaningful, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SlackComponent:
    """One component in a Slack message; each template documents the fields it reads."""

    name: str
    pending: tuple[PendingCommit, ...] = ()  # newest first
    waited: str = ""  # "2 d 4 h": how long the oldest pending commit has waited
    lag: str = ""  # recovery: from the oldest pending commit to the deploy
    deployed_sha: str | None = None
    deploy_url: str | None = None  # the deploy workflow's "Run workflow" page
    deploy_command: str | None = None  # the `gh workflow run` line, with the config's deploy-inputs
    via: tuple[str, ...] = ()  # PR notice: shared groups the change came through

    @classmethod
    def from_drift(
        cls, drift: Drift, *, now: int, deploy_url: str | None = None, deploy_command: str | None = None
    ) -> SlackComponent:
        return cls(
            name=drift.component,
            pending=drift.pending,
            waited=format_duration(drift.waiting_seconds(now)) if drift.pending else "",
            deployed_sha=drift.deployment.sha,
            deploy_url=deploy_url,
            deploy_command=deploy_command,
        )


@dataclass(frozen=True)
class NotifyResult:
    sent: bool
    skipped_reason: str = ""
    error: str = ""


def _mask_webhook(url: str) -> None:
    actions_io.mask(url)
    # The path alone is the secret too (/services/T…/B…/…); a short one would mask common text.
    path = urlsplit(url).path
    if len(path) >= 16:
        actions_io.mask(path)


def webhook_from_env(name: str) -> str | None:
    """The webhook URL from the environment variable the action maps the secret input to, masked."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    _mask_webhook(value)
    return value


_WEBHOOK_PATH = re.compile(r"(?:[\w.-]*hooks\.slack(?:-gov)?\.com)?/(?:services|workflows|triggers)/[^\s'\"<>)]*")
_PUBLIC_SEGMENTS = {"services", "workflows", "triggers"}


def scrub(text: str, url: str) -> str:
    """`text` without the webhook URL, its path, its secret parts or anything shaped like one."""
    parts = urlsplit(url)
    secrets = {url, url.rstrip("/"), parts.netloc + parts.path, quote(url, safe="")}
    if len(parts.path) > 1:
        secrets.update({parts.path, quote(parts.path, safe="")})
    secrets.update(segment for segment in parts.path.split("/") if len(segment) >= 6)
    secrets.difference_update(_PUBLIC_SEGMENTS)
    if parts.query:
        secrets.add(parts.query)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "[webhook]")
    return _WEBHOOK_PATH.sub("[webhook]", text)


class _BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retry, but not when Slack asks to wait longer than a job should."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:  # type: ignore[override]
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        for key, values in response.headers.items():
            if key.lower() == "retry-after":
                try:
                    return int(values[0]) <= MAX_RETRY_AFTER_SECONDS
                except (ValueError, IndexError):
                    return True
        return True


def _quiet_logger() -> logging.Logger:
    # slack_sdk logs failures (and at debug level the URL); nothing of it belongs in the job's log.
    logger = logging.getLogger("dualdeploy.notify.slack_sdk")
    logger.propagate = False
    logger.setLevel(logging.CRITICAL + 1)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


_REMAKE = "create a new incoming webhook in Slack and store its URL in the secret named by notify.slack.webhook-secret"
_BUG = "Slack rejected the message itself; this is a bug in Dual Deploy Guard, please report it"
_HINTS = {
    "invalid_payload": _BUG,
    "invalid_blocks": _BUG,
    "invalid_blocks_format": _BUG,
    "no_text": _BUG,
    "too_many_attachments": _BUG,
    "invalid_token": f"the webhook was revoked; {_REMAKE}",
    "no_service": f"the webhook no longer exists (removed, or its Slack app uninstalled); {_REMAKE}",
    "no_service_id": "the webhook URL is incomplete; copy it again from Slack into the secret",
    "no_team": f"the webhook's Slack workspace no longer exists; {_REMAKE}",
    "team_disabled": f"the webhook's Slack workspace is disabled; {_REMAKE}",
    "channel_not_found": f"the webhook's channel no longer exists; {_REMAKE}",
    "channel_is_archived": f"the webhook's channel is archived; unarchive it, or {_REMAKE}",
    "action_prohibited": "a Slack admin restricted posting to the webhook's channel; ask them, or use another channel",
    "posting_to_general_channel_denied": "only admins may post to that channel; use a webhook for another channel",
}
_SLACK_ERROR_CODE = re.compile(r"[a-z_]{1,60}")


def _answer_problem(status: int, body: str) -> str:
    code = body.strip() if _SLACK_ERROR_CODE.fullmatch(body.strip()) else ""
    answered = f"Slack answered {status}" + (f" {code}" if code else "")
    if code in _HINTS:
        return f"{answered}: {_HINTS[code]}"
    if status == 429:
        return f"{answered}: still rate-limited after {MAX_RETRIES} retries; the next run will try again"
    if status >= 500:
        return f"{answered}: a server error at Slack, usually brief; the next run will try again"
    if status in (401, 403):
        return f"{answered}: the webhook may not post any more; {_REMAKE}"
    if status in (404, 410):
        return f"{answered}: the webhook no longer exists; {_REMAKE}"
    return f"{answered}: unexpected; check the webhook in Slack, or {_REMAKE}"


def _post(url: str, payload: dict, timeout: float) -> str | None:
    """Send once (with slack_sdk's bounded retries); None when Slack took it, else the problem."""
    if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).netloc:
        return "the webhook secret does not hold an http(s) URL; it should start with https://hooks.slack.com/"
    client = WebhookClient(
        url,
        timeout=timeout,  # type: ignore[arg-type]  (urllib takes float seconds)
        logger=_quiet_logger(),
        retry_handlers=[
            # Connection failures before anything reached Slack. A read timeout is not retried:
            # Slack may have posted the message, and a retry could post it twice.
            ConnectionErrorRetryHandler(max_retry_count=MAX_RETRIES),
            ServerErrorRetryHandler(max_retry_count=MAX_RETRIES),
            _BoundedRateLimitRetryHandler(max_retry_count=MAX_RETRIES),
        ],
    )
    try:
        response = client.send_dict(payload)
    except TimeoutError:
        return (
            f"Slack did not answer within {timeout:g} s; the message may or may not have been posted "
            "(not retried, so it is never posted twice)"
        )
    except URLError as error:
        if isinstance(error.reason, TimeoutError):
            return f"could not connect to Slack within {timeout:g} s, even after {MAX_RETRIES} retries"
        return f"could not reach Slack ({error.reason}); check the runner's network and proxy settings"
    except Exception as error:  # noqa: BLE001  (any failure to notify must stay a warning)
        return f"could not send to Slack ({type(error).__name__}: {error})"
    if response.status_code == 200:
        return None
    return _answer_problem(response.status_code, response.body or "")


def send(webhook_url: str | None, payload: dict, *, fail_on_error: bool = False, timeout: float = 10) -> NotifyResult:
    """Post one Block Kit payload to a Slack incoming webhook.

    No URL: skipped. A failure (4xx, 5xx after retries, timeout, no connection) prints a warning
    annotation and a job summary line and returns `sent=False`; with `fail_on_error` it raises
    `DualDeployError` (exit status 1) instead of the annotation. Callers do their GitHub side first,
    so a Slack failure never costs the alert there.
    """
    url = (webhook_url or "").strip()
    if not url:
        return NotifyResult(sent=False, skipped_reason="no webhook configured")
    _mask_webhook(url)
    problem = _post(url, payload, timeout)
    if problem is None:
        return NotifyResult(sent=True)
    message = scrub(f"Slack notification not sent: {problem}.", url)
    outcome = (
        "The step fails (fail-on-notify-error)." if fail_on_error else "GitHub issues and comments are not affected."
    )
    actions_io.append_summary(f"> [!WARNING]\n> {escape_markdown(message)} {outcome}\n")
    if fail_on_error:
        raise DualDeployError(message, exit_status=EXIT_NOTIFY_FAILED)
    if actions_io.in_actions():
        actions_io.annotate("warning", message, title="dualdeploy: Slack")
    else:
        print(f"dualdeploy: warning: {message}", file=sys.stderr, flush=True)
    return NotifyResult(sent=False, error=message)

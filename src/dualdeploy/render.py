"""Every text the suite writes comes from templates/ through here.

Values from a repository, a user or an API are escaped by default: the environment's `finalize`
runs every `{{ expression }}` through the Markdown escape unless a filter already made it safe
(`code` for paths, `link` for URLs). A template cannot forget to escape a file name.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2

GITHUB_COMMENT_LIMIT = 65_536


class SafeMarkdown(str):
    """Text already fit to embed in Markdown as it is."""


# Markdown punctuation is backslash-escaped; < > & become entities instead, since a backslash before
# "&" would show the entity text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def escape_markdown(value: object) -> SafeMarkdown:
    """Render a value as plain text in GitHub Markdown: no formatting, no HTML, no mention, one line."""
    if isinstance(value, SafeMarkdown):
        return value
    text = " ".join(str(value).splitlines()) if value is not None else ""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = html.escape(text, quote=False)
    # A zero-width space after @ keeps "@team" from notifying anyone.
    return SafeMarkdown(text.replace("@", "@&#8203;"))


def escape_html(value: object) -> SafeMarkdown:
    """Plain text inside raw HTML (a `<summary>`), where Markdown backslash escapes do not apply."""
    text = " ".join(str(value).splitlines())
    return SafeMarkdown(html.escape(text, quote=True).replace("@", "@&#8203;"))


def code_span(value: object) -> SafeMarkdown:
    """A path or sha as inline code: nothing inside is interpreted, whatever it contains."""
    text = str(value)
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    # Inside a GFM table a pipe ends the cell even within code, so it is escaped there too.
    text = text.replace("|", "\\|")
    longest_run = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest_run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return SafeMarkdown(f"{fence}{pad}{text}{pad}{fence}")


def link_target(url: object) -> SafeMarkdown:
    """A URL for `[text](url)`: http(s) only, with the characters that would end the target encoded."""
    text = str(url)
    scheme = urlsplit(text).scheme.lower()
    if scheme not in ("http", "https"):
        return SafeMarkdown("#")
    return SafeMarkdown(quote(text, safe=":/?#&=%~+,;@!$'*[]").replace("(", "%28").replace(")", "%29"))


def format_time(epoch: int | None) -> str:
    """Unix seconds as `2024-01-15 09:00 UTC` (an em dash when unknown)."""
    if epoch is None:
        return "—"
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def format_duration(seconds: int) -> str:
    """A duration for people: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _finalize(value: object) -> object:
    if isinstance(value, (SafeMarkdown, int, float, bool)) or value is None:
        return "" if value is None else value
    return escape_markdown(value)


def templates_dir() -> Path:
    """templates/ at the top of the repository, or inside the installed package."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"


def new_environment(finalize: Callable[[object], object], **options: object) -> jinja2.Environment:
    """A Jinja environment over templates/ whose `finalize` escapes every expression for its medium."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=False,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )


@cache
def environment() -> jinja2.Environment:
    """The Markdown environment: comments, issues, summaries, generated docs."""
    env = new_environment(_finalize, keep_trailing_newline=True)
    env.filters["md"] = escape_markdown
    env.filters["html"] = escape_html
    env.filters["code"] = code_span
    env.filters["link"] = link_target
    env.filters["short"] = lambda sha: code_span(str(sha)[:7])
    env.filters["when"] = format_time
    env.filters["duration"] = lambda seconds: "—" if seconds is None else format_duration(int(seconds))
    return env


def _plain(value: object) -> object:
    if value is None:
        return ""
    # One line per value: a subject or a reason cannot start a line of its own in a terminal.
    return " ".join(str(value).splitlines()) if isinstance(value, str) else value


@cache
def plain_environment() -> jinja2.Environment:
    """Plain text for a terminal: nothing to escape, every value kept on one line."""
    env = new_environment(_plain, keep_trailing_newline=True)
    env.filters["short"] = lambda sha: str(sha)[:12]
    env.filters["when"] = format_time
    return env


def render_plain(template: str, **context: object) -> str:
    return plain_environment().get_template(template).render(**context)


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def _plain(value: object) -> object:
    # A terminal shows text as it is; one value is still kept to one line.
    return "" if value is None else " ".join(str(value).splitlines())


@cache
def text_environment() -> jinja2.Environment:
    """The plain-text environment: reports printed to a terminal (`*.txt.j2`)."""
    return new_environment(_plain, keep_trailing_newline=True)


def render_text(template: str, **context: object) -> str:
    return text_environment().get_template(template).render(**context)


def render_within(limit: int, attempts: Callable[[int], str], budgets: tuple[int, ...]) -> str:
    """Render with the largest detail budget whose output fits `limit` characters.

    `attempts(budget)` renders with at most `budget` items shown per list (the template then says
    how many were left out); the last budget must be small enough to always fit.
    """
    text = ""
    for budget in budgets:
        text = attempts(budget)
        if len(text) <= limit:
            return text
    note = "\n\n_…truncated to fit GitHub's size limit._\n"
    return text[: limit - len(note)] + note

"""Generated sections inside files that people also edit: find them, replace them, leave the rest alone.

A generated part sits between a BEGIN and an END marker line. Everything outside the markers
belongs to the user and is kept byte for byte (a BOM, CRLF line endings, a missing final newline);
a file without the section gets it appended; the generated part takes the file's line endings. A
broken pair of markers (a BEGIN without its END, a section twice) is an error that names the file
and the line: guessing where a section ends could delete what a person wrote.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dualdeploy.errors import DualDeployError

MARKER_NAMESPACE = "dualdeploy"


@dataclass(frozen=True)
class CommentStyle:
    """How a marker line is written in one kind of file."""

    name: str
    begin: str  # format with section= and source=
    end: str  # format with section=
    pattern: re.Pattern[str]  # a marker line: groups `kind` (BEGIN/END) and `section`
    fenced_code: bool  # Markdown: markers inside ``` fences are examples, not markers


MARKDOWN = CommentStyle(
    name="markdown",
    begin="<!-- BEGIN dualdeploy:{section} (generated from {source}; edit the config, then run dualdeploy docs) -->",
    end="<!-- END dualdeploy:{section} -->",
    pattern=re.compile(
        r"^[ \t]*<!--[ \t]*(?P<kind>BEGIN|END)[ \t]+dualdeploy:(?P<section>[A-Za-z0-9._-]+)\b.*-->[ \t]*$"
    ),
    fenced_code=True,
)
HASH = CommentStyle(
    name="hash",
    begin="# BEGIN dualdeploy:{section} (generated from {source}; edit the config, then run dualdeploy docs)",
    end="# END dualdeploy:{section}",
    pattern=re.compile(r"^[ \t]*#[ \t]*(?P<kind>BEGIN|END)[ \t]+dualdeploy:(?P<section>[A-Za-z0-9._-]+)\b.*$"),
    fenced_code=False,
)

_FENCE = re.compile(r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})")


@dataclass(frozen=True)
class Section:
    """Where one generated section sits in a text: character offsets and 1-based line numbers."""

    name: str
    start: int  # offset of the BEGIN line's first character
    end: int  # offset just after the END line's text (before its line ending)
    begin_line: int
    end_line: int
    body_start: int  # offset just after the BEGIN line's line ending
    body_end: int  # offset of the END line's first character

    def text(self, content: str) -> str:
        return content[self.start : self.end]


def _lines(text: str) -> list[tuple[int, str, str]]:
    """(offset, line without its ending, the ending) for every line; the last may have no ending."""
    lines = []
    for match in re.finditer(r"([^\r\n]*)(\r\n|\n|\r|$)", text):
        if match.start() == len(text) and not match.group(0):
            break
        lines.append((match.start(), match.group(1), match.group(2)))
        if not match.group(2):
            break
    return lines


def line_ending(text: str | None) -> str:
    """The file's line ending: that of its first line; a new or one-line file gets "\\n"."""
    if text:
        match = re.search(r"\r\n|\n|\r", text)
        if match:
            return match.group(0)
    return "\n"


def find_sections(text: str, style: CommentStyle, file: str) -> dict[str, Section]:
    """Every generated section of a text, by name; a broken marker pair raises DualDeployError."""
    sections: dict[str, Section] = {}
    open_section: tuple[str, int, int, int] | None = None  # name, start offset, line, body start
    fence: str | None = None
    for number, (offset, line, ending) in enumerate(_lines(text), start=1):
        if style.fenced_code:
            fence_match = _FENCE.match(line)
            if fence is not None:
                if (
                    fence_match
                    and fence_match.group("fence")[0] == fence[0]
                    and len(fence_match.group("fence")) >= len(fence)
                ):
                    if not line[fence_match.end() :].strip():
                        fence = None
                continue
            if fence_match:
                fence = fence_match.group("fence")
                continue
        if offset == 0 and line.startswith("\ufeff"):  # the BOM stays the user's, before the block
            offset, line = 1, line[1:]
        marker = style.pattern.match(line)
        if not marker:
            continue
        kind, name = marker.group("kind"), marker.group("section")
        if kind == "BEGIN":
            if open_section is not None:
                raise DualDeployError(
                    f"'BEGIN dualdeploy:{name}' starts inside section {open_section[0]!r}, which began on line "
                    f"{open_section[2]} and has no END before it; restore the line "
                    f"'{style.end.format(section=open_section[0])}' where the generated part ends",
                    file=file,
                    line=number,
                )
            if name in sections:
                raise DualDeployError(
                    f"section {name!r} appears twice (first on line {sections[name].begin_line}); delete one copy "
                    "with its BEGIN and END lines, then run dualdeploy docs",
                    file=file,
                    line=number,
                )
            open_section = (name, offset, number, offset + len(line) + len(ending))
        else:
            if open_section is None or open_section[0] != name:
                inside = f" inside section {open_section[0]!r}" if open_section else ""
                raise DualDeployError(
                    f"'END dualdeploy:{name}'{inside} has no matching BEGIN above it; restore the line "
                    f"'{style.begin.format(section=name, source='...')}' where the generated part starts, "
                    "or delete this END line",
                    file=file,
                    line=number,
                )
            section_name, start, begin_line, body_start = open_section
            sections[name] = Section(
                name=name,
                start=start,
                end=offset + len(line),
                begin_line=begin_line,
                end_line=number,
                body_start=body_start,
                body_end=offset,
            )
            open_section = None
    if open_section is not None:
        raise DualDeployError(
            f"'BEGIN dualdeploy:{open_section[0]}' has no END line, so where the generated part ends is unknown; "
            f"add '{style.end.format(section=open_section[0])}' after it (or delete the BEGIN line and what follows "
            "it that was generated), then run dualdeploy docs",
            file=file,
            line=open_section[2],
        )
    return sections


def render_block(section: str, body: str, style: CommentStyle, source: str, newline: str = "\n") -> str:
    """BEGIN line, a blank line, the body, a blank line, END line; no line ending after END."""
    lines = [style.begin.format(section=section, source=source)]
    inner = body.replace("\r\n", "\n").strip("\n")
    if style.fenced_code:
        lines.append("")
    lines.extend(inner.split("\n") if inner else [])
    if style.fenced_code:
        lines.append("")
    lines.append(style.end.format(section=section))
    return newline.join(lines)


def section_body(text: str, section: Section) -> str:
    return text[section.body_start : section.body_end]


def update_section(
    text: str | None,
    section: str,
    body: str,
    *,
    style: CommentStyle,
    source: str,
    file: str,
) -> str:
    """The text with `section` set to `body`: replaced in place, or appended when the file lacks it
    (`text` None: a new file that holds only the section)."""
    if text is None:
        return render_block(section, body, style, source) + "\n"
    newline = line_ending(text)
    block = render_block(section, body, style, source, newline)
    existing = find_sections(text, style, file).get(section)
    if existing is not None:
        return text[: existing.start] + block + text[existing.end :]
    if not text:
        return block + newline
    # A blank line between the user's last line and the block; the user's text itself is not touched
    # beyond ending its last line.
    last_line = re.sub(r"(\r\n|\n|\r)$", "", text)
    if last_line == text:
        separator = newline + newline
    elif last_line and not re.search(r"(\r\n|\n|\r)$", last_line):
        separator = newline
    else:
        separator = ""
    return text + separator + block + newline


__all__ = [
    "HASH",
    "MARKDOWN",
    "CommentStyle",
    "Section",
    "find_sections",
    "line_ending",
    "render_block",
    "section_body",
    "update_section",
]


# The suite's memory in a body it owns (an alert issue, a PR comment): one hidden HTML comment of
# JSON that GitHub does not show. "--" is written escaped so the JSON can never end the comment.
HIDDEN_STATE = re.compile(r"<!-- dualdeploy:state (\{.*?\}) -->")


def hidden_state(state: dict) -> str:
    """The state as the hidden comment to put in a body."""
    text = json.dumps(state, sort_keys=True, separators=(",", ":")).replace("--", "\\u002d\\u002d")
    return f"<!-- dualdeploy:state {text} -->"


def read_hidden_state(body: str | None) -> dict:
    """The state kept in a body, or {} when it has none (or a broken one)."""
    match = HIDDEN_STATE.search(body or "")
    if not match:
        return {}
    try:
        value = json.loads(match.group(1))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def replace_hidden_state(body: str | None, state: dict) -> str:
    """The body with its hidden state replaced by `state` (the rest byte for byte)."""
    return HIDDEN_STATE.sub(lambda _match: hidden_state(state), body or "", count=1)

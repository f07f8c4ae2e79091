"""Path filter semantics: GitHub `paths:` / dorny/paths-filter globs, evaluated fast over many files.

Rules: repo-relative POSIX paths, `*` stays inside one directory, `**` spans directories, dotfiles
match, a leading `!` excludes, and within one filter the last pattern that matches a path decides.

Matching every path against every pattern is too slow for 20,000 files and hundreds of patterns,
so patterns are indexed by their literal directory prefix: `dir/**` (the common case) becomes a
dictionary hit on one of the path's ancestor directories, an exact file name is a dictionary hit
on the path, and only the rest runs a compiled glob, and only for paths under its literal prefix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from wcmatch import glob

GLOB_FLAGS = glob.GLOBSTAR | glob.DOTMATCH | glob.BRACE


class PatternError(ValueError):
    """A pattern that is malformed or can never match a repo-relative path."""


@dataclass(frozen=True)
class Pattern:
    """One pattern of a filter, split into the parts the index needs."""

    text: str
    negated: bool
    glob: str
    # Literal leading directories, with a trailing slash ("server/src/"), or "" when the first
    # segment already has a wildcard.
    prefix: str
    # The whole pattern is `prefix**`: every path under the prefix matches without a regex.
    everything_under: bool
    # The pattern has no wildcard at all: it names one path.
    literal: bool


def parse_pattern(text: str) -> Pattern:
    """Split a pattern into its parts; raise PatternError when it can never match a path."""
    if not isinstance(text, str) or not text.strip():
        raise PatternError("an empty pattern matches nothing")
    negated = text.startswith("!")
    body = text[1:] if negated else text
    problem = _never_matches(body)
    if problem:
        raise PatternError(problem)
    segments = body.split("/")
    literal_segments: list[str] = []
    for segment in segments:
        if glob.is_magic(segment, flags=GLOB_FLAGS):
            break
        literal_segments.append(segment)
    literal = len(literal_segments) == len(segments)
    if literal:
        prefix = "/".join(literal_segments[:-1]) + "/" if len(literal_segments) > 1 else ""
    else:
        prefix = "".join(segment + "/" for segment in literal_segments)
    rest = body[len(prefix) :]
    return Pattern(
        text=text,
        negated=negated,
        glob=body,
        prefix=prefix,
        everything_under=rest == "**",
        literal=literal,
    )


def _never_matches(body: str) -> str | None:
    if not body:
        return "a lone '!' excludes nothing"
    if body.startswith("/"):
        return "paths are relative to the repository root: drop the leading '/'"
    if "\\" in body:
        return "paths use '/' as separator; a backslash never appears in a repo path"
    if body.endswith("/"):
        return "changed paths are files and never end in '/': use 'dir/**' for everything under a folder"
    segments = body.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return "paths are normalised: '//', './' and '../' never appear in a changed path"
    try:
        glob.compile(body, flags=GLOB_FLAGS)
    except Exception as exc:  # wcmatch raises several types for malformed globs
        return f"not a valid glob: {exc}"
    return None


@dataclass(frozen=True)
class _Entry:
    filter_index: int
    order: int
    negated: bool


@dataclass
class FilterSet:
    """Named filters (ordered pattern lists), matched together against many paths at once."""

    filters: Mapping[str, Sequence[str]]
    _names: list[str] = field(init=False)
    _under: dict[str, list[_Entry]] = field(init=False)
    _exact: dict[str, list[_Entry]] = field(init=False)
    _globbed: dict[str, list[tuple[_Entry, object]]] = field(init=False)

    def __post_init__(self) -> None:
        self._names = list(self.filters)
        self._under = defaultdict(list)
        self._exact = defaultdict(list)
        self._globbed = defaultdict(list)
        for filter_index, name in enumerate(self._names):
            for order, text in enumerate(self.filters[name]):
                pattern = parse_pattern(text)
                entry = _Entry(filter_index, order, pattern.negated)
                if pattern.everything_under:
                    self._under[pattern.prefix].append(entry)
                elif pattern.literal:
                    self._exact[pattern.glob].append(entry)
                else:
                    matcher = glob.compile(pattern.glob, flags=GLOB_FLAGS)
                    self._globbed[pattern.prefix].append((entry, matcher))

    def match_path(self, path: str) -> list[str]:
        """Names of the filters that include `path`, in filter order."""
        decisive: dict[int, _Entry] = {}

        def consider(entry: _Entry) -> None:
            current = decisive.get(entry.filter_index)
            if current is None or entry.order > current.order:
                decisive[entry.filter_index] = entry

        for entry in self._exact.get(path, ()):
            consider(entry)
        under, globbed = self._under, self._globbed
        start = 0
        while True:
            prefix = path[:start]
            for entry in under.get(prefix, ()):
                consider(entry)
            for entry, matcher in globbed.get(prefix, ()):
                if matcher.match(path):
                    consider(entry)
            slash = path.find("/", start)
            if slash < 0:
                break
            start = slash + 1
        return [self._names[index] for index, entry in sorted(decisive.items()) if not entry.negated]

    def match(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """For each filter that includes at least one path, the paths it includes, in input order."""
        matched: dict[str, list[str]] = {}
        for path in paths:
            for name in self.match_path(path):
                matched.setdefault(name, []).append(path)
        return matched

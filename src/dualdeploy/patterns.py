"""Path filter semantics: GitHub `paths:` / dorny/paths-filter globs, evaluated fast over many files.

Rules: repo-relative POSIX paths, `*` stays inside one directory, `**` spans directories, dotfiles
match, a leading `!` excludes, and within one filter the last pattern that matches a path decides.

Matching every path against every pattern is too slow for 20,000 files and hundreds of patterns,
so patterns are indexed by their literal directory prefix: `dir/**` (the common case) becomes a
dictionary hit on one of the path's ancestor directories, an exact file name is a dictionary hit
on the path, and only the rest runs a compiled glob, and only for paths under its literal prefix.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

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
    # The compiled glob (wcmatch's translation, compiled once), for patterns that need one.
    matcher: Callable[[str], object] | None = field(default=None, compare=False, repr=False)


@lru_cache(maxsize=4096)
def parse_pattern(text: str) -> Pattern:
    """Split a pattern into its parts; raise PatternError when it can never match a path."""
    if not isinstance(text, str) or not text.strip():
        raise PatternError("an empty pattern matches nothing")
    negated = text.startswith("!")
    body = text[1:] if negated else text
    problem = _never_matches(body)
    if problem:
        raise PatternError(problem)
    try:
        matcher = _compile(body)
    except Exception as exc:  # wcmatch raises several types for malformed globs
        raise PatternError(f"not a valid glob: {exc}") from None
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
    everything_under = rest == "**"
    return Pattern(
        text=text,
        negated=negated,
        glob=body,
        prefix=prefix,
        everything_under=everything_under,
        literal=literal,
        matcher=None if literal or everything_under else matcher,
    )


def _compile(body: str) -> Callable[[str], object]:
    """A matcher for a glob, from wcmatch's own translation to regular expressions.

    The regex is compiled on first use: most patterns of a large config never see a candidate
    path (the index sends each path only to patterns under its directories), and compiling
    wcmatch's regexes costs about a millisecond each. When the glob ends in a literal
    (`**/*.md`), a cheap `endswith` turns most paths away before the regex runs.
    """
    includes, _ = glob.translate(body, flags=GLOB_FLAGS)
    compiled: list[Callable[[str], object]] = []

    def match(path: str) -> object:
        if not compiled:
            compiled.append(re.compile("|".join(f"(?:{regex})" for regex in includes)).match)
        return compiled[0](path)

    last_segment = body.rsplit("/", 1)[-1]
    tail = re.split(r"[*?\[\]{}()!@+|\\]", last_segment)[-1]
    if not tail or tail == last_segment:
        return match
    return lambda path: path.endswith(tail) and match(path)


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
    return None


@dataclass(frozen=True)
class _Entry:
    filter_index: int
    order: int
    negated: bool


@dataclass(frozen=True)
class _DirectoryPlan:
    """What the patterns say about every file of one directory.

    `decisive` holds, per filter, the last `dir/**`-style pattern that covers the directory; only
    `globbed` patterns (and exact names) can still change the outcome file by file.
    """

    decisive: dict[int, _Entry]
    globbed: tuple[tuple[_Entry, Callable[[str], object]], ...]
    names: list[int]  # the filters that include a file here when no glob or exact name applies


def _consider(decisive: dict[int, _Entry], entry: _Entry) -> None:
    current = decisive.get(entry.filter_index)
    if current is None or entry.order > current.order:
        decisive[entry.filter_index] = entry


def _included(decisive: dict[int, _Entry]) -> list[int]:
    return sorted(index for index, entry in decisive.items() if not entry.negated)


@dataclass
class FilterSet:
    """Named filters (ordered pattern lists), matched together against many paths at once."""

    filters: Mapping[str, Sequence[str]]
    _names: list[str] = field(init=False)
    _under: dict[str, list[_Entry]] = field(init=False)
    _exact: dict[str, list[_Entry]] = field(init=False)
    _globbed: dict[str, list[tuple[_Entry, Callable[[str], object]]]] = field(init=False)
    _plans: dict[str, _DirectoryPlan] = field(init=False)

    def __post_init__(self) -> None:
        self._names = list(self.filters)
        self._under = defaultdict(list)
        self._exact = defaultdict(list)
        self._globbed = defaultdict(list)
        self._plans = {}
        for filter_index, name in enumerate(self._names):
            for order, text in enumerate(self.filters[name]):
                pattern = parse_pattern(text)
                entry = _Entry(filter_index, order, pattern.negated)
                if pattern.everything_under:
                    self._under[pattern.prefix].append(entry)
                elif pattern.literal:
                    self._exact[pattern.glob].append(entry)
                else:
                    self._globbed[pattern.prefix].append((entry, pattern.matcher))

    def _plan(self, directory: str) -> _DirectoryPlan:
        """The plan of a directory ("a/b/", or "" for the root), built once from its ancestors'."""
        plan = self._plans.get(directory)
        if plan is None:
            parent = directory[: directory.rstrip("/").rfind("/") + 1] if directory else None
            decisive = dict(self._plan(parent).decisive) if parent is not None else {}
            globbed = list(self._plan(parent).globbed) if parent is not None else []
            for entry in self._under.get(directory, ()):
                _consider(decisive, entry)
            globbed.extend(self._globbed.get(directory, ()))
            plan = _DirectoryPlan(decisive, tuple(globbed), _included(decisive))
            self._plans[directory] = plan
        return plan

    def _match_indexes(self, path: str) -> list[int]:
        plan = self._plans.get(path[: path.rfind("/") + 1]) or self._plan(path[: path.rfind("/") + 1])
        decisive = None
        for entry, matcher in plan.globbed:
            if matcher(path):
                if decisive is None:
                    decisive = dict(plan.decisive)
                _consider(decisive, entry)
        exact = self._exact.get(path)
        if exact:
            decisive = dict(plan.decisive) if decisive is None else decisive
            for entry in exact:
                _consider(decisive, entry)
        return plan.names if decisive is None else _included(decisive)

    def match_path(self, path: str) -> list[str]:
        """Names of the filters that include `path`, in filter order."""
        return [self._names[index] for index in self._match_indexes(path)]

    def match(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """For each filter that includes at least one path, the paths it includes, in input order."""
        matched: dict[int, list[str]] = defaultdict(list)
        for path in paths:
            for index in self._match_indexes(path):
                matched[index].append(path)
        return {self._names[index]: matched[index] for index in sorted(matched)}

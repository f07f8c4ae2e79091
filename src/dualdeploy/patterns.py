"""Path filter semantics: GitHub `paths:` / dorny/paths-filter globs, evaluated fast over many files.

Rules: repo-relative POSIX paths, `*` stays inside one directory, `**` spans directories, dotfiles
match, a leading `!` excludes, and within one filter the last pattern that matches a path decides.
The reference is wcmatch's `globmatch` with GLOBSTAR | DOTMATCH | BRACE, path by path.

Matching every path against every pattern is too slow for 20,000 files and hundreds of patterns,
so the filters decide once per directory where the patterns allow it:

- `dir/**` (the common case) covers every file under `dir/`: a dictionary hit on an ancestor.
- An exact file name is a dictionary hit on the path.
- A glob made of literal text, `*`, `?` and whole-segment `**` ("simple": no braces or classes)
  is run as a small automaton over the directory's segments, once per directory: for the files
  directly in it, the pattern then matches all of them (`libs/*/src/**` in `libs/a/src/x/`), none
  of them, or those whose name matches one segment (`**/*.md`: a suffix test per file).
- Anything else (braces, classes) runs wcmatch's own compiled regex, path by path, and only for
  paths under its literal prefix.

So a directory whose patterns leave nothing to test file by file gets one decision for all its
files. wcmatch itself is imported only when a pattern needs its translation.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# wcmatch.glob's flags: GLOBSTAR | DOTMATCH | BRACE (spelled out so that importing this module
# does not import wcmatch; tests check the value against wcmatch's).
GLOB_FLAGS = 0x0100 | 0x0040 | 0x0200
# The characters wcmatch treats as glob syntax under GLOB_FLAGS (its MAGIC_DEF plus MAGIC_BRACE).
_MAGIC = frozenset("*?[]\\{}")
# A simple glob has none of these: brace expansion and character classes go to wcmatch.
_NOT_SIMPLE = frozenset("[]{}")


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
    # The whole path matched by wcmatch's translation (compiled on first use), for globs.
    matcher: Callable[[str], object] | None = field(default=None, compare=False, repr=False)
    # For a simple glob, the segments after the prefix (`("**", "*.md")`); None otherwise.
    segments: tuple[str, ...] | None = None


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
    segments = body.split("/")
    literal_segments: list[str] = []
    for segment in segments:
        if not _MAGIC.isdisjoint(segment):
            break
        literal_segments.append(segment)
    literal = len(literal_segments) == len(segments)
    if literal:
        prefix = "/".join(literal_segments[:-1]) + "/" if len(literal_segments) > 1 else ""
    else:
        prefix = "".join(segment + "/" for segment in literal_segments)
    rest = body[len(prefix) :]
    everything_under = rest == "**"
    simple = None
    if not literal and not everything_under and _NOT_SIMPLE.isdisjoint(rest):
        rest_segments = tuple(rest.split("/"))
        if all(segment == "**" or "**" not in segment for segment in rest_segments):
            simple = rest_segments
    if literal or everything_under:
        matcher = None
    elif simple is not None:
        # Nothing in a simple glob can fail to translate: leave wcmatch for the first use, if any.
        matcher = _compile(body, eager=False)
    else:
        try:
            matcher = _compile(body, eager=True)
        except Exception as exc:  # wcmatch raises several types for malformed globs
            raise PatternError(f"not a valid glob: {exc}") from None
    return Pattern(
        text=text,
        negated=negated,
        glob=body,
        prefix=prefix,
        everything_under=everything_under,
        literal=literal,
        matcher=matcher,
        segments=simple,
    )


def _compile(body: str, *, eager: bool) -> Callable[[str], object]:
    """A matcher for a glob, from wcmatch's own translation to regular expressions.

    The regex is compiled on first use: most patterns of a large config never see a candidate
    path (the index sends each path only to patterns under its directories), and compiling
    wcmatch's regexes costs about a millisecond each. `eager` translates now, which is how a
    malformed glob is found while the config is read. When the glob ends in a literal
    (`**/*.md`), a cheap `endswith` turns most paths away before the regex runs.
    """
    translated: list[list[str]] = [_translate(body)] if eager else []
    compiled: list[Callable[[str], object]] = []

    def match(path: str) -> object:
        if not compiled:
            includes = translated[0] if translated else _translate(body)
            compiled.append(re.compile("|".join(f"(?:{regex})" for regex in includes)).match)
        return compiled[0](path)

    last_segment = body.rsplit("/", 1)[-1]
    tail = re.split(r"[*?\[\]{}()!@+|\\]", last_segment)[-1]
    if not tail or tail == last_segment:
        return match
    return lambda path: path.endswith(tail) and match(path)


def _translate(body: str) -> list[str]:
    from wcmatch import glob

    includes, _ = glob.translate(body, flags=GLOB_FLAGS)
    return includes


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


# A test of one segment: (text, start) -> whether text[start:] matches; for a file, text is its
# whole path and start where its name begins, so no slice is made per file.
_SegmentTest = Callable[[str, int], object]


def _any_name(text: str, start: int) -> bool:
    return True


@lru_cache(maxsize=4096)
def _segment_test(segment: str) -> _SegmentTest:
    """The test of one segment of a simple glob (literal text, `*` and `?`), as wcmatch matches it."""
    if segment.strip("*") == "":
        return _any_name  # `*`: any name (names are never empty, `.` or `..` in git)
    if "*" not in segment and "?" not in segment:
        size = len(segment)
        return lambda text, start: len(text) - start == size and text.startswith(segment, start)
    if segment[0] == "*" and "*" not in segment[1:] and "?" not in segment:
        suffix = segment[1:]
        # The name ends the text and holds no '/', so a suffix without '/' can only end the name.
        return lambda text, start: text.endswith(suffix)
    regex = "".join("[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char) for char in segment)
    fullmatch = re.compile(regex, re.DOTALL).fullmatch
    return lambda text, start: fullmatch(text, start)


@dataclass(frozen=True)
class _Automaton:
    """A simple glob's segments after its prefix, run segment by segment.

    States are positions in `segments`; a `**` may match zero or more segments, except that a
    trailing `**` needs at least one (wcmatch: `a/**` does not match `a`), so `x/**` is run as
    `x/*/**` with a last `**` that may match none.
    """

    segments: tuple[str, ...]
    tests: tuple[_SegmentTest | None, ...]  # None for `**`
    start: frozenset[int]
    # Per position: everything from here on is `**` (so the end is reachable without a segment).
    optional_from: tuple[bool, ...]
    # Many directories share names (src, lib) and patterns share automata: remember the answers.
    _steps: dict[tuple[frozenset[int], str], frozenset[int]] = field(default_factory=dict, compare=False, repr=False)
    _files: dict[frozenset[int], bool | _SegmentTest | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, segments: tuple[str, ...]) -> _Automaton:
        run = segments[:-1] + ("*", "**") if segments[-1] == "**" else segments
        tests = tuple(None if segment == "**" else _segment_test(segment) for segment in run)
        optional_from = tuple(all(test is None for test in tests[position:]) for position in range(len(tests) + 1))
        automaton = cls(run, tests, frozenset(), optional_from)
        object.__setattr__(automaton, "start", automaton._closed({0}))
        return automaton

    def _closed(self, positions: Iterable[int]) -> frozenset[int]:
        """The positions, each followed through any `**` that matches no segment; the end left out
        (a directory that ends the pattern holds no file it matches)."""
        closed: set[int] = set()
        end = len(self.tests)
        for position in positions:
            while position < end:
                closed.add(position)
                if self.tests[position] is not None:
                    break
                position += 1
        return frozenset(closed)

    def step(self, states: frozenset[int], segment: str) -> frozenset[int]:
        """The states after one more directory segment."""
        known = self._steps.get((states, segment))
        if known is None:
            reached = set()
            for position in states:
                test = self.tests[position]
                if test is None:
                    reached.add(position)
                elif test(segment, 0):
                    reached.add(position + 1)
            known = self._steps[states, segment] = self._closed(reached)
        return known

    def files(self, states: frozenset[int]) -> bool | _SegmentTest | None:
        """For the files directly in a directory with these states: True if the pattern matches
        them all, None if none, else the test of a file's name."""
        if states not in self._files:
            self._files[states] = self._verdict(states)
        return self._files[states]

    def _verdict(self, states: frozenset[int]) -> bool | _SegmentTest | None:
        tests = []
        for position in states:
            test = self.tests[position]
            if test is None:
                if self.optional_from[position]:
                    return True
            elif self.optional_from[position + 1]:
                if test is _any_name:
                    return True
                tests.append(test)
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        return lambda text, start: any(test(text, start) for test in tests)


_PathTest = Callable[[str, int], object]


@dataclass(frozen=True)
class _DirectoryPlan:
    """What the patterns say about the files of one directory.

    `decisive` holds, per filter, the last `dir/**`-style pattern that covers the directory and all
    below it; `automata` the simple globs still alive here with their states; `globbed` the other
    globs, path by path. For the files directly in the directory, `files_decisive` adds the simple
    globs that match them all, and `checks` keeps the tests that still depend on the file (a name
    test, an exact name, a wcmatch regex), each able to beat what `files_decisive` says.
    """

    decisive: dict[int, _Entry]
    decisive_names: list[int]  # the filters `decisive` includes
    automata: tuple[tuple[_Entry, _Automaton, frozenset[int]], ...]
    globbed: tuple[tuple[_Entry, Callable[[str], object]], ...]
    files_decisive: dict[int, _Entry]
    checks: tuple[tuple[_Entry, _PathTest], ...]
    names: list[int]  # the filters that include a file here when no check matches it
    exact_here: bool  # some check names a file of this very directory (a subdirectory has none)


def _consider(decisive: dict[int, _Entry], entry: _Entry) -> None:
    current = decisive.get(entry.filter_index)
    if current is None or entry.order > current.order:
        decisive[entry.filter_index] = entry


def _included(decisive: dict[int, _Entry]) -> list[int]:
    return sorted(index for index, entry in decisive.items() if not entry.negated)


def _exact_test(name: str) -> _PathTest:
    size = len(name)
    return lambda path, start: len(path) - start == size and path.startswith(name, start)


def _whole_path(matcher: Callable[[str], object]) -> _PathTest:
    return lambda path, start: matcher(path)


@dataclass
class FilterSet:
    """Named filters (ordered pattern lists), matched together against many paths at once."""

    filters: Mapping[str, Sequence[str]]
    _names: list[str] = field(init=False)
    _under: dict[str, list[_Entry]] = field(init=False)
    _exact: dict[str, dict[str, list[_Entry]]] = field(init=False)  # directory -> name -> entries
    _simple: dict[str, list[tuple[_Entry, _Automaton]]] = field(init=False)
    _globbed: dict[str, list[tuple[_Entry, Callable[[str], object]]]] = field(init=False)
    _plans: dict[str, _DirectoryPlan] = field(init=False)

    def __post_init__(self) -> None:
        self._names = list(self.filters)
        self._under = defaultdict(list)
        self._exact = defaultdict(lambda: defaultdict(list))
        self._simple = defaultdict(list)
        self._globbed = defaultdict(list)
        self._plans = {}
        self._registered: set[str] = set()
        for filter_index, name in enumerate(self._names):
            for order, text in enumerate(self.filters[name]):
                pattern = parse_pattern(text)
                entry = _Entry(filter_index, order, pattern.negated)
                if pattern.everything_under:
                    self._under[pattern.prefix].append(entry)
                elif pattern.literal:
                    self._exact[pattern.prefix][pattern.glob[len(pattern.prefix) :]].append(entry)
                elif pattern.segments is not None:
                    self._simple[pattern.prefix].append((entry, _automaton(pattern.segments)))
                else:
                    self._globbed[pattern.prefix].append((entry, pattern.matcher))
                self._registered.add(pattern.prefix)

    def _plan(self, directory: str) -> _DirectoryPlan:
        """The plan of a directory ("a/b/", or "" for the root), built once from its parent's.

        What does not change from the parent (most directories add no pattern of their own) is
        shared with it rather than copied.
        """
        plan = self._plans.get(directory)
        if plan is not None:
            return plan
        if directory:
            cut = directory.rfind("/", 0, -1) + 1
            parent, segment = self._plan(directory[:cut]), directory[cut:-1]
            decisive, decisive_names, globbed = parent.decisive, parent.decisive_names, parent.globbed
            automata = []
            unchanged = not parent.exact_here and directory not in self._registered
            for entry, automaton, old in parent.automata:
                states = automaton.step(old, segment)
                if states:
                    automata.append((entry, automaton, states))
                unchanged = unchanged and states == old
            if unchanged:
                # No pattern of its own and every glob in the same state (`**/*.md` below `docs/`):
                # the files here get exactly the parent's decisions.
                self._plans[directory] = parent
                return parent
        else:
            decisive, decisive_names, globbed, automata = {}, [], (), []
        under = self._under.get(directory)
        if under:
            decisive = dict(decisive)
            for entry in under:
                _consider(decisive, entry)
            decisive_names = _included(decisive)
        automata.extend((entry, automaton, automaton.start) for entry, automaton in self._simple.get(directory, ()))
        if directory in self._globbed:
            globbed = (*globbed, *self._globbed[directory])

        files_decisive = decisive
        candidates: list[tuple[_Entry, _PathTest]] = []
        for entry, automaton, states in automata:
            verdict = automaton.files(states)
            if verdict is True:
                if files_decisive is decisive:
                    files_decisive = dict(decisive)
                _consider(files_decisive, entry)
            elif verdict is not None:
                candidates.append((entry, verdict))
        exact_here = directory in self._exact
        if exact_here:
            for name, entries in self._exact[directory].items():
                candidates.extend((entry, _exact_test(name)) for entry in entries)
        candidates.extend((entry, _whole_path(matcher)) for entry, matcher in globbed)
        # A pattern that matches every file here decides for its filter over every pattern before
        # it: only tests ordered after it can still change a file's outcome.
        checks = tuple(
            (entry, test)
            for entry, test in candidates
            if entry.filter_index not in files_decisive or entry.order > files_decisive[entry.filter_index].order
        )
        names = decisive_names if files_decisive is decisive else _included(files_decisive)
        plan = _DirectoryPlan(
            decisive, decisive_names, tuple(automata), globbed, files_decisive, checks, names, exact_here
        )
        self._plans[directory] = plan
        return plan

    def _decide(self, plan: _DirectoryPlan, path: str, start: int) -> list[int]:
        decisive = None
        for entry, test in plan.checks:
            if test(path, start):
                if decisive is None:
                    decisive = dict(plan.files_decisive)
                _consider(decisive, entry)
        return plan.names if decisive is None else _included(decisive)

    def _match_indexes(self, path: str) -> list[int]:
        start = path.rfind("/") + 1
        directory = path[:start]
        plan = self._plans.get(directory) or self._plan(directory)
        return self._decide(plan, path, start) if plan.checks else plan.names

    def match_path(self, path: str) -> list[str]:
        """Names of the filters that include `path`, in filter order."""
        return [self._names[index] for index in self._match_indexes(path)]

    def match(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """For each filter that includes at least one path, the paths it includes, in input order.

        Paths come sorted from git, so the files of one directory mostly arrive together: a run of
        them that get their directory's decision is added to its filters in one go, and only a file
        that a check decides otherwise is placed on its own.
        """
        matched: dict[int, list[str]] = defaultdict(list)
        plans, make_plan = self._plans, self._plan
        run: list[str] = []
        names: list[int] = []
        checks: tuple[tuple[_Entry, _PathTest], ...] = ()
        directory = None
        plan = None
        for path in paths:
            start = path.rfind("/") + 1
            if directory is None or len(directory) != start or not path.startswith(directory):
                if run:
                    for index in names:
                        matched[index].extend(run)
                    run = []
                directory = path[:start]
                plan = plans.get(directory) or make_plan(directory)
                names, checks = plan.names, plan.checks
            if checks:
                decisive = None
                for entry, test in checks:
                    if test(path, start):
                        if decisive is None:
                            decisive = dict(plan.files_decisive)
                        _consider(decisive, entry)
                if decisive is not None:
                    indexes = _included(decisive)
                    if indexes != names:
                        if run:
                            for index in names:
                                matched[index].extend(run)
                            run = []
                        for index in indexes:
                            matched[index].append(path)
                        continue
            run.append(path)
        if run:
            for index in names:
                matched[index].extend(run)
        return {self._names[index]: matched[index] for index in sorted(matched) if matched[index]}


@lru_cache(maxsize=4096)
def _automaton(segments: tuple[str, ...]) -> _Automaton:
    return _Automaton.of(segments)

import random

import pytest
from wcmatch import glob

from dualdeploy.patterns import GLOB_FLAGS, FilterSet, PatternError, parse_pattern


def matches(patterns: list[str], path: str) -> bool:
    return FilterSet({"f": patterns}).match_path(path) == ["f"]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("server/*", "server/a.ts", True),
        ("server/*", "server/src/a.ts", False),  # * does not cross /
        ("server/**", "server/src/deep/a.ts", True),  # ** spans directories
        ("server/**", "server", False),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/a/b.md", True),
        ("docs/**/*.md", "docs/x.md", True),
        ("server/**", "server/.env", True),  # dotfiles match
        ("**", ".github/workflows/ci.yml", True),
        ("*.ts", ".eslintrc.ts", True),
        ("a/?.ts", "a/b.ts", True),
        ("a/?.ts", "a/bc.ts", False),
        ("a/[bc].ts", "a/c.ts", True),
        ("a/{b,c}/**", "a/c/x", True),
        ("a/{b,c}/**", "a/d/x", False),
        ("README.md", "README.md", True),
        ("README.md", "docs/README.md", False),  # repo-relative, not basename
        ("server/src/index.ts", "server/src/index.ts", True),
        ("Server/**", "server/a.ts", False),  # case-sensitive like git
        ("a/**/b.ts", "a/b.ts", True),
        ("a/*/b.ts", "a/x/y/b.ts", False),
    ],
)
def test_glob_rules(pattern: str, path: str, expected: bool) -> None:
    assert matches([pattern], path) is expected


def test_exclusion_and_last_match_wins() -> None:
    patterns = ["server/**", "!server/src/agent-v2/**", "server/src/agent-v2/shared.ts"]
    assert matches(patterns, "server/src/app.ts")
    assert not matches(patterns, "server/src/agent-v2/deploy/tenant/x.ts")
    # re-included by a later pattern: the last match wins
    assert matches(patterns, "server/src/agent-v2/shared.ts")
    # order matters: the same patterns the other way round exclude nothing
    assert matches(["!server/src/agent-v2/**", "server/**"], "server/src/agent-v2/x.ts")


def test_exclusion_of_one_exact_path() -> None:
    # An exact path is indexed apart from globs: its '!' must still exclude it, and only it.
    patterns = ["server/**", "!server/a.ts"]
    assert not matches(patterns, "server/a.ts")
    assert matches(patterns, "server/b.ts")
    assert matches(patterns, "server/sub/a.ts")
    assert matches([*patterns, "server/*.ts"], "server/a.ts")  # a later pattern re-includes it
    filters = FilterSet({"api": patterns, "all": ["**"]})
    assert filters.match(["server/a.ts", "server/b.ts"]) == {
        "api": ["server/b.ts"],
        "all": ["server/a.ts", "server/b.ts"],
    }


def test_exclusion_by_glob_not_prefix() -> None:
    assert not matches(["src/**", "!**/*.test.ts"], "src/a/b.test.ts")
    assert matches(["src/**", "!**/*.test.ts"], "src/a/b.ts")


def test_many_filters_share_the_index() -> None:
    filters = FilterSet({"api": ["server/**"], "lib": ["server/src/lib/**"], "md": ["**/*.md"]})
    assert filters.match_path("server/src/lib/README.md") == ["api", "lib", "md"]
    assert filters.match(["server/a.ts", "x.md", "y.txt"]) == {"api": ["server/a.ts"], "md": ["x.md"]}


def test_pattern_index_parts() -> None:
    under = parse_pattern("server/src/**")
    assert (under.prefix, under.everything_under, under.literal) == ("server/src/", True, False)
    literal = parse_pattern("!docs/a.md")
    assert (literal.negated, literal.literal, literal.prefix) == (True, True, "docs/")
    globbed = parse_pattern("apps/*/src/**")
    assert (globbed.prefix, globbed.everything_under) == ("apps/", False)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "empty"),
        ("!", "excludes nothing"),
        ("/server/**", "leading '/'"),
        ("server/", "never end in '/'"),
        ("server//a", "normalised"),
        ("./server/**", "normalised"),
        ("server/../x", "normalised"),
        ("server\\src", "backslash"),
    ],
)
def test_patterns_that_can_never_match(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError, match=reason):
        parse_pattern(pattern)


def test_glob_flags_are_wcmatchs() -> None:
    assert GLOB_FLAGS == glob.GLOBSTAR | glob.DOTMATCH | glob.BRACE


@pytest.mark.parametrize(
    ("patterns", "path", "expected"),
    [
        # a negated exact path inside a folder that is otherwise included
        (["server/**", "!server/a.ts"], "server/a.ts", False),
        (["server/**", "!server/a.ts"], "server/b.ts", True),
        (["server/**", "!server/a.ts"], "server/x/a.ts", True),
        (["server/**", "!server/a.ts"], "server/a.tsx", True),
        (["server/*", "!server/a.ts"], "server/a.ts", False),
        (["!server/a.ts", "server/**"], "server/a.ts", True),  # the exclusion comes first: no effect
        (["server/**", "!server/a.ts", "server/*.ts"], "server/a.ts", True),  # re-included later
        # `**` in the middle: zero or more folders, then the rest segment by segment
        (["server/**/tests/*.ts"], "server/tests/a.ts", True),
        (["server/**/tests/*.ts"], "server/x/y/tests/a.ts", True),
        (["server/**/tests/*.ts"], "server/tests/x/a.ts", False),
        (["server/**/tests/*.ts"], "server/x/testsx/a.ts", False),
        (["server/**/tests/*.ts"], "server/tests/a.tsx", False),
        (["**/tests/**"], "tests/a.ts", True),
        (["**/tests/**"], "a/b/tests/c/d.ts", True),
        (["**/tests/**"], "a/tests", False),
        # a file directly in the folder versus deeper
        (["server/*"], "server/a.ts", True),
        (["server/*"], "server/x/a.ts", False),
        (["server/*/**"], "server/a.ts", False),  # a trailing ** needs one more segment
        (["server/*/**"], "server/x/a.ts", True),
        (["libs/*/src/**"], "libs/a/src/x.ts", True),
        (["libs/*/src/**"], "libs/a/src/deep/er/x.ts", True),
        (["libs/*/src/**"], "libs/a/src", False),
        (["libs/*/src/**"], "libs/a/b/src/x.ts", False),
        # a folder-wide decision, then a per-file exclusion ordered after it
        (["libs/*/src/**", "!libs/*/src/*.md"], "libs/a/src/README.md", False),
        (["libs/*/src/**", "!libs/*/src/*.md"], "libs/a/src/x/README.md", True),
        (["libs/*/src/**", "!libs/*/src/*.md"], "libs/a/src/.md", False),  # dotfiles match
        (["**", "!docs/**", "docs/*.md"], "docs/a.md", True),
        (["**", "!docs/**", "docs/*.md"], "docs/a/b.md", False),
        (["**", "!docs/**", "docs/*.md"], ".github/x.yml", True),
        (["a?c/*x*"], "abc/.x", True),
        (["a?c/*x*"], "a/c/x", False),
        (["src/**/*.{ts,tsx}", "!src/**/*.test.*"], "src/a/b.test.tsx", False),
        (["src/**/*.{ts,tsx}", "!src/**/*.test.*"], "src/a/b.tsx", True),
    ],
)
def test_folder_level_decisions_keep_the_rules(patterns: list[str], path: str, expected: bool) -> None:
    assert matches(patterns, path) is expected
    assert bool(_reference({"f": patterns}, path)) is expected
    assert (path in FilterSet({"f": patterns}).match(["zzz/other", path]).get("f", [])) is expected


def test_match_keeps_input_order_across_folders() -> None:
    paths = ["a/b/x", "a/c", "a/d/y", "a/e", "b/f", "a/g"]
    assert FilterSet({"a": ["a/**"], "top": ["a/*"]}).match(paths) == {
        "a": ["a/b/x", "a/c", "a/d/y", "a/e", "a/g"],
        "top": ["a/c", "a/e", "a/g"],
    }


def _reference(filters: dict[str, list[str]], path: str) -> list[str]:
    """The plain rule, path by path: the last pattern of a filter that wcmatch matches decides."""
    included = []
    for name, patterns in filters.items():
        decision = False
        for pattern in patterns:
            if glob.globmatch(path, pattern.removeprefix("!"), flags=GLOB_FLAGS):
                decision = not pattern.startswith("!")
        if decision:
            included.append(name)
    return included


_SEGMENTS = [
    *("a", "b", "src", "lib", ".env", ".github", "x.md", "y.ts", "a.b", "ab", "b.test.ts", "{x}", "a b"),
    *("a(b)", "!x", "x!y", "@s", "+p", "~t", "a|b", "a-b", "<n>", "$v", "ünï", "new\nline"),
]
_PATTERN_SEGMENTS = [
    *_SEGMENTS,
    "*",
    "**",
    "*.md",
    "*.ts",
    "?",
    "a*",
    "*b",
    "a?b",
    "*.*",
    "?*",
    ".*",
    "*.{md,ts}",
    "{a,b}",
    "{a,src/lib}",
    "[ab]",
    "[!a]*",
    "*test*",
]


def _random_path(rng: random.Random) -> str:
    return "/".join(rng.choice(_SEGMENTS) for _ in range(rng.randint(1, 5)))


def _random_pattern(rng: random.Random) -> str:
    body = "/".join(rng.choice(_PATTERN_SEGMENTS) for _ in range(rng.randint(1, 4)))
    return ("!" if rng.random() < 0.3 else "") + body


@pytest.mark.parametrize("seed", range(8))
def test_fast_matcher_agrees_with_wcmatch_path_by_path(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        filters: dict[str, list[str]] = {}
        for number in range(rng.randint(1, 4)):
            patterns = []
            while len(patterns) < rng.randint(1, 5):
                pattern = _random_pattern(rng)
                try:
                    parse_pattern(pattern)
                except PatternError:
                    continue
                patterns.append(pattern)
            filters[f"f{number}"] = patterns
        paths = sorted({_random_path(rng) for _ in range(30)})
        expected = {path: _reference(filters, path) for path in paths}
        filter_set = FilterSet(filters)
        for path in paths:
            assert filter_set.match_path(path) == expected[path], (filters, path)
        for order in (paths, list(reversed(paths))):
            wanted = {name: [path for path in order if name in expected[path]] for name in filters}
            assert FilterSet(filters).match(order) == {name: found for name, found in wanted.items() if found}

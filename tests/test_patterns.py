import pytest

from dualdeploy.patterns import FilterSet, PatternError, parse_pattern


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

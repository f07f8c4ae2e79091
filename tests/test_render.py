import pytest
from markdown_it import MarkdownIt

from dualdeploy.render import GITHUB_COMMENT_LIMIT, SafeMarkdown, code_span, escape_markdown, link_target, render_within

HOSTILE = [
    "src/`rm -rf`.ts",
    "src/<script>alert(1)</script>.ts",
    "src/@org/team-notify.ts",
    "docs/[click](javascript:alert(1)).md",
    "docs/line\nbreak.md",
    "docs/**bold**_em_.md",
    "a|b|c.md",
    "`leading.md",
    "# heading.md",
]


def html_of(markdown: str) -> str:
    return MarkdownIt("gfm-like").render(markdown)


@pytest.mark.parametrize("name", HOSTILE)
def test_code_span_shows_any_name_as_plain_code(name: str) -> None:
    html = html_of(f"| file |\n| --- |\n| {code_span(name)} |\n")
    assert "<script>" not in html and "<a " not in html and "<strong>" not in html
    # the name is one table cell of code and nothing else
    assert html.count("<code>") == 1 and html.count("<td>") == 1
    shown = html.split("<code>")[1].split("</code>")[0]
    for fragment in ("rm -rf", "&lt;script&gt;", "@org", "javascript:alert(1)", "**bold**"):
        if fragment.replace("&lt;", "<").replace("&gt;", ">") in name:
            assert fragment in shown


@pytest.mark.parametrize("name", HOSTILE)
def test_escaped_text_has_no_markup_and_no_mention(name: str) -> None:
    escaped = escape_markdown(name)
    assert "\n" not in escaped
    html = html_of(f"Changed: {escaped}\n")
    assert "<script>" not in html and "<a " not in html and "<strong>" not in html and "<em>" not in html
    assert "<h1>" not in html
    assert "@org" not in html  # a zero-width space separates @ from the name


@pytest.mark.parametrize(
    "value",
    [
        "# Deploy now",
        "## Deploy now: [the fix](https://evil.example/steal)",
        "[the fix](https://evil.example/steal)",
        "![tracker](https://evil.example/pixel.png)",
        "[the fix][1]",
        "[1]: https://evil.example/steal",
        "<https://evil.example/steal>",
        "> quoted",
        "- item",
        "1. item",
    ],
)
def test_escaped_text_starting_a_line_stays_that_text(value: str) -> None:
    # At the start of a line '#' makes a heading and '[text](url)' a link whose target hides behind
    # its text: the reader must see the value itself, as one paragraph of plain text.
    html = MarkdownIt("commonmark").render(f"{escape_markdown(value)}\n")
    assert html == f"<p>{value.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</p>\n"


def test_link_target_refuses_scripts_and_encodes_parens() -> None:
    assert link_target("javascript:alert(1)") == "#"
    assert link_target("https://github.com/o/r/actions/workflows/a (b).yml") == (
        "https://github.com/o/r/actions/workflows/a%20%28b%29.yml"
    )


def test_safe_markdown_is_not_escaped_twice() -> None:
    assert escape_markdown(SafeMarkdown("**ok**")) == "**ok**"


def test_render_within_shrinks_until_it_fits() -> None:
    budgets_tried = []

    def attempt(budget: int) -> str:
        budgets_tried.append(budget)
        return "x" * (budget * 1000)

    text = render_within(GITHUB_COMMENT_LIMIT, attempt, (100, 50, 10))
    assert budgets_tried == [100, 50] and len(text) == 50_000


def test_render_within_cuts_when_nothing_fits() -> None:
    text = render_within(100, lambda budget: "y" * 1000, (1,))
    assert len(text) <= 100 and "truncated" in text

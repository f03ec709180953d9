"""Descriptions are stored as HTML that is safe to render, whatever a merchant (or an attacker) sends."""

from __future__ import annotations

import pytest

from emporium.catalog.sanitize import sanitize_description


def test_markdown_renders_the_safe_subset() -> None:
    html = sanitize_description(
        "## Taste\n\n**Rich** and _soft_.\n\n- one\n- two\n\n> quoted\n\n`code`\n\n"
        '[shop](https://example.com "Shop")',
        "markdown",
    )
    assert "<h2>Taste</h2>" in html
    assert "<strong>Rich</strong>" in html
    assert "<em>soft</em>" in html
    assert "<ul>" in html
    assert "<li>one</li>" in html
    assert "<blockquote>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.com" title="Shop" rel="noopener nofollow">shop</a>' in html


def test_raw_html_in_markdown_is_shown_as_text() -> None:
    html = sanitize_description("Hello <script>alert(1)</script> <img src=x onerror=alert(1)>", "markdown")
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_javascript_links_in_markdown_are_not_links() -> None:
    html = sanitize_description("[click](javascript:alert(1))", "markdown")
    assert "href" not in html
    assert "javascript:alert" not in html.replace("[click](javascript:alert(1))", "")


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<p onclick="steal()">x</p>',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<img src="x" onerror="alert(1)">',
        "<iframe src='https://evil.test'></iframe>",
        "<style>body{display:none}</style>",
        "<svg onload=alert(1)><script>alert(2)</script></svg>",
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        "<!-- comment --><form action='/x'><input name=a></form>",
    ],
)
def test_hostile_html_is_made_inert(hostile: str) -> None:
    html = sanitize_description(f"<p>safe</p>{hostile}", "html").lower()
    for needle in (
        "<script",
        "onclick",
        "onerror",
        "onload",
        "javascript:",
        "<iframe",
        "<style",
        "<img",
        "<svg",
        "data:",
        "<form",
        "<input",
        "<!--",
        "alert(2)",
    ):
        assert needle not in html, (needle, html)
    assert "<p>safe</p>" in html


def test_allowed_html_is_kept_and_links_get_rel() -> None:
    html = sanitize_description(
        "<h3>Care</h3><p>Wash <em>cold</em><br>dry flat</p><ol><li>a</li></ol>"
        '<a href="https://example.com" target="_blank" class="x">more</a><pre><code>x</code></pre>',
        "html",
    )
    assert "<h3>Care</h3>" in html
    assert "<br>" in html
    assert "<ol><li>a</li></ol>" in html
    assert '<a href="https://example.com" rel="noopener nofollow">more</a>' in html
    assert "<pre><code>x</code></pre>" in html


def test_headings_outside_the_subset_keep_only_their_text() -> None:
    assert sanitize_description("<h1>Big</h1><h5>small</h5>", "html") == "Bigsmall"


def test_nul_characters_are_dropped() -> None:
    assert "\x00" not in sanitize_description("a\x00b", "markdown")

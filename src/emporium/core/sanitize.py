"""Merchant-written text (product descriptions, the shop's content pages): Markdown or HTML, stored as HTML
that is safe to render.

Markdown is rendered with markdown-it-py with raw HTML disabled, then every description (Markdown or HTML)
goes through nh3 (ammonia) keeping a small subset: paragraphs, line breaks, emphasis, lists, links,
headings h2-h4, quotes and code. Scripts, styles, event handlers and ``javascript:`` URLs never survive.
"""

from __future__ import annotations

from typing import Literal

import nh3
from markdown_it import MarkdownIt

DescriptionFormat = Literal["markdown", "html"]

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote", "code", "pre"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped with their content, not only their tags: their text is never meant to be read.
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript"})

# "js-default" is CommonMark with raw HTML off and link validation on (javascript: links stay text).
_markdown = MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener nofollow",
        strip_comments=True,
    )


def sanitize_description(text: str, fmt: DescriptionFormat) -> str:
    """The HTML to store in ``Product.description_html`` for a description written in ``fmt``."""
    text = text.replace("\x00", "")
    html = _markdown.render(text) if fmt == "markdown" else text
    return _clean(html).strip()


def sanitize_markdown(text: str) -> str:
    """Markdown written by staff (a content page) as HTML that is safe to render."""
    return sanitize_description(text, "markdown")

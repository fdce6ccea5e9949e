"""Rendering lab instructions: CommonMark plus tables, raw HTML never passed through."""

from functools import cache

from markdown_it import MarkdownIt


@cache
def _markdown() -> MarkdownIt:
    # html=False turns raw HTML in lab markdown into visible text, so a lab (or a
    # checker's feedback) cannot inject script into the page.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str) -> str:
    return _markdown().render(text)

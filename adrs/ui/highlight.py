"""Python syntax highlighting for the web UI with Pygments (already installed with rich): escaped
HTML spans with CSS classes; the style sheet is served from the package, no CDN."""

from __future__ import annotations

import functools

from markupsafe import Markup


@functools.lru_cache(maxsize=1)
def _formatter():  # noqa: ANN202 - a pygments HtmlFormatter
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(cssclass="hl", linenos="table", lineanchors="L", anchorlinenos=True, wrapcode=True)


def highlight_python(code: str) -> Markup:
    """Escaped, highlighted HTML for ``code`` (Pygments escapes every token)."""
    from pygments import highlight
    from pygments.lexers import PythonLexer

    return Markup(highlight(code, PythonLexer(stripnl=False, ensurenl=True), _formatter()))


@functools.lru_cache(maxsize=1)
def style_sheet() -> str:
    return _formatter().get_style_defs(".hl")

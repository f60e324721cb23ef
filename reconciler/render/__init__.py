"""Plan renderers: pure functions from a Plan to a string, one module per format.

``render(plan, fmt)`` dispatches on ``fmt``: ``text`` (Terraform-like, ANSI colour only when
``color``), ``json`` (the interface's plan object), ``markdown`` (PR comments), ``html`` (a
standalone review page) and ``junit`` (JUnit XML for CI test reports). ``title`` names the
document in markdown, html and junit; text and json ignore it. Nothing here prints or touches
files.
"""

from __future__ import annotations

from reconciler.plan import Plan
from reconciler.render.html import render_html
from reconciler.render.json import render_json
from reconciler.render.junit import render_junit
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

FORMATS = ("text", "json", "markdown", "html", "junit")


def render(plan: Plan, fmt: str, *, color: bool = False, title: str = "", verbose: bool = False) -> str:
    """``plan`` rendered in format ``fmt`` (one of :data:`FORMATS`); raises ValueError for others.
    ``verbose`` lists every warning in text and markdown instead of collapsing repeated ones."""
    if fmt == "text":
        return render_text(plan, color=color, verbose=verbose)
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan, title=title, verbose=verbose)
    if fmt == "html":
        return render_html(plan, title=title)
    if fmt == "junit":
        return render_junit(plan, title=title)
    message = f"render: unknown format {fmt!r} (use one of: {', '.join(FORMATS)})"
    raise ValueError(message)


__all__ = [
    "FORMATS", "render", "render_html", "render_json", "render_junit", "render_markdown", "render_text",
]  # fmt: skip

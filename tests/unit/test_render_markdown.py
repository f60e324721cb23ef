"""Tests of the Markdown renderer used for pull-request comments."""

from __future__ import annotations

from reconciler.changes import Action, Change
from reconciler.plan import Plan
from reconciler.render import render
from reconciler.render.markdown import VISIBLE_ROWS


def _cells(row: str) -> list[str]:
    """Split a table row on unescaped pipes."""
    import re

    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_markdown_golden(sample_plan, golden):
    """The representative plan renders exactly as tests/golden/plan.md."""
    golden("plan.md", render(sample_plan, "markdown", title="Plan for se-main and uk"))


def test_markdown_escapes_pipes_and_backticks():
    """A value holding | and backticks is escaped and keeps the row at three cells."""
    change = Change("a", "campaigns", "x|y", Action.CREATE, after={"text": "a | b `code`"})
    text = render(Plan(changes=(change,)), "markdown")
    row = next(line for line in text.splitlines() if line.startswith("| `+` create"))
    assert len(_cells(row)) == 3
    assert "x\\|y" in row
    assert 'text: "a \\| b \\`code\\`"' in row


def test_markdown_escapes_html_and_links():
    """Raw HTML and link syntax in values render literally."""
    change = Change("a", "groups", "<img src=x>", Action.CREATE, after={"note": "[click](http://x)"})
    text = render(Plan(changes=(change,)), "markdown")
    assert "<img" not in text.replace("\\<img", "")
    assert "\\<img src=x>" in text
    assert "\\[click\\](http://x)" in text


def test_markdown_summary_table(sample_plan):
    """The summary table has one row per action with its count."""
    text = render(sample_plan, "markdown")
    assert "| Action | Count |\n| --- | ---: |\n| create | 3 |\n| update | 1 |\n" in text


def test_markdown_collapses_long_sections():
    """A section longer than the visible rows folds the rest into <details>."""
    changes = tuple(
        Change("a", "groups", f"g{i:03d}", Action.CREATE, after={"name": f"g{i:03d}"})
        for i in range(VISIBLE_ROWS + 7)
    )
    text = render(Plan(changes=changes), "markdown")
    head, _, folded = text.partition("<details><summary>7 more</summary>")
    assert folded and "</details>" in folded
    assert head.count("| `+` create |") == VISIBLE_ROWS
    assert folded.count("| `+` create |") == 7


def test_markdown_empty_plan():
    """An empty plan renders the heading and the no-changes sentence only."""
    text = render(Plan(), "markdown")
    assert text == "## Reconciler plan\n\n**No changes. The accounts match the configuration.**\n"

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


def _huge_plan() -> Plan:
    """100,000 changes over three accounts and four types, every action present."""
    changes = []
    for i in range(100_000):
        account = ("se-main", "no-main", "uk")[i % 3]
        type_ = ("contacts", "groups", "blocklist", "phone_lists")[i % 4]
        action = (Action.CREATE, Action.UPDATE, Action.DELETE)[i % 3 if type_ != "contacts" else 0]
        before = {"first_name": f"Old {i}", "note": "x" * 80} if action is not Action.CREATE else None
        after = {"first_name": f"New {i}", "note": "y" * 80} if action is not Action.DELETE else None
        changes.append(Change(account, type_, f"key-{i:06d}", action, before=before, after=after))
    return Plan(changes=tuple(changes))


def test_markdown_of_100000_changes_fits_a_comment_and_names_every_section():
    """100,000 changes render under 60,000 characters, with every account and type, counts and a pointer."""
    plan = _huge_plan()
    text = render(plan, "markdown")
    assert len(text) < 60_000
    for account in ("se-main", "no-main", "uk"):
        for type_ in ("contacts", "groups", "blocklist", "phone\\_lists"):
            assert f"### {account} / {type_}\n" in text
    assert "**+8,334 to create**; the first 20:" in text  # se-main / contacts
    assert "| create | 50000 |\n| update | 25000 |\n| delete | 25000 |" in text  # the exact totals
    assert "`reconciler plan --out plan.json`" in text and "`reconciler plan --format text`" in text
    assert "_…and " in text and " more._" in text


def test_markdown_summary_counts_each_section():
    """A summarised section says how many of each action it holds and how many rows are left out."""
    changes = tuple(
        Change("a", "contacts", f"+4670{i:07d}", Action.CREATE, after={"first_name": "z" * 200})
        for i in range(3_000)
    )
    text = render(Plan(changes=changes), "markdown")
    assert len(text) < 60_000
    assert "This plan is summarised to fit in a comment." in text
    assert "**+3,000 to create**; the first 20:" in text
    assert "_…and 2,980 more._" in text


def test_markdown_small_plans_are_not_summarised(sample_plan):
    """A plan that fits is rendered in full, with no summary note."""
    assert "summarised" not in render(sample_plan, "markdown")

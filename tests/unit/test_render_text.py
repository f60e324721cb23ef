"""Tests of the Terraform-like text renderer and the render() dispatcher."""

from __future__ import annotations

import pytest

from reconciler.changes import Action, Change
from reconciler.plan import Plan, Warning_
from reconciler.render import FORMATS, render
from reconciler.render.text import NO_CHANGES, SMALL_DELETE


def test_text_golden(sample_plan, golden):
    """The representative plan renders exactly as tests/golden/plan.txt (no colour)."""
    golden("plan.txt", render(sample_plan, "text"))


def test_empty_plan_says_no_changes():
    """A plan without changes renders only the no-changes sentence."""
    assert render(Plan(), "text") == NO_CHANGES + "\n"
    assert NO_CHANGES == "No changes. The accounts match the configuration."


def test_empty_plan_still_shows_warnings():
    """Warnings of a plan without changes are shown above the no-changes sentence."""
    plan = Plan(warnings=(Warning_("uk", "groups", "Stray", "unmanaged"),))
    assert render(plan, "text") == f"Warning: uk/groups/Stray: unmanaged\n\n{NO_CHANGES}\n"


def test_summary_line_counts_every_action(sample_plan):
    """The summary line counts each action in the documented wording."""
    last = render(sample_plan, "text").rstrip("\n").splitlines()[-1]
    assert last == "Plan: 3 to create, 1 to update, 1 to delete, 1 to replace, 1 unsupported."


def test_no_ansi_without_color_and_ansi_with_color(sample_plan):
    """Colour codes appear only when asked for, with green for creates and magenta for unsupported."""
    plain = render(sample_plan, "text")
    colored = render(sample_plan, "text", color=True)
    assert "\x1b[" not in plain
    assert "\x1b[32m+\x1b[0m groups Staff" in colored
    assert "\x1b[33m~\x1b[0m reminders bob-checkup" in colored
    assert "\x1b[31m-\x1b[0m groups Old" in colored
    assert "\x1b[35m!\x1b[0m campaigns vip-preview (unsupported)" in colored


def test_color_keeps_the_layout(sample_plan):
    """Stripping the colour codes from coloured text gives the plain text."""
    import re

    colored = render(sample_plan, "text", color=True)
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == render(sample_plan, "text")


def test_control_characters_stay_on_one_line():
    """Newlines and escape sequences in keys and values can't break lines or inject terminal codes."""
    change = Change("a", "contacts", "x\ny", Action.CREATE, after={"note": "line1\nline2\x1b[31m"})
    text = render(Plan(changes=(change,)), "text")
    assert "\x1b" not in text
    assert "  + contacts x\\u000ay" in text
    assert '      + note: "line1\\nline2\\u001b[31m"' in text


def test_small_delete_lists_attributes_and_large_one_does_not():
    """A delete shows the removed attributes only when there are few of them."""
    small = Change(
        "a",
        "groups",
        "Staff",
        Action.DELETE,
        before={"name": "Staff", "description": "Everyone", "private": False},
    )
    large = Change(
        "a", "contacts", "+46701234568", Action.DELETE, before={f"f{i}": i for i in range(SMALL_DELETE + 1)}
    )
    text = render(Plan(changes=(small, large)), "text")
    assert '      - description: "Everyone"\n      - private: false\n' in text
    assert "f0" not in text


def test_membership_shows_only_its_key():
    """A membership is fully named by its key (group|contact); no attribute lines follow it."""
    change = Change(
        "a",
        "memberships",
        "Staff|+46701234567",
        Action.CREATE,
        after={"group": "Staff", "contact": "+46701234567"},
    )
    assert render(Plan(changes=(change,)), "text").startswith(
        "Account a:\n  + memberships Staff|+46701234567\n\n"
    )


def test_update_reads_nested_before_and_after():
    """Update values given as nested mappings are found by their dotted field path."""
    change = Change(
        "a",
        "reminders",
        "r",
        Action.UPDATE,
        before={"attendant": {"mobile": "+1"}},
        after={"attendant": {"mobile": "+2"}},
        fields=("attendant.mobile",),
    )
    assert '      attendant.mobile: "+1" -> "+2"\n' in render(Plan(changes=(change,)), "text")


def test_update_shows_absent_side_as_none():
    """A field added by an update shows its missing old value as (none)."""
    change = Change(
        "a", "contacts", "k", Action.UPDATE, before={}, after={"email": "e@x.se"}, fields=("email",)
    )
    assert '      email: (none) -> "e@x.se"\n' in render(Plan(changes=(change,)), "text")


def test_unknown_format_is_rejected():
    """render() names the valid formats when given an unknown one."""
    with pytest.raises(ValueError, match="unknown format 'yaml'"):
        render(Plan(), "yaml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_the_empty_plan(fmt):
    """Every format renders a plan without changes, warnings or errors."""
    assert render(Plan(), fmt).endswith("\n")


def _large_plan() -> Plan:
    return Plan(
        changes=tuple(
            Change(
                "se-main",
                "contacts",
                f"+4670{i:07d}",
                Action.CREATE,
                after={"mobile": f"+4670{i:07d}", "first_name": f"N{i}", "groups": ["Staff"]},
            )
            for i in range(100_000)
        )
    )


def test_large_plan_renders_as_text():
    """A plan of 100,000 creates renders as text with three lines per change (linear rendering)."""
    text = render(_large_plan(), "text")
    assert text.endswith("Plan: 100000 to create, 0 to update, 0 to delete, 0 to replace, 0 unsupported.\n")
    assert text.count("\n") == 1 + 100_000 * 3 + 2


@pytest.mark.parametrize("fmt", ["json", "html", "junit"])
def test_large_plan_renders_in_other_formats(fmt):
    """A plan of 100,000 creates renders in every machine and report format (Markdown summarises it:
    tests/unit/test_render_markdown.py)."""
    assert "+46700099999" in render(_large_plan(), fmt)

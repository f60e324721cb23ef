"""Tests of the standalone HTML drift report."""

from __future__ import annotations

from html.parser import HTMLParser

from reconciler.changes import Action, Change
from reconciler.plan import Plan, Warning_
from reconciler.render import render


class _Tags(HTMLParser):
    """Collects start tags and their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        """Record one start tag."""
        self.tags.append((tag, dict(attrs)))


def _tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def test_html_golden(sample_plan, golden):
    """The representative plan renders exactly as tests/golden/plan.html."""
    golden("plan.html", render(sample_plan, "html", title="Drift report"))


def test_html_escapes_script_in_values():
    """A <script> in a key, a value, a warning or the title shows as text, never as a tag."""
    change = Change(
        "a",
        "contacts",
        "<script>k</script>",
        Action.CREATE,
        after={"first_name": "<script>alert(1)</script>"},
    )
    warning = Warning_("a", "contacts", "<b>", "<script>w</script>")
    text = render(Plan(changes=(change,), warnings=(warning,)), "html", title="<script>t</script>")
    assert "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "script" not in [tag for tag, _ in _tags(text)]


def test_html_is_standalone(sample_plan):
    """The page loads nothing from outside: no scripts, links, images or sources."""
    tags = _tags(render(sample_plan, "html"))
    assert not [t for t, attrs in tags if t in {"script", "link", "img", "iframe"} or "src" in attrs]


def test_html_lists_every_change_and_warning(sample_plan):
    """Each change is one table row and each warning one list item."""
    text = render(sample_plan, "html")
    rows = [attrs.get("class") for tag, attrs in _tags(text) if tag == "tr" and attrs.get("class")]
    assert rows == [
        c.action.value for c in sorted(sample_plan.changes, key=lambda c: _order(sample_plan.changes, c))
    ]
    assert text.count("<li>") == len(sample_plan.warnings) + len(sample_plan.errors)


def _order(changes, change):
    """Position of a change after grouping by account, then type (first appearance)."""
    accounts = list(dict.fromkeys(c.account for c in changes))
    types = list(dict.fromkeys((c.account, c.type) for c in changes))
    return (accounts.index(change.account), types.index((change.account, change.type)), changes.index(change))


def test_html_empty_plan():
    """An empty plan renders a page with the no-changes sentence and no tables."""
    text = render(Plan(), "html")
    assert "No changes. The accounts match the configuration." in text
    assert "<table>" not in text

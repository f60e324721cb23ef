"""Tests of the drift reports: text and Markdown wording, self-contained HTML, JUnit against its XSD."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from reconciler.drift import render
from reconciler.drift.mask import mask_report
from reconciler.drift.model import Cell, DriftReport, FailOn, FieldDiff, Item, Kind, Status
from reconciler.pii import Masker

XSD = Path(__file__).resolve().parents[1] / "fixtures" / "junit" / "jenkins-junit.xsd"
ZERO = {"changed": 0, "missing": 0, "extra": 0, "unmanaged": 0}
EVIL = '<script>alert("x")</script>|`*_\x1b[31m\n'


def sample(fail_on: frozenset[FailOn] = frozenset({FailOn.DRIFT})) -> DriftReport:
    """Two accounts: every status, every kind of item, and a hostile key."""
    cells = (
        Cell("bergen", "groups", "intime", Status.DRIFTED, dict(ZERO, unmanaged=1), 1, 2),
        Cell(
            "bergen",
            "contacts",
            "intime",
            Status.NOT_AUDITABLE,
            dict(ZERO),
            3,
            None,
            reason="InTime cannot list contacts",
            known="3 item(s) recorded in the state file",
        ),
        Cell("oslo", "groups", "intouch", Status.FAILED, dict(ZERO), 1, None, reason="list groups: HTTP 500"),
        Cell(
            "oslo",
            "contacts",
            "intouch",
            Status.DRIFTED,
            dict(ZERO, changed=1, missing=1, extra=1),
            2,
            2,
            since="2026-11-29T07:00:00Z",
            trend=(0, None, 3),
        ),
        Cell("oslo", "memberships", "intouch", Status.IN_SYNC, dict(ZERO), 1, 1),
    )
    items = (
        Item("bergen", "groups", EVIL, Kind.UNMANAGED, live={"name": EVIL}),
        Item(
            "oslo",
            "contacts",
            "+4790550001",
            Kind.CHANGED,
            (FieldDiff("first_name", "Karianne", "Kari"), FieldDiff("address.city", None, "Oslo")),
        ),
        Item(
            "oslo",
            "contacts",
            "+4790550002",
            Kind.MISSING,
            declared={"first_name": "Ola", "mobile": "+4790550002"},
        ),
        Item(
            "oslo", "contacts", "+4790550003", Kind.EXTRA, live={"first_name": "Per"}, notes=("pruned type",)
        ),
    )
    return DriftReport("2026-11-30T07:00:00Z", "0123456789ab", cells, items, fail_on=fail_on)


def test_text_shows_the_grid_first_then_differences_then_what_to_do():
    """The text report leads with the status grid and words each difference as live vs declared."""
    text = render(sample(), "text")
    lines = text.splitlines()
    assert lines[:6] == [
        "Drift report",
        "Checked at 2026-11-30T07:00:00Z; config revision 0123456789ab.",
        "",
        "account  groups       contacts       memberships",
        "bergen   drifted (1)  not auditable  -",
        "oslo     failed       drifted (3)    in sync",
    ]
    assert text.index("Differences:") < text.index("What to do:")
    assert '      first_name: live has "Karianne", declared "Kari"' in lines
    assert '      address.city: live has (none), declared "Oslo"' in lines
    assert '      declared, missing live: declared first_name "Ola"' in lines
    assert '      live only, not declared (apply deletes it): live has first_name "Per"' in lines
    assert "oslo / contacts: drifted: 1 changed, 1 missing live, 1 extra live " in text
    assert "(drifted since 2026-11-29T07:00:00Z; last 3 runs: 0 ? 3)" in text
    assert "  oslo / groups: list groups: HTTP 500." in lines
    assert "Run `reconciler apply` to restore the declared state" in text
    assert "\x1b" not in text and "\\u001b[31m\\u000a" in text


def test_markdown_escapes_values_so_tables_hold():
    """Every Markdown table row keeps its columns although a key holds pipes, backticks and HTML."""
    text = render(sample(), "markdown")
    assert "<script>" not in text and "\x1b" not in text
    for line in text.splitlines():
        if line.startswith("| unmanaged live"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 4, line
    assert "| account | groups | contacts | memberships |" in text
    assert "- Run `reconciler apply` to restore the declared state" in text


def test_html_is_self_contained_and_escapes_everything():
    """No external asset is loaded, hostile text stays text, and the page is made for phones and print."""
    page = render(sample(), "html")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page
    assert page.count("<script>") == 1  # ours; the hostile one is escaped
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media print" in page and "@media (max-width: 40rem)" in page
    assert "Checked at <time>2026-11-30T07:00:00Z</time>; config revision <code>0123456789ab</code>" in page
    assert 'data-account="oslo" data-type="contacts" data-kind="changed"' in page
    assert '<select name="kind"><option value="">all</option><option value="changed">' in page


def test_junit_has_one_case_per_checked_type_and_validates_against_the_jenkins_xsd():
    """Each account/type is a testcase: pass in sync, failure on drift, error on failed read, skipped."""
    text = render(sample(), "junit")
    xmlschema.XMLSchema(str(XSD)).validate(text)
    root = ET.fromstring(text)
    outcome = {}
    for case in root.iter("testcase"):
        kinds = [child.tag for child in case if child.tag != "system-out"]
        outcome[(case.get("classname"), case.get("name"))] = kinds[0] if kinds else "passed"
    assert outcome == {
        ("bergen", "groups"): "passed",  # unmanaged only: not failing by default
        ("bergen", "contacts"): "skipped",
        ("oslo", "groups"): "error",
        ("oslo", "contacts"): "failure",
        ("oslo", "memberships"): "passed",
    }
    assert root.attrib["tests"] == "5" and root.attrib["failures"] == "1" and root.attrib["errors"] == "1"
    failure = root.find(".//testcase[@name='contacts'][@classname='oslo']/failure")
    assert failure is not None and 'first_name: live has "Karianne", declared "Kari"' in (failure.text or "")


@pytest.mark.parametrize(
    ("fail_on", "bergen_groups", "bergen_contacts"),
    [
        (frozenset({FailOn.UNMANAGED}), "failure", "skipped"),
        (frozenset({FailOn.UNAUDITABLE}), "passed", "failure"),
    ],
)
def test_junit_follows_fail_on(fail_on, bergen_groups, bergen_contacts):
    """--fail-on unmanaged fails unmanaged-only cases; --fail-on unauditable fails not auditable ones."""
    root = ET.fromstring(render(sample(fail_on), "junit"))
    xmlschema.XMLSchema(str(XSD)).validate(render(sample(fail_on), "junit"))
    found = {}
    for case in root.iter("testcase"):
        kinds = [c.tag for c in case if c.tag != "system-out"]
        found[(case.get("classname"), case.get("name"))] = kinds[0] if kinds else "passed"
    assert found[("bergen", "groups")] == bergen_groups
    assert found[("bergen", "contacts")] == bergen_contacts


def test_junit_of_an_empty_scope_is_still_valid():
    """A report with no cells renders as an empty, valid testsuites document."""
    text = render(DriftReport("2026-11-30T07:00:00Z", ""), "junit")
    xmlschema.XMLSchema(str(XSD)).validate(text)
    assert ET.fromstring(text).attrib["tests"] == "0"


def test_masking_hides_numbers_and_names_in_every_part():
    """Masked, no number or declared/live name survives in keys, fields, attributes or notes."""
    report = sample()
    noted = DriftReport(
        report.checked_at,
        report.revision,
        report.cells,
        (*report.items, Item("oslo", "contacts", "+4790550004", Kind.CHANGED, notes=("Kari moved",))),
    )
    masked = mask_report(noted, Masker(b"k" * 32))
    for fmt in ("text", "markdown", "html", "junit", "json"):
        out = render(masked, fmt)
        for secret in ("4790550001", "Karianne", "Kari", "Ola", "Per"):
            assert secret not in out, (fmt, secret)
    assert "Oslo" in render(masked, "text")  # a city is not personal data


def test_markdown_folds_long_tables_and_html_links_the_grid_to_each_account():
    """120 unmanaged items: 50 rows shown, 70 folded in <details>; the HTML grid links to the account."""
    cells = (Cell("oslo", "contacts", "intouch", Status.DRIFTED, dict(ZERO, unmanaged=120), 0, 120),)
    items = tuple(Item("oslo", "contacts", f"+47905{i:05d}", Kind.UNMANAGED) for i in range(120))
    report = DriftReport("2026-11-30T07:00:00Z", "", cells, items)
    text = render(report, "markdown")
    shown, _, folded = text.partition("<details><summary>70 more</summary>")
    assert shown.count("| unmanaged live |") == 50 and folded.count("| unmanaged live |") == 70
    page = render(report, "html")
    assert '<th scope="row"><a href="#account-1">oslo</a></th>' in page
    assert '<section class="account" id="account-1" data-account="oslo">' in page

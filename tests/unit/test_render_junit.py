"""Tests of the JUnit XML renderer for CI drift audits."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reconciler.changes import Action, Change
from reconciler.plan import Plan, Warning_
from reconciler.render import render


def test_junit_golden(sample_plan, golden):
    """The representative plan renders exactly as tests/golden/plan.junit.xml."""
    golden("plan.junit.xml", render(sample_plan, "junit", title="Drift report"))


def test_junit_structure(sample_plan):
    """One suite per account, one case per (account, type), failures for cases with changes."""
    root = ET.fromstring(render(sample_plan, "junit"))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["se-main", "uk", "plan"]
    se = suites["se-main"]
    assert [c.get("name") for c in se.findall("testcase")] == ["groups", "contacts", "reminders", "campaigns"]
    assert se.get("tests") == "4" and se.get("failures") == "4"
    uk_cases = {c.get("name"): c for c in suites["uk"].findall("testcase")}
    assert uk_cases["phone_lists"].find("failure") is None
    assert "VIP customers" in uk_cases["phone_lists"].findtext("system-out")
    assert "(unsupported)" in uk_cases["campaigns"].findtext("failure")
    assert root.get("tests") == "7" and root.get("failures") == "5" and root.get("errors") == "1"


def test_junit_failure_lists_drift_lines(sample_plan):
    """A failing case carries the text-format lines of its changes."""
    root = ET.fromstring(render(sample_plan, "junit"))
    case = root.find("testsuite[@name='se-main']/testcase[@name='reminders']")
    failure = case.find("failure")
    assert failure.get("message") == "2 changes (1 create, 1 update)"
    assert '      attendant.mobile: "+46709876500" -> "+46709876501"\n' in failure.text


def test_junit_escapes_markup_and_control_characters():
    """Markup and control characters in keys and values still give well-formed XML."""
    change = Change("a&b", "groups", "<x>\x01", Action.CREATE, after={"note": "]]> & <y/>"})
    warning = Warning_("a&b", "groups", "\x1b[31m", "<z>")
    root = ET.fromstring(render(Plan(changes=(change,), warnings=(warning,)), "junit"))
    assert root.find("testsuite").get("name") == "a&b"
    assert "<x>\\u0001" in root.find(".//failure").text


def test_junit_no_drift_is_one_passing_case():
    """A plan with nothing to report is one passing testcase."""
    root = ET.fromstring(render(Plan(), "junit"))
    cases = root.findall(".//testcase")
    assert len(cases) == 1 and len(cases[0]) == 0
    assert root.get("tests") == "1" and root.get("failures") == "0"

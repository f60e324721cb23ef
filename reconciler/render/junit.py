"""The plan as JUnit XML (``plan --format junit``), for CI systems that show test reports.

One ``<testsuite>`` per account, one ``<testcase>`` per (account, type) that has changes or
warnings (``classname`` = account, ``name`` = type). A testcase with changes fails; its
``<failure>`` lists the change lines in the text format, unsupported changes included. Warnings
go to the testcase's ``<system-out>``. Plan errors make one extra suite ``plan`` whose testcase
``errors`` carries an ``<error>``. A plan with nothing to report still holds one passing
testcase ``no changes``, so CI shows the plan ran. ElementTree does the XML escaping.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reconciler.changes import Change
from reconciler.plan import Plan, Warning_
from reconciler.render.text import change_lines, printable, warning_label

DEFAULT_TITLE = "reconciler plan"


def _drift_lines(changes: list[Change]) -> str:
    return "".join(line + "\n" for change in changes for line in change_lines(change))


def _counts(changes: list[Change]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action.value] = counts.get(change.action.value, 0) + 1
    return ", ".join(f"{n} {a}" for a, n in counts.items())


def _case(
    suite: ET.Element, account: str, type_: str, changes: list[Change], warnings: list[Warning_]
) -> None:
    case = ET.SubElement(suite, "testcase", classname=printable(account), name=printable(type_))
    if changes:
        noun = "change" if len(changes) == 1 else "changes"
        failure = ET.SubElement(
            case, "failure", type="drift", message=f"{len(changes)} {noun} ({_counts(changes)})"
        )
        failure.text = _drift_lines(changes)
    if warnings:
        out = ET.SubElement(case, "system-out")
        out.text = "".join(f"Warning: {warning_label(w)}\n" for w in warnings)


def render_junit(plan: Plan, *, title: str = "") -> str:
    """The plan as a JUnit XML document (``<testsuites>``), ending with a newline."""
    cases: dict[str, dict[str, tuple[list[Change], list[Warning_]]]] = {}
    for change in plan.changes:
        cases.setdefault(change.account, {}).setdefault(change.type, ([], []))[0].append(change)
    for warning in plan.warnings:
        cases.setdefault(warning.account, {}).setdefault(warning.type, ([], []))[1].append(warning)

    root = ET.Element("testsuites", name=printable(title or DEFAULT_TITLE))
    total = failures = errors = 0
    for account, by_type in cases.items():
        suite = ET.SubElement(root, "testsuite", name=printable(account))
        failed = sum(1 for changes, _ in by_type.values() if changes)
        suite.attrib.update(tests=str(len(by_type)), failures=str(failed), errors="0", skipped="0")
        if plan.created_at:
            suite.set("timestamp", plan.created_at)
        for type_, (changes, warnings) in by_type.items():
            _case(suite, account, type_, changes, warnings)
        total += len(by_type)
        failures += failed
    if plan.errors:
        suite = ET.SubElement(root, "testsuite", name="plan", tests="1", failures="0", errors="1")
        suite.set("skipped", "0")
        case = ET.SubElement(suite, "testcase", classname="plan", name="errors")
        noun = "error" if len(plan.errors) == 1 else "errors"
        error = ET.SubElement(case, "error", type="plan", message=f"{len(plan.errors)} plan {noun}")
        error.text = "".join(f"Error: {printable(str(e))}\n" for e in plan.errors)
        total += 1
        errors += 1
    if total == 0:
        suite = ET.SubElement(root, "testsuite", name="reconciler", tests="1", failures="0", errors="0")
        suite.set("skipped", "0")
        ET.SubElement(suite, "testcase", classname="reconciler", name="no changes")
        total = 1
    root.attrib.update(tests=str(total), failures=str(failures), errors=str(errors))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

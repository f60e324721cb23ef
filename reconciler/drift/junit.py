"""The drift report as JUnit XML (the Jenkins/Ant format CI systems read).

One ``<testsuite>`` per account, one ``<testcase>`` per account and type that was checked
(``classname`` = account, ``name`` = type), so every audited account/type shows in CI:

- in sync: the testcase passes;
- drifted: it fails (``<failure type="drift">`` listing each item as ``live has X, declared Y``)
  when its findings fail the audit under ``--fail-on``; otherwise (unmanaged items only) it passes
  and lists them in ``<system-out>``;
- failed read: ``<error type="read-failed">`` with the reason;
- not auditable: ``<skipped>`` with the reason and what the state file knows (a ``<failure>``
  when ``--fail-on unauditable``).

Plan-level errors add a suite ``reconciler`` with an erroring testcase ``plan``. ElementTree
escapes the XML; control characters are shown as escapes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reconciler.drift.model import Cell, DriftReport, Status, cell_label
from reconciler.drift.text import item_lines, item_title
from reconciler.render.text import printable


def _details(report: DriftReport, cell: Cell) -> str:
    lines = []
    for item in report.items_of(cell):
        lines.append(item_title(item))
        lines += ["    " + line for line in item_lines(item)]
    if cell.since:
        lines.append(f"drifted since {cell.since}")
    return "".join(line + "\n" for line in lines)


def _case(suite: ET.Element, report: DriftReport, cell: Cell) -> str:
    """Add the testcase of ``cell``; return its outcome (passed, failure, error, skipped)."""
    case = ET.SubElement(suite, "testcase", classname=printable(cell.account), name=printable(cell.type))
    case.set("time", "0")
    if cell.status is Status.FAILED:
        error = ET.SubElement(case, "error", type="read-failed", message=printable(cell.reason))
        error.text = printable(cell.reason) + "\n"
        return "error"
    if cell.status is Status.NOT_AUDITABLE:
        message = printable(f"not auditable: {cell.reason}")
        if cell.fails(report.fail_on):
            failure = ET.SubElement(case, "failure", type="not-auditable", message=message)
            failure.text = printable(f"Known from state: {cell.known}") + "\n"
            return "failure"
        ET.SubElement(case, "skipped", message=printable(f"{message}. Known from state: {cell.known}"))
        return "skipped"
    if cell.status is Status.DRIFTED:
        details = _details(report, cell)
        if cell.fails(report.fail_on):
            failure = ET.SubElement(case, "failure", type="drift", message=printable(cell_label(cell)))
            failure.text = details
            return "failure"
        out = ET.SubElement(case, "system-out")
        out.text = details
    return "passed"


def render_junit(report: DriftReport) -> str:
    """The report as a JUnit XML document (``<testsuites>``), ending with a newline."""
    root = ET.Element("testsuites", name="reconciler drift")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    plural = {"failure": "failures", "error": "errors", "skipped": "skipped"}
    for account in report.accounts:
        suite = ET.SubElement(root, "testsuite", name=printable(account))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for cell in report.cells:
            if cell.account != account:
                continue
            outcome = _case(suite, report, cell)
            counts["tests"] += 1
            if outcome in plural:
                counts[plural[outcome]] += 1
        suite.attrib.update({k: str(v) for k, v in counts.items()})
        suite.set("time", "0")
        if report.checked_at:
            suite.set("timestamp", report.checked_at.rstrip("Z"))
        for key, number in counts.items():
            totals[key] += number
    if report.errors:
        suite = ET.SubElement(root, "testsuite", name="reconciler", tests="1", failures="0", errors="1")
        suite.attrib.update(skipped="0", time="0")
        case = ET.SubElement(suite, "testcase", classname="reconciler", name="plan", time="0")
        noun = "error" if len(report.errors) == 1 else "errors"
        error = ET.SubElement(case, "error", type="plan", message=f"{len(report.errors)} plan {noun}")
        error.text = "".join(f"Error: {printable(e)}\n" for e in report.errors)
        totals["tests"] += 1
        totals["errors"] += 1
    root.attrib.update({k: str(v) for k, v in totals.items() if k != "skipped"})
    root.set("time", "0")
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

"""Drift audits: a model of what differs between the config and the live accounts, and its reports.

``build.py`` makes a :class:`~reconciler.drift.model.DriftReport` from the planner's output;
``text.py``, ``html.py`` and ``junit.py`` render it (and :meth:`DriftReport.to_json`, validated by
``schemas/drift.schema.json``); ``history.py`` keeps one line per run (drifted since, trend);
``notify.py`` posts to a webhook when the drift state changes; ``mask.py`` hides personal data.
See ``docs/drift.md``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from reconciler.drift.html import render_html
from reconciler.drift.junit import render_junit
from reconciler.drift.model import DriftReport
from reconciler.drift.text import render_markdown, render_text

FORMATS = ("text", "json", "markdown", "junit", "html")


def render(report: DriftReport, fmt: str) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`); raises ValueError for others."""
    if fmt == "text":
        return render_text(report)
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    if fmt == "junit":
        return render_junit(report)
    message = f"drift: unknown format {fmt!r} (use one of: {', '.join(FORMATS)})"
    raise ValueError(message)


def git_revision(root: Path) -> str:
    """The git commit of the config at ``root`` (12 hex digits, ``+changes`` when the work tree
    differs from it), or "" when it is not in a git repository or git is missing."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    revision = head.stdout.strip()
    return revision + ("+changes" if dirty.returncode == 0 and dirty.stdout.strip() else "")


__all__ = ["FORMATS", "DriftReport", "git_revision", "render"]

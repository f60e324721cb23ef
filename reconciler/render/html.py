"""The plan as a standalone HTML page for drift reports: no scripts, no external assets.

Every value from the plan passes through :func:`html.escape`, so a key or attribute holding
``<script>`` shows as text.
"""

from __future__ import annotations

import html

from reconciler.changes import Change
from reconciler.plan import Plan
from reconciler.render.impact import impact_text, totals, with_impact
from reconciler.render.text import details, group_changes, printable, summary_line, warning_label

DEFAULT_TITLE = "Reconciler plan"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2328; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.details { font-family: ui-monospace, monospace; font-size: 0.9em; white-space: pre-wrap; }
tr.create td.action { color: #1a7f37; } tr.update td.action { color: #9a6700; }
tr.delete td.action { color: #cf222e; } tr.replace td.action { color: #bc4c00; }
tr.unsupported td.action { color: #8250df; }
.warnings li { color: #9a6700; } .errors li { color: #cf222e; }
""".strip()


def _e(text: str) -> str:
    return html.escape(printable(text), quote=True)


def _row(change: Change) -> str:
    lines = []
    for detail in details(change):
        prefix = "" if detail.sign == "~" else f"{detail.sign} "
        lines.append(_e(prefix + detail.text))
    action = change.action.value
    return (
        f'<tr class="{action}"><td>{_e(change.account)}</td><td>{_e(change.type)}</td>'
        f'<td>{_e(change.key)}</td><td class="action">{_e(change.action.symbol)} {action}</td>'
        f'<td class="details">{"<br>".join(lines)}</td></tr>'
    )


def render_html(plan: Plan, *, title: str = "") -> str:
    """The plan as one self-contained HTML5 document; ``title`` defaults to "Reconciler plan"."""
    heading = _e(title or DEFAULT_TITLE)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{heading}</title>",
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{heading}</h1>",
    ]
    if plan.created_at:
        out.append(f"<p>Created at {_e(plan.created_at)}</p>")
    out.append(f'<p class="summary"><strong>{_e(summary_line(plan))}</strong></p>')
    if plan.has_changes:
        out += ["<h2>Summary</h2>", "<table>", "<tr><th>Action</th><th>Count</th></tr>"]
        out += [f"<tr><td>{a}</td><td>{n}</td></tr>" for a, n in plan.summary.items()]
        out += ["</table>", "<h2>Changes</h2>", "<table>"]
        out.append("<tr><th>Account</th><th>Type</th><th>Key</th><th>Action</th><th>Details</th></tr>")
        for by_type in group_changes(plan.changes).values():
            for changes in by_type.values():
                out += [_row(c) for c in changes]
        out.append("</table>")
    sending = with_impact(plan.changes)
    if sending:
        out += ["<h2>Send impact</h2>", '<table class="impact">']
        out.append("<tr><th>Account</th><th>Campaign</th><th>Action</th><th>Impact</th></tr>")
        out += [
            f"<tr><td>{_e(c.account)}</td><td>{_e(c.key)}</td><td>{c.action.value}</td>"
            f"<td>{_e(impact_text(c.impact or {}))}</td></tr>"
            for c in sending
        ]
        out += ["</table>", "<ul>"]
        out += [f"<li><strong>{_e(str(total))}</strong></li>" for total in totals(sending)]
        out.append("</ul>")
    if plan.warnings:
        out += ["<h2>Warnings</h2>", '<ul class="warnings">']
        out += [f"<li>{_e(warning_label(w))}</li>" for w in plan.warnings]
        out.append("</ul>")
    if plan.errors:
        out += ["<h2>Errors</h2>", '<ul class="errors">']
        out += [f"<li>{_e(str(e))}</li>" for e in plan.errors]
        out.append("</ul>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"

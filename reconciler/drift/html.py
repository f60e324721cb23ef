"""The drift report as one self-contained HTML file: no external assets, one small inline script.

Sections: the check's time and config revision, the status grid (accounts x types), the
differences per account in tables that sort by a click on a column heading and filter by account,
type and kind (the filters apply to every table and are kept in the address, ``#account=oslo&kind=
changed``, so a link opens the report filtered), failed and not auditable types with their
reasons, and what to do. Without the script everything is still shown. The layout fits a phone
(tables scroll sideways, the grid keeps its account column) and prints without the controls.

Every value passes through :func:`html.escape`, so a key or a live value holding ``<script>``
shows as text.
"""

from __future__ import annotations

import html

from reconciler.drift.model import KINDS, Cell, DriftReport, Item, Status, cell_label, summary_sentence
from reconciler.drift.text import TITLE, advice, grid_label, item_lines, sparkline, trend_text
from reconciler.render.text import printable

_STYLE = """
:root { --ok: #1a7f37; --drift: #9a6700; --fail: #cf222e; --na: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, sans-serif; margin: 0 auto; padding: 1rem;
       max-width: 72rem; color: #1f2328; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin-top: 1.5rem; }
.meta { color: #57606a; margin: 0 0 1rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; margin: .5rem 0; min-width: 100%; }
th, td { border: 1px solid var(--line); padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
th button { all: inherit; cursor: pointer; padding: 0; border: 0; background: none; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
#grid th:first-child, #grid td:first-child { position: sticky; left: 0; background: #f6f8fa; }
#grid a { color: inherit; }
td.in_sync { color: var(--ok); } td.drifted { color: var(--drift); font-weight: 600; }
td.failed { color: var(--fail); font-weight: 600; } td.not_auditable, td.absent { color: var(--na); }
td.details { font-family: ui-monospace, monospace; font-size: .9em; white-space: pre-wrap;
             overflow-wrap: anywhere; }
.since { display: block; font-weight: normal; font-size: .85em; color: #57606a; }
.trend { font-family: ui-monospace, monospace; letter-spacing: 1px; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; margin: .5rem 0; }
.filters label { display: flex; gap: .3rem; align-items: center; }
.filters select { font: inherit; padding: .2rem; }
ul.findings li { margin: .25rem 0; }
.failed-list li { color: var(--fail); }
@media (max-width: 40rem) {
  body { padding: .5rem; } th, td { padding: .25rem .4rem; } .filters { flex-direction: column; }
  table.sortable, table.sortable tbody, table.sortable tr, table.sortable td { display: block; }
  table.sortable thead { display: none; }
  table.sortable tr { border: 1px solid var(--line); margin: .5rem 0; }
  table.sortable tr[hidden] { display: none; }
  table.sortable td { border: 0; border-top: 1px solid #eaeef2; overflow-wrap: anywhere; }
  table.sortable td:first-child { border-top: 0; font-weight: 600; }
  table.sortable td[data-label]::before { content: attr(data-label) ": "; color: #57606a; font-weight: normal;
    font-family: system-ui, sans-serif; }
  table.sortable td:empty { display: none; }
}
@media print {
  .filters, noscript { display: none; } .scroll { overflow: visible; }
  body { max-width: none; } tr { break-inside: avoid; } th button::after { content: none; }
}
""".strip()

# Sorting and filtering; the report reads the same without it.
_SCRIPT = """
(function () {
  function key(cell) { return (cell.getAttribute("data-sort") || cell.textContent).trim(); }
  document.querySelectorAll("table.sortable th").forEach(function (th, _, all) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var table = th.closest("table"), body = table.tBodies[0];
      var index = Array.prototype.indexOf.call(th.parentNode.children, th);
      var up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[index]), y = key(b.cells[index]);
        var n = x.localeCompare(y, undefined, {numeric: true});
        return up ? n : -n;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  var selects = document.querySelectorAll(".filters select");
  function apply() {
    var want = {}, shown = new URLSearchParams();
    selects.forEach(function (s) { want[s.name] = s.value; if (s.value) { shown.set(s.name, s.value); } });
    try { history.replaceState(null, "", "#" + shown.toString()); } catch (e) { /* file: in some browsers */ }
    document.querySelectorAll("tr[data-account]").forEach(function (row) {
      var show = Object.keys(want).every(function (k) {
        return !want[k] || row.getAttribute("data-" + k) === want[k];
      });
      row.hidden = !show;
    });
    document.querySelectorAll("section.account").forEach(function (section) {
      section.hidden = want.account && section.getAttribute("data-account") !== want.account;
    });
  }
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  var asked = new URLSearchParams(location.hash.slice(1));  /* a link can carry the filters */
  selects.forEach(function (s) { if (asked.has(s.name)) { s.value = asked.get(s.name); } });
  if (asked.toString()) { apply(); }
})();
""".strip()


def _e(text: str) -> str:
    return html.escape(printable(text), quote=True)


def _grid(report: DriftReport) -> list[str]:
    out = ['<div class="scroll"><table id="grid">', "<thead><tr><th>Account</th>"]
    out += [f'<th scope="col">{_e(t)}</th>' for t in report.types]
    out += ["</tr></thead>", "<tbody>"]
    for number, account in enumerate(report.accounts, start=1):
        row = [f'<tr><th scope="row"><a href="#account-{number}">{_e(account)}</a></th>']
        for type_ in report.types:
            cell = report.cell(account, type_)
            if cell is None:
                row.append(
                    f'<td class="absent" title="not offered by the provider">{_e(grid_label(None))}</td>'
                )
                continue
            since = f'<span class="since">since {_e(cell.since)}</span>' if cell.since else ""
            label = f"{_e(grid_label(cell))}{since}"
            row.append(f'<td class="{cell.status.value}" title="{_e(cell_label(cell))}">{label}</td>')
        out.append("".join(row) + "</tr>")
    out += ["</tbody></table></div>"]
    return out


def _filters(report: DriftReport) -> list[str]:
    def select(name: str, label: str, values: list[str]) -> str:
        options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
        return f'<label>{label} <select name="{name}"><option value="">all</option>{options}</select></label>'

    kinds = [k.value for k in KINDS if any(i.kind is k for i in report.items)]
    return [
        '<div class="filters" role="search">',
        select("account", "Account", report.accounts),
        select("type", "Type", report.types),
        select("kind", "Kind", kinds),
        "</div>",
    ]


def _item_row(item: Item) -> str:
    details = "<br>".join(_e(line) for line in item_lines(item))
    return (
        f'<tr data-account="{_e(item.account)}" data-type="{_e(item.type)}" data-kind="{item.kind.value}">'
        f'<td data-label="Type">{_e(item.type)}</td><td data-label="Key">{_e(item.key)}</td>'
        f'<td data-label="Kind">{_e(item.kind.label)}</td><td class="details">{details}</td></tr>'
    )


def _sortable_head(*names: str) -> str:
    cells = "".join(f'<th scope="col"><button type="button">{n}</button></th>' for n in names)
    return f"<thead><tr>{cells}</tr></thead>"


def _account_cells(cells: list[Cell]) -> list[str]:
    out = ['<div class="scroll"><table class="sortable cells">']
    out.append(_sortable_head("Type", "Status", "Declared", "Live", "Drifted since", "Last runs"))
    out.append("<tbody>")
    for cell in cells:
        live = "" if cell.live is None else str(cell.live)
        trend = ""
        if trend_text(cell):
            trend = f'<span class="trend" title="{_e(trend_text(cell))}">{_e(sparkline(cell.trend))}</span>'
        status = cell_label(cell) + (f": {cell.reason}" if cell.reason else "")
        if cell.known:
            status += f". Known from state: {cell.known}"
        out.append(
            f'<tr data-account="{_e(cell.account)}" data-type="{_e(cell.type)}" data-kind="">'
            f'<td>{_e(cell.type)}</td><td class="{cell.status.value}">{_e(status)}</td>'
            f'<td data-label="Declared">{cell.declared}</td><td data-label="Live">{live}</td>'
            f'<td data-label="Drifted since">{_e(cell.since)}</td>'
            f'<td data-label="Last runs">{trend}</td></tr>'
        )
    out.append("</tbody></table></div>")
    return out


def _account(report: DriftReport, account: str, number: int) -> list[str]:
    cells = [c for c in report.cells if c.account == account]
    out = [
        f'<section class="account" id="account-{number}" data-account="{_e(account)}">',
        f"<h3>Account {_e(account)}</h3>",
    ]
    out += _account_cells(cells)
    items = [i for i in report.items if i.account == account]
    if items:
        out += [
            '<div class="scroll"><table class="sortable items">',
            _sortable_head("Type", "Key", "Kind", "Details"),
        ]
        out += ["<tbody>", *(_item_row(i) for i in items), "</tbody></table></div>"]
    out.append("</section>")
    return out


def render_html(report: DriftReport) -> str:
    """The report as one self-contained HTML5 document, ending with a newline."""
    revision = report.revision or "unknown"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{TITLE} {_e(report.checked_at)}</title>",
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{TITLE}</h1>",
        f'<p class="meta">Checked at <time>{_e(report.checked_at)}</time>; config revision '
        f"<code>{_e(revision)}</code>.</p>",
        f'<p class="summary"><strong>{_e(summary_sentence(report))}</strong></p>',
        "<h2>Status</h2>",
        *_grid(report),
    ]
    if report.cells:
        out += ["<h2>Accounts</h2>", *_filters(report)]
        for number, account in enumerate(report.accounts, start=1):
            out += _account(report, account, number)
    failed = [c for c in report.cells if c.status is Status.FAILED]
    if failed:
        out += ["<h2>Failed reads</h2>", '<ul class="findings failed-list">']
        out += [f"<li><strong>{_e(c.name)}</strong>: {_e(c.reason)}</li>" for c in failed]
        out.append("</ul>")
    if report.warnings:
        out += [
            "<h2>Warnings</h2>",
            '<ul class="findings">',
            *(f"<li>{_e(w)}</li>" for w in report.warnings),
            "</ul>",
        ]
    if report.errors:
        out += ["<h2>Errors</h2>", '<ul class="findings failed-list">']
        out += [f"<li>{_e(e)}</li>" for e in report.errors]
        out.append("</ul>")
    out += ["<h2>What to do</h2>", '<ul class="findings">']
    out += [f"<li>{_code(line)}</li>" for line in advice(report)]
    out += ["</ul>", f"<script>\n{_SCRIPT}\n</script>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _code(line: str) -> str:
    parts = line.split("`")
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(parts))

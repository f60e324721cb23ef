"""The HTML drift report opened in headless Chromium: the status grid as rendered, and a screenshot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests import browser
from tests.e2e.conftest import Emu, make_repo
from tests.e2e.test_e2e_drift import BERGEN, OSLO

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser, installed from the OS packages when missing; a skip only outside CI."""
    path, why = browser.find_or_install()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"headless Chromium is required under CI=true: {why}")
        pytest.skip(f"headless Chromium is not available: {why}")
    return path


class _Dom(HTMLParser):
    """The text of each row of ``table#grid``, and which account sections are hidden."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.hidden_sections: list[str] = []
        self.shown_sections: list[str] = []
        self._in_grid = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "table" and named.get("id") == "grid":
            self._in_grid = True
        elif self._in_grid and tag == "tr":
            self.rows.append([])
        elif self._in_grid and tag in ("td", "th"):
            self._cell = []
        elif tag == "section" and "account" in (named.get("class") or ""):
            target = self.hidden_sections if "hidden" in named else self.shown_sections
            target.append(named.get("data-account") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_grid = False
        elif self._in_grid and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data + " ")


def dom(text: str) -> _Dom:
    parsed = _Dom()
    parsed.feed(text)
    return parsed


@pytest.fixture
def report(tmp_path: Path, intouch: Emu, intime: Emu) -> Iterator[Path]:
    """An HTML drift report of two accounts: one changed and one unmanaged contact, one failed read."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch), "bergen": ("intime", intime)}, region="NO")
    repo.write("oslo.yaml", OSLO)
    repo.write("bergen.yaml", BERGEN)
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    intouch.emulator.rename_contact("4790550001", first_name="Karianne")
    intouch.emulator.add_contact("4790550099", first_name="Per", last_name="Olsen")
    intime.emulator.faults = intime.emulator.faults.parse("error:path=reminder")
    out = tmp_path / "drift.html"
    result = repo.cli("drift", str(tmp_path), "--format", "html", "--output", str(out))
    assert result.exit_code == 1, result.output  # a failed read is an error
    yield out


@pytest.mark.timeout(900)  # the first run may install the browser
def test_status_grid_renders_in_chromium_and_a_screenshot_is_kept(
    chromium: str, report: Path, tmp_path: Path
):
    """Chromium renders the grid (accounts x types, with statuses) and a phone-width screenshot is saved."""
    dumped = browser.run(chromium, tmp_path / "profile-dom", "--dump-dom", report.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    rows = dom(dumped.stdout).rows
    assert rows[0] == ["Account", "groups", "contacts", "memberships", "blocklist", "reminders", "campaigns"]
    bergen, oslo = rows[1], rows[2]
    assert bergen == ["bergen", "in sync", "not auditable", "-", "in sync", "failed", "not auditable"]
    assert oslo[:4] == ["oslo", "in sync", "drifted (2)", "in sync"]
    assert oslo[4:] == ["-", "-", "-"]

    shot = tmp_path / "drift-report.png"
    taken = browser.run(
        chromium, tmp_path / "profile-shot", "--window-size=390,1800", f"--screenshot={shot}", report.as_uri()
    )
    assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "drift-report.png")
    shutil.copy(report, ARTIFACTS / "drift-report.html")


@pytest.mark.timeout(900)
def test_filters_in_the_address_hide_other_accounts_in_chromium(chromium: str, report: Path, tmp_path: Path):
    """Opening the report with ``#account=oslo`` runs the inline script: the bergen section is hidden."""
    dumped = browser.run(chromium, tmp_path / "profile", "--dump-dom", report.as_uri() + "#account=oslo")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    parsed = dom(dumped.stdout)
    assert parsed.hidden_sections == ["bergen"] and parsed.shown_sections == ["oslo"]
    plain = dom(report.read_text(encoding="utf-8"))
    assert plain.hidden_sections == [] and plain.shown_sections == ["bergen", "oslo"]

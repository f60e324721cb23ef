"""PII in every output format of a plan and a drift report, end to end against the Intouch emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.conftest import Emu, Repo, make_repo

PEOPLE = """\
account: oslo
groups:
  - name: Staff
contacts:
  - {mobile: "+47 905 50 000", first_name: Ingrid, last_name: Haugland, email: ingrid.haugen@fjord.no}
  - {mobile: "+47 905 50 001", first_name: Sigurd, last_name: Brekke, email: sigurd@brekke.no,
     groups: [Staff]}
"""
# Every number, e-mail address and name declared above or living in the account, in each form a
# renderer could print it.
PII = (
    "+4790550000", "90550000", "+4790550001", "90550001", "+4790550002", "90550002",
    "ingrid.haugen@fjord.no", "sigurd@brekke.no",
    "Ingrid", "Haugen", "Haugland", "Sigurd", "Brekke",
)  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]
PLAN_FORMATS = ("text", "json", "markdown", "html", "junit")
DRIFT_FORMATS = ("text", "json", "markdown", "junit", "html")
MASKED = {"markdown", "html", "junit"}


@pytest.fixture
def repo(tmp_path: Path, intouch: Emu) -> Repo:
    """A repo with one contact to update, one to create, and an unmanaged live contact."""
    intouch.emulator.add_contact(
        "4790550000", first_name="Ingrid", last_name="Haugen", email="ingrid.haugen@fjord.no"
    )
    intouch.emulator.add_contact("4790550002", first_name="Torvald", last_name="Lunde")
    made = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    made.write("people.yaml", PEOPLE)
    made.env = dict(made.env, CI="", RECONCILER_PII_KEY="")
    return made


def _outputs(repo: Repo, *flags: str) -> dict[tuple[str, str], str]:
    out = {}
    for command, formats in (("plan", PLAN_FORMATS), ("drift", DRIFT_FORMATS)):
        for fmt in formats:
            result = repo.cli(command, str(repo.root), "--format", fmt, *flags)
            assert result.exit_code == 2, (command, fmt, result.output)
            out[(command, fmt)] = result.stdout
    return out


def _leaks(text: str) -> list[str]:
    return [value for value in PII if value in text]


def test_shared_formats_mask_every_number_address_and_name(repo: Repo) -> None:
    """By default Markdown, HTML and JUnit show no declared or live PII; text and JSON show it."""
    for (command, fmt), text in _outputs(repo).items():
        if fmt in MASKED:
            assert _leaks(text) == [], (command, fmt, text)
            assert re.search(r"\+47 90\u2022{4}00 \\?#[0-9a-f]{6}", text), (command, fmt)
        else:
            # Unchanged values of an updated contact (Ingrid, her address) are not printed at all.
            assert {"+4790550001", "Sigurd", "sigurd@brekke.no", "Haugen", "Haugland"} <= set(_leaks(text))


def test_mask_pii_masks_text_and_json_too(repo: Repo) -> None:
    """--mask-pii leaves no PII in any format (the unmanaged warning included); JSON stays valid."""
    outputs = _outputs(repo, "--mask-pii")
    for (command, fmt), text in outputs.items():
        assert _leaks(text) == [], (command, fmt, text)
    assert "unmanaged" in outputs[("plan", "text")]
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(json.loads(outputs[("plan", "json")]))


def test_show_pii_reveals_and_is_refused_in_ci_unless_forced(repo: Repo) -> None:
    """--show-pii reveals PII in Markdown; with CI=true it is refused unless given as --show-pii=force."""
    shown = repo.cli("plan", str(repo.root), "--format", "markdown", "--show-pii")
    assert shown.exit_code == 2 and "Sigurd" in shown.stdout and "+4790550001" in shown.stdout
    repo.env["CI"] = "true"
    refused = repo.cli("drift", str(repo.root), "--format", "html", "--show-pii")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr == (
        "Error: --show-pii would put phone numbers, e-mail addresses and names in a CI log (CI=true); "
        "give --show-pii=force to reveal them anyway\n"
    )
    forced = repo.cli("drift", str(repo.root), "--format", "html", "--show-pii=force")
    assert forced.exit_code == 2 and "sigurd@brekke.no" in forced.stdout
    wrong = repo.cli("drift", str(repo.root), "--show-pii=yes")
    assert wrong.exit_code != 0 and "takes no value other than =force" in wrong.stderr


def test_one_person_has_one_tag_across_mentions(repo: Repo) -> None:
    """The contact's key and its group membership carry the same tag, so reviewers can match them."""
    text = repo.cli("plan", str(repo.root), "--format", "markdown").stdout
    tags = re.findall(r"\+47 90\u2022+01 \\#([0-9a-f]{6})", text)
    assert len(tags) >= 2 and len(set(tags)) == 1, text
    assert (repo.root / ".reconciler" / "pii.key").exists()


def test_apply_mask_pii_masks_the_plan_and_the_report(repo: Repo) -> None:
    """apply --mask-pii prints the plan and its protection lines without numbers or names."""
    repo.write("people.yaml", PEOPLE.replace("groups: [Staff]}", "groups: [Staff], protect: true}"))
    result = repo.cli("apply", str(repo.root), "--auto-approve", "--mask-pii")
    assert result.exit_code == 0, result.output
    assert _leaks(result.output) == [], result.output
    assert re.search(r"Protected: oslo/contacts/\+47 90\u2022{4}01 #[0-9a-f]{6}", result.stderr)


OPTED_OUT = ("+46701234562", "46701234562", "0701234562", "701234562", "Birgitta", "Lindqvist")
CAMPAIGN = """\
account: clinic
groups:
  - name: Customers
contacts:
  - {mobile: "070-123 45 61", first_name: Ann, groups: [Customers]}
  - {mobile: "070-123 45 62", first_name: Birgitta, last_name: Lindqvist, groups: [Customers]}
campaigns:
  - name: winter-sale
    text: "Winter sale: 20% off until Sunday. Reply STOP to opt out."
    sender: Shop
    send_at: 2027-01-15T10:00:00
    to: {groups: [Customers]}
"""


def test_opted_out_audience_error_never_shows_the_number(tmp_path: Path, intime: Emu) -> None:
    """The opted-out audience error masks the number, with one tag, in every plan and drift format;
    the shared formats show the person nowhere else either."""
    intime.emulator.add_nix("+46701234562")
    repo = make_repo(tmp_path, {"clinic": ("intime", intime)})
    repo.env = dict(repo.env, CI="", RECONCILER_PII_KEY="")
    repo.write("clinic.yaml", CAMPAIGN)
    tags = set()
    for command, formats in (("plan", PLAN_FORMATS), ("drift", DRIFT_FORMATS)):
        for fmt in formats:
            result = repo.cli(command, str(repo.root), "--format", fmt)
            assert result.exit_code == 1, (command, fmt, result.output)
            [error] = [line for line in result.stdout.splitlines() if "who opted out" in line]
            assert [v for v in OPTED_OUT if v in error] == [], (command, fmt, error)
            if fmt in MASKED:
                assert [v for v in OPTED_OUT if v in result.stdout] == [], (command, fmt, result.stdout)
            tags.update(
                re.findall(r"opted out: \+46 70\u2022{5}62 \\?#([0-9a-f]{6}) is on the blocklist", error)
            )
    assert len(tags) == 1, tags

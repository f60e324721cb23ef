"""Declared numbers must be reachable by SMS and names must not deceive (control, bidi, lookalikes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.load import load_config
from reconciler.errors import ConfigError

ROOT = """\
version: 1
accounts:
  se-main:
    provider: {provider}
    region: {region}
    credentials: {credentials}
{extra}"""
CREDENTIALS = {
    "intime": '{user: ops, hash: "${INTIME_HASH}"}',
    "intouch": '{username: ops, domain: example.com, password: "${INTIME_HASH}"}',
}
ENV = {"INTIME_HASH": "0123456789abcdef0123456789abcdef01234567"}


def _load(
    tmp_path: Path, resources: str, *, region: str = "SE", extra: str = "", provider: str = "intime"
) -> tuple[list[str], list[str]]:
    """Errors and warnings of a one-account repository (InTime unless told) holding ``resources``."""
    root = ROOT.format(provider=provider, region=region, credentials=CREDENTIALS[provider], extra=extra)
    (tmp_path / "reconciler.yaml").write_text(root, encoding="utf-8")
    (tmp_path / "items.yaml").write_text("account: se-main\n" + resources, encoding="utf-8")
    try:
        config = load_config(tmp_path, ENV)
    except ConfigError as exc:
        return [str(p).split("items.yaml:", 1)[-1] for p in exc.problems], []
    return [], [str(p).split("items.yaml:", 1)[-1] for p in config.warnings]


@pytest.mark.parametrize(
    ("mobile", "region", "expected"),
    [
        (
            "070-123 45 6",
            "SE",
            "+4670123456 is not a valid number (its length is possible, but no such number",
        ),
        ("905 50", "NO", "+4790550 is not a valid number"),
        ("070-123 45 67 ext. 5", "SE", "is not a plain phone number (letters, an extension or a tel: URI"),
        ("+46701234567;ext=2", "SE", "is not a plain phone number"),
        ("tel:+46701234567", "SE", "is not a plain phone number"),
        ("+1 800 FLOWERS", "US", "is not a plain phone number"),
    ],
)
def test_unreachable_numbers_are_errors(tmp_path: Path, mobile: str, region: str, expected: str) -> None:
    """A number short of a digit, with an extension, a tel: URI or letters fails validation."""
    errors, _ = _load(tmp_path, f'contacts:\n  - mobile: "{mobile}"\n', region=region)
    assert len(errors) == 1 and errors[0].startswith("3:13: contacts[0].mobile: "), errors
    assert expected in errors[0]


def test_possible_numbers_pass_when_the_account_relaxes_validity(tmp_path: Path) -> None:
    """number_validity: possible accepts a number of possible length the metadata does not know."""
    errors, _ = _load(
        tmp_path, 'contacts:\n  - mobile: "070-123 45 6"\n', extra="    number_validity: possible\n"
    )
    assert errors == []


def test_relaxed_validity_still_refuses_extensions(tmp_path: Path) -> None:
    """The relaxation is about number ranges, not about extensions or letters."""
    errors, _ = _load(
        tmp_path, 'contacts:\n  - mobile: "+46701234567;ext=2"\n', extra="    number_validity: possible\n"
    )
    assert len(errors) == 1 and "not a plain phone number" in errors[0]


def test_landline_is_a_warning(tmp_path: Path) -> None:
    """A Stockholm landline validates, with a warning that an SMS usually cannot reach it."""
    errors, warnings = _load(tmp_path, 'contacts:\n  - mobile: "08-123 456 78"\n')
    assert errors == []
    assert warnings == [
        "3:13: contacts[0].mobile: +46812345678 is a landline number; an SMS usually cannot reach it"
    ]


def test_valid_mobile_passes_quietly(tmp_path: Path) -> None:
    """A valid Swedish mobile raises nothing."""
    assert _load(tmp_path, 'contacts:\n  - mobile: "070-123 45 67"\n') == ([], [])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Staff\x01", "holds the control character U+0001 (remove it)"),
        ("Staff\u202eevil", "holds U+202E RIGHT-TO-LEFT OVERRIDE, which reorders how the text is shown"),
        ("Staff\u2066x", "holds U+2066 LEFT-TO-RIGHT ISOLATE"),
    ],
)
def test_control_and_bidi_characters_in_names_are_errors(tmp_path: Path, name: str, expected: str) -> None:
    """A raw control or bidi character in a group name fails validate (never the apply batch)."""
    escaped = name.encode("unicode_escape").decode("ascii")
    errors, _ = _load(tmp_path, f'groups:\n  - name: "{escaped}"\n', provider="intouch")
    assert len(errors) == 1 and errors[0].startswith("3:11: groups[0].name: "), errors
    assert expected in errors[0]
    assert "\x01" not in errors[0] and "\u202e" not in errors[0] and "\u2066" not in errors[0]


def test_lookalike_names_warn(tmp_path: Path) -> None:
    """A Cyrillic Ѕ among Latin letters and a zero-width space each give a warning."""
    errors, warnings = _load(
        tmp_path,
        'groups:\n  - name: Staff\n  - name: "\\u0405taff"\n  - name: "Sta\\u200bff"\n',
        provider="intouch",
    )
    assert errors == []
    assert warnings == [
        "4:11: groups[1].name: 'Ѕtaff' mixes Cyrillic and Latin letters in one word (Ѕ is U+0405 CYRILLIC "
        "CAPITAL LETTER DZE); it looks like another name but is a different one",
        "5:11: groups[2].name: 'Sta\\u200bff' holds invisible characters (U+200B); it looks like a name "
        "without them but is a different one",
    ]


def test_nfc_and_nfd_spellings_are_one_group(tmp_path: Path) -> None:
    """Å written precomposed and decomposed is one group, reported as a duplicate key."""
    errors, _ = _load(tmp_path, 'groups:\n  - name: "\\u00c5sa"\n  - name: "A\\u030asa"\n')
    assert len(errors) == 1 and "duplicate groups key 'Åsa'" in errors[0], errors


def test_newlines_in_message_text_are_fine(tmp_path: Path) -> None:
    """Free text (a campaign's text, a description) may hold newlines; only names may not."""
    resources = (
        "groups:\n  - name: Staff\ncampaigns:\n  - name: hello\n    sender: Clinic\n"
        '    text: "Hello\\nsee you. Reply STOP to opt out"\n    send_at: 2030-02-25T09:00:00\n    to: {groups: [Staff]}\n'
    )
    assert _load(tmp_path, resources) == ([], [])


# -- the printable-ASCII fast path of item_findings (issue 11) ---------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from reconciler.config import strict  # noqa: E402

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["Anna", "Group 1", "a\u202eb", "x\u200by", "\u0405cott", "tab\there", "line\nbreak"]
)
_VALUE = st.recursive(
    st.none() | st.integers() | st.booleans() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "text"]), inner, max_size=2),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["first_name", "description", "groups", "extra"]), _VALUE, max_size=4))
def test_the_fast_path_finds_what_the_walk_finds(attrs: dict[str, object]) -> None:
    """Skipping the walk for printable ASCII never hides a text finding."""
    walked = [
        (where, sev, msg)
        for where, value in strict.strings(attrs)
        for sev, msg in strict.text_findings(
            next((s for s in reversed(where) if isinstance(s, str)), ""), value
        )
    ]
    assert strict.item_findings("groups", attrs, "SE", "valid") == walked

"""PII masking: numbers, e-mail addresses and names become recognisable, keyed, irreversible tags."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from reconciler.changes import Action, Change
from reconciler.cli_pii import wants_mask
from reconciler.errors import ConfigError, Problem, ReconcilerError
from reconciler.pii import KEY_FILE, Masker, load_key, mask_plan, number_masker, shape
from reconciler.plan import Plan, Warning_

KEY = b"k" * 32


def test_number_keeps_country_code_and_two_digits_each_end() -> None:
    """A Swedish mobile number shows as +46 70•••••67 followed by a six-digit tag."""
    masked = Masker(KEY).number("+46701234567")
    shown, tag = masked.rsplit(" ", 1)
    assert shown == "+46 70\u2022\u2022\u2022\u2022\u202267"
    assert tag.startswith("#") and len(tag) == 7
    assert "1234" not in masked


def test_tags_match_for_equal_values_and_differ_by_key() -> None:
    """The same number gets the same tag under one key and a different tag under another key."""
    one, other = Masker(KEY), Masker(b"x" * 32)
    assert one.number("+46701234567") == one.number("+46701234567")
    assert one.number("+46701234567") != one.number("+46701234568")
    assert one.number("+46701234567") != other.number("+46701234567")


def test_short_or_unparseable_numbers_are_fully_hidden() -> None:
    """A number too short to show digits of shows only its country code and bullets."""
    masked = Masker(KEY).number("+4612345")
    assert "12345" not in masked and masked.startswith("+46 ")


def test_email_is_masked_and_case_insensitive() -> None:
    """An address keeps its first letters and top-level domain; case does not change the tag."""
    m = Masker(KEY)
    masked = m.email("Anna.Berg@mail.se")
    assert masked.startswith("A\u2022\u2022\u2022@m\u2022\u2022\u2022.se #")
    assert masked.split()[-1] == m.email("anna.berg@MAIL.SE").split()[-1]
    assert "Berg" not in masked


def test_name_keeps_the_initial() -> None:
    """A name shows as its initial, bullets and a tag equal for any case of the same name."""
    m = Masker(KEY)
    assert m.name("Anna").startswith("A\u2022\u2022\u2022 #")
    assert m.name("Anna").split()[-1] == m.name("ANNA ").split()[-1]


def test_free_text_masks_numbers_addresses_and_learned_names() -> None:
    """Numbers, addresses and names learned from name fields are masked inside free text."""
    m = Masker(KEY)
    m.learn({"attendant": {"first_name": "Anna", "mobile": "+46701234567"}, "description": "Annabel"})
    text = m.text("Anna (+46701234567, anna@mail.se) is not Annabel; +46 is a prefix")
    assert "Anna " not in text and "+46701234567" not in text and "anna@mail.se" not in text
    assert "Annabel" in text and "+46 is a prefix" in text


def test_value_masks_name_fields_and_numbers_in_lists() -> None:
    """Nested attributes: name fields become tags, numbers in lists are masked, other values stay."""
    m = Masker(KEY)
    out = m.value({"first_name": "Bo", "numbers": ["+46701234567"], "folder": 3, "name": "VIP"})
    assert out["first_name"].startswith("B\u2022\u2022\u2022 #")
    assert out["numbers"][0].startswith("+46 70")
    assert out["folder"] == 3 and out["name"] == "VIP"


def test_mask_plan_masks_keys_attributes_warnings_and_errors() -> None:
    """Every place a plan carries personal data is masked in the copy; the original is untouched."""
    change = Change(
        "se", "contacts", "+46701234567", Action.CREATE, after={"first_name": "Anna", "email": "a@b.se"}
    )
    plan = Plan(
        changes=(change,),
        warnings=(Warning_("se", "contacts", "+46709999999", "Anna is not managed"),),
        errors=(Problem("campaign x: +46708888888 opted out"),),
    )
    masked = mask_plan(plan, Masker(KEY))
    text = repr(masked)
    for secret in ("+46701234567", "Anna", "a@b.se", "+46709999999", "+46708888888"):
        assert secret not in text
    assert plan.changes[0].key == "+46701234567"
    assert masked.summary == plan.summary


def test_load_key_creates_a_private_key_once(tmp_path: Path) -> None:
    """The first call writes a 0600 key file under .reconciler/; later calls read the same key."""
    first = load_key(tmp_path, {})
    assert load_key(tmp_path, {}) == first and len(first) == 32
    mode = stat.S_IMODE(os.stat(tmp_path / KEY_FILE).st_mode)
    assert mode == 0o600


def test_load_key_prefers_the_environment(tmp_path: Path) -> None:
    """RECONCILER_PII_KEY gives a stable key without touching the repository."""
    assert load_key(tmp_path, {"RECONCILER_PII_KEY": "s3cret"}) == load_key(
        tmp_path, {"RECONCILER_PII_KEY": "s3cret"}
    )
    assert not (tmp_path / KEY_FILE).exists()


def test_load_key_rejects_a_malformed_file(tmp_path: Path) -> None:
    """A key file that is not 64 hex digits is one clear error naming the file and the fix."""
    (tmp_path / KEY_FILE).parent.mkdir()
    (tmp_path / KEY_FILE).write_text("nope\n")
    with pytest.raises(
        ConfigError, match=r"pii\.key: the PII masking key is not 64 hex digits; delete the file"
    ):
        load_key(tmp_path, {})


@pytest.mark.parametrize(
    ("fmt", "show", "force", "mask", "ci", "expected"),
    [
        ("markdown", False, False, False, "", True),
        ("html", False, False, False, "", True),
        ("junit", False, False, False, "", True),
        ("text", False, False, False, "", False),
        ("json", False, False, False, "true", False),
        ("json", False, False, True, "", True),
        ("markdown", True, False, False, "", False),
        ("markdown", True, False, False, "false", False),
        ("markdown", False, True, False, "TRUE", False),
    ],
)
def test_which_outputs_are_masked(
    fmt: str, show: bool, force: bool, mask: bool, ci: str, expected: bool
) -> None:
    """Shared formats mask by default, text and JSON only with --mask-pii; --show-pii reveals."""
    assert wants_mask(fmt, show, force, mask, {"CI": ci}) is expected


@pytest.mark.parametrize("ci", ["true", "1", "Yes"])
def test_show_pii_is_refused_in_ci(ci: str) -> None:
    """--show-pii without =force is an error when CI says true; so is combining it with --mask-pii."""
    with pytest.raises(ReconcilerError, match="give --show-pii=force to reveal them anyway"):
        wants_mask("markdown", True, False, False, {"CI": ci})
    with pytest.raises(ReconcilerError, match="contradict"):
        wants_mask("markdown", True, False, True, {})


def test_known_numbers_written_without_plus_are_masked() -> None:
    """A learned number is found in provider text as bare digits or national form; other digits stay."""
    m = Masker(KEY)
    m.learn({"mobile": "+46701234567"})
    text = m.text("Intouch: 46701234567 exists; also 0701234567 and 0046701234567; order 123456789")
    assert "701234567" not in text.replace("123456789", "")
    assert text.count(m.number("+46701234567")) == 3 and "order 123456789" in text


def test_every_word_of_a_learned_name_is_masked_once() -> None:
    """A two-word name is masked word by word in free text, without touching longer words."""
    m = Masker(KEY)
    m.learn_name("Anna Maria")
    text = m.text("Dear Anna Maria, Mariana says hi")
    assert "Anna" not in text and "Maria," not in text and "Mariana" in text


def test_an_empty_key_variable_falls_back_to_the_key_file(tmp_path: Path) -> None:
    """CI systems set an unset secret to an empty string: that means no key, not the key ''."""
    assert load_key(tmp_path, {"RECONCILER_PII_KEY": ""}) == load_key(tmp_path, {})
    assert (tmp_path / KEY_FILE).exists()


def test_shape_is_the_masked_form_without_tag_and_hides_malformed_input() -> None:
    """shape() gives a number's masked form without a tag (and without a + it was not written with)."""
    assert shape("+46701234567") == Masker(KEY).number("+46701234567").rsplit(" ", 1)[0]
    assert shape("07700 900123x") == "07" + "\u2022" * 7 + "23"
    assert shape("447700900123") == "44 77" + "\u2022" * 6 + "23"
    assert shape("12") == "1 \u2022\u2022\u2022" and shape("abc") == "\u2022\u2022\u2022"


def test_number_masker_loads_the_repository_key_only_when_used(tmp_path: Path) -> None:
    """number_masker creates no key file until a number is masked, then tags as the reports do."""
    mask = number_masker(tmp_path)
    assert not (tmp_path / KEY_FILE).exists()
    masked = mask("+46701234567")
    assert masked == Masker(load_key(tmp_path, {})).number("+46701234567")
    assert mask("+46701234567") == masked

"""Phone number reading: the remembered results are exactly what a fresh read gives (issue 11)."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from reconciler import model
from reconciler.model import InvalidNumber, normalize_number

TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP)
FORMATS = (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164)


def example_numbers() -> list[tuple[str, str]]:
    """Every region's example numbers, written in national, international and E.164 form."""
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                out += [(phonenumbers.format_number(example, fmt), region) for fmt in FORMATS]
    return out


def test_an_accepted_number_in_e164_reads_as_itself_in_every_region() -> None:
    """For every region's examples, reading the E.164 result again (no region) gives it back."""
    checked = 0
    for text, region in example_numbers():
        try:
            e164 = model._normalize(text, region)
        except InvalidNumber:
            continue
        assert model._normalize(e164, "") == e164, (text, region)
        checked += 1
    assert checked > 1000


def test_remembered_results_equal_fresh_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading through the memo (twice, in any order of forms) gives what a fresh read gives."""
    monkeypatch.setattr(model, "_NUMBERS", {})
    for text, region in example_numbers():
        try:
            fresh = model._normalize(text, region)
        except InvalidNumber:
            with pytest.raises(InvalidNumber):
                normalize_number(text, region)
            continue
        assert normalize_number(text, region) == fresh
        assert normalize_number(text, region) == fresh


def test_national_forms_are_remembered_per_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """National forms are read with their region; a failure names the region."""
    monkeypatch.setattr(model, "_NUMBERS", {})
    assert normalize_number("070-123 45 67", "SE") == "+46701234567"
    assert normalize_number("22 12 34 56", "NO") == "+4722123456"
    assert normalize_number("020 7946 0018", "GB") == "+442079460018"
    with pytest.raises(InvalidNumber, match="for region NO"):
        normalize_number("070-123 45 67 89 12", "NO")


def test_a_live_number_in_e164_is_found_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the config's national form is read, its E.164 form is answered from the memo."""
    monkeypatch.setattr(model, "_NUMBERS", {})
    assert normalize_number("070-123 45 67", "SE") == "+46701234567"

    def parse_again(text: str, region: str) -> str:
        raise AssertionError(f"parsed {text!r} again")

    monkeypatch.setattr(model, "_normalize", parse_again)
    assert normalize_number("+46701234567", "NO") == "+46701234567"
    assert normalize_number(" 070-123 45 67 ", "SE") == "+46701234567"


def test_300000_numbers_are_all_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """No eviction below the bound: 300,000 desired plus their live forms stay remembered."""
    monkeypatch.setattr(model, "_NUMBERS", {f"+4790{i:06d}": f"+4790{i:06d}" for i in range(300_000)})
    monkeypatch.setattr(model, "_normalize", lambda text, region: pytest.fail(f"parsed {text!r}"))
    assert all(normalize_number(f"+4790{i:06d}", "NO") == f"+4790{i:06d}" for i in range(0, 300_000, 997))


def test_the_e164_fast_path_reads_exactly_as_phonenumbers_parse() -> None:
    """+digits read without parse give the same number as parse, or defer to it, for 60,000 inputs."""
    rng = random.Random(11)
    texts = [text for text, _ in example_numbers() if text.startswith("+")]
    texts = ["+" + "".join(ch for ch in text if ch.isdigit()) for text in texts]
    texts += [
        "+" + str(rng.randrange(10 ** rng.randint(2, 17))).zfill(rng.randint(2, 17)) for _ in range(60_000)
    ]
    fast = 0
    for text in texts:
        quick = model._parse_e164(text)
        if quick is None:
            continue
        fast += 1
        assert quick == phonenumbers.parse(text, None), text
    assert fast > 20_000
    assert model._parse_e164("+4790555817") is not None
    for deferred in ("+46 70 123", "+0471234", "+\u0664\u0667123456", "4790555817", "+5491123456789"):
        assert model._parse_e164(deferred) is None, deferred

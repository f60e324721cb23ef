"""GSM 03.38 / UCS-2 detection and segment counting at every boundary, table-driven."""

from __future__ import annotations

import pytest

from reconciler.sms.encoding import GSM7, UCS2, encode

EURO = "€"  # GSM extension table: two septets
EMOJI = "\U0001f600"  # outside the BMP: two UCS-2 units
OMEGA = "\u0429"  # Cyrillic SHCHA: forces UCS-2

CASES = [
    # (id, text, encoding, units, segments)
    ("empty", "", GSM7, 0, 1),
    ("gsm-160", "a" * 160, GSM7, 160, 1),
    ("gsm-161", "a" * 161, GSM7, 161, 2),
    ("gsm-2x153", "a" * 306, GSM7, 306, 2),
    ("gsm-2x153+1", "a" * 307, GSM7, 307, 3),
    ("gsm-153-in-part", "a" * 153 + "b" * 153, GSM7, 306, 2),
    ("gsm-154-spills", "a" * 154 + "b" * 153, GSM7, 307, 3),
    ("gsm-6x153", "a" * 918, GSM7, 918, 6),
    ("gsm-6x153+1", "a" * 919, GSM7, 919, 7),
    ("ext-fills-160", "a" * 158 + EURO, GSM7, 160, 1),
    ("ext-at-160-boundary", "a" * 159 + EURO, GSM7, 161, 2),
    ("ext-all-80", EURO * 80, GSM7, 160, 1),
    ("ext-all-81", EURO * 81, GSM7, 162, 2),
    ("ext-ends-part-1", "a" * 151 + EURO + "a" * 153, GSM7, 306, 2),
    ("ext-straddles-153", "a" * 152 + EURO + "a" * 152, GSM7, 306, 3),
    ("ext-straddles-short", "a" * 152 + EURO + "a" * 10, GSM7, 164, 2),
    ("basic-specials", "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", GSM7, 42, 1),
    ("ext-table", "^{}\\[~]|€\f", GSM7, 20, 1),
    ("ucs2-70", OMEGA * 70, UCS2, 70, 1),
    ("ucs2-71", OMEGA * 71, UCS2, 71, 2),
    ("ucs2-2x67", OMEGA * 134, UCS2, 134, 2),
    ("ucs2-2x67+1", OMEGA * 135, UCS2, 135, 3),
    ("ucs2-67-in-part", "a" * 67 + OMEGA * 67, UCS2, 134, 2),
    ("ucs2-68-spills", "a" * 68 + OMEGA * 67, UCS2, 135, 3),
    ("one-char-forces-ucs2", "a" * 69 + OMEGA, UCS2, 70, 1),
    ("one-char-doubles", "a" * 70 + "’", UCS2, 71, 2),
    ("latin1-not-gsm", "â", UCS2, 1, 1),
    ("lowercase-c-cedilla", "ç", UCS2, 1, 1),
    ("emoji-two-units", EMOJI * 35, UCS2, 70, 1),
    ("emoji-36", EMOJI * 36, UCS2, 72, 2),
    ("emoji-straddles-67", "a" * 66 + EMOJI + "a" * 66, UCS2, 134, 3),
    ("emoji-ends-part", "a" * 65 + EMOJI + "a" * 67, UCS2, 134, 2),
]


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_encoding_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    """Each text gets the expected encoding, size in units and segment count."""
    encoded = encode(text)
    assert (encoded.encoding, encoded.units, encoded.segments) == (encoding, units, segments)
    assert encoded.characters == len(text)


def test_forcing_characters_are_listed_with_their_index() -> None:
    """Characters outside GSM 03.38 are reported with their 0-based index, in text order."""
    assert encode("Hi ’there’").forcing == ((3, "’"), (9, "’"))


def test_gsm_segments_say_what_a_fixed_text_would_take() -> None:
    """A curly quote in a 71-character text: 2 UCS-2 segments, 1 once it is replaced."""
    encoded = encode("a" * 70 + "’")
    assert (encoded.segments, encoded.gsm_segments) == (2, 1)

"""GSM 03.38 vs UCS-2 and segment counting (3GPP TS 23.038 and TS 23.040).

A text travels in the GSM 7-bit default alphabet when every character is in its basic table or
its extension table; an extension character (``€``, ``[``, ``{`` ...) costs two septets (an escape
and the character). Any other character forces the whole text into UCS-2 (UTF-16 code units; a
character outside the Basic Multilingual Plane, such as most emoji, takes two).

One SMS holds 160 septets or 70 UCS-2 units. A longer text is split into concatenated segments
whose user-data header leaves 153 septets or 67 units each; an escape pair or a surrogate pair is
never split across two segments, so a text can need one segment more than its length divided by
153 (or 67) suggests. See docs/messages.md.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The basic table (the escape 0x1B is not a character) and the extension table (form feed included).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM_ALL = GSM_BASIC | GSM_EXTENSION

# (single-message capacity, capacity of each part of a concatenated message)
CAPACITY = {GSM7: (160, 153), UCS2: (70, 67)}

# GSM look-alikes for characters that often slip into texts from word processors.
GSM_REPLACEMENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\t": " ",
    "\u00e7": "Ç",
    "\u00e1": "a",
    "\u00e2": "a",
    "\u00e3": "a",
    "\u00ea": "e",
    "\u00eb": "e",
    "\u00ed": "i",
    "\u00ee": "i",
    "\u00ef": "i",
    "\u00f3": "o",
    "\u00f4": "o",
    "\u00f5": "o",
    "\u00fa": "u",
    "\u00fb": "u",
    "\u00fd": "y",
    "\u00b4": "'",
    "`": "'",
}


@dataclass(frozen=True)
class Encoded:
    """How one text travels: encoding, size in units, segments and the characters forcing UCS-2.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2. ``forcing`` holds the
    ``(index, character)`` of every character outside GSM 03.38, in text order (0-based index).
    ``gsm_segments`` is what the text would take with those characters replaced by GSM ones
    (equal to ``segments`` for a GSM-7 text).
    """

    encoding: str
    characters: int
    units: int
    segments: int
    forcing: tuple[tuple[int, str], ...] = ()
    gsm_segments: int = 0


def is_gsm(char: str) -> bool:
    """Whether ``char`` is in the GSM 03.38 basic or extension table."""
    return char in GSM_ALL


def _sizes(text: str, encoding: str) -> list[int]:
    """The size in units of each character of ``text`` in ``encoding``."""
    if encoding == GSM7:
        return [2 if char in GSM_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def count_segments(sizes: list[int], encoding: str) -> int:
    """Segments for characters of ``sizes`` units: one if they fit a single SMS, else greedy parts
    that never split a character (escape pair, surrogate pair). An empty text is one segment."""
    single, part = CAPACITY[encoding]
    if sum(sizes) <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments


def encode(text: str) -> Encoded:
    """The encoding, size and segment count of ``text`` (see the module docstring)."""
    forcing: tuple[tuple[int, str], ...] = ()
    if not GSM_ALL.issuperset(text):
        forcing = tuple((index, char) for index, char in enumerate(text) if char not in GSM_ALL)
    encoding = UCS2 if forcing else GSM7
    sizes = _sizes(text, encoding)
    segments = count_segments(sizes, encoding)
    gsm_segments = segments
    if forcing:
        gsm_text = "".join(GSM_REPLACEMENTS.get(char, "?") if not is_gsm(char) else char for char in text)
        gsm_segments = count_segments(_sizes(gsm_text, GSM7), GSM7)
    return Encoded(encoding, len(text), sum(sizes), segments, forcing, gsm_segments)


def describe(char: str) -> str:
    """``'’' (U+2019 RIGHT SINGLE QUOTATION MARK)``: a character made visible, control ones too."""
    name = unicodedata.name(char, "")
    shown = char if char.isprintable() and not char.isspace() else ""
    code = f"U+{ord(char):04X}" + (f" {name}" if name else "")
    return f"{shown!r} ({code})" if shown else code

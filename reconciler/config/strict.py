"""Checks of declared values beyond their shape: numbers an SMS can reach, names that do not deceive.

Numbers (``number_findings``): by default a number must be *valid* for its country (assigned in the
phone-number metadata, not merely of a possible length), carry no extension and no letters (a
``tel:`` URI, ``+1 800 FLOWERS``). An account's ``number_validity: possible`` accepts numbers of a
possible length, for ranges newer than the metadata. A landline, toll-free or premium-rate number
is a warning: an SMS usually cannot reach it.

Text (``text_findings``): control characters (a raw ``\\x01``) and bidi controls (U+202E) are
errors; invisible characters (zero-width space, soft hyphen) and a word that mixes scripts (a
Cyrillic ``Ѕ`` among Latin letters) are warnings, because such a name looks like another one but
is a different item. Names are compared in Unicode NFC (see :func:`reconciler.model.clean`), so
``Å`` typed precomposed or decomposed is one name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from reconciler.escapes import escape_controls
from reconciler.model import NUMBER_FIELDS, NUMBER_SET_FIELDS, get_path, normalize_number, number_kind

Finding = tuple[str, str]  # (severity, message)
Steps = tuple[str | int, ...]
Located = tuple[Steps, str, str]  # (steps to the value, severity, message)

FREE_TEXT = frozenset({"text", "description", "description2", "description3"})
_LETTERS = re.compile(r"[^\W\d_]")
_EXTENSION_MARKS = re.compile(r"[;#,*]")
_UNREACHABLE = {
    PhoneNumberType.FIXED_LINE: "a landline number",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.UAN: "a company (UAN) number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
    PhoneNumberType.PAGER: "a pager number",
}
POSSIBLE_HINT = (
    "or set number_validity: possible on the account if the number is newer than the phone-number metadata"
)
# Bidi embeddings, overrides, isolates and marks: they reorder how text is shown.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # newlines and tabs allowed


def number_findings(raw: Any, region: str, validity: str, *, reachable: bool = True) -> list[Finding]:
    """Problems of one declared number that already normalized (its form was readable).

    ``reachable`` asks for the landline warning (not for block-list entries).
    """
    text = str(raw).strip()
    digits = text[1:] if text[:1] == "+" else text
    if not digits.isdigit() and (_LETTERS.search(text) or _EXTENSION_MARKS.search(text)):
        return [
            (
                "error",
                f"'{escape_controls(text)}' is not a plain phone number (letters, an extension or a tel: "
                "URI cannot be sent an SMS; write digits only, e.g. +46701234567)",
            )
        ]
    return list(_e164_findings(_e164(text, region), validity, reachable))


def _e164(text: str, region: str) -> str:
    return normalize_number(text, region)


def _e164_findings(number: str, validity: str, reachable: bool) -> tuple[Finding, ...]:
    # Not memoized here: number_kind remembers every number's kind (an LRU of 65,536 entries in
    # front of it thrashed at 100,000 numbers and only added its own lookup).
    kind = number_kind(number)  # UNKNOWN: not a valid number of its country
    if kind == PhoneNumberType.UNKNOWN:
        if validity == "possible":
            return ()
        return (
            (
                "error",
                f"{number} is not a valid number (its length is possible, but no such number is in use "
                f"in {_region(number)}; check for a missing "
                f"or extra digit, {POSSIBLE_HINT})",
            ),
        )
    what = _UNREACHABLE.get(kind)
    if what and reachable:
        return (("warning", f"{number} is {what}; an SMS usually cannot reach it"),)
    return ()


def _region(number: str) -> str:
    return str(phonenumbers.region_code_for_country_code(phonenumbers.parse(number, None).country_code or 0))


def strings(value: Any, steps: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string in a declared item, with the steps (keys and indexes) that lead to it."""
    if isinstance(value, str):
        yield steps, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings(item, (*steps, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, (*steps, index))


def text_findings(field: str, value: str) -> list[Finding]:
    """Problems of one declared string; ``field`` is its attribute name (free text allows newlines)."""
    if value.isascii() and value.isprintable():
        return []  # the common case: nothing invisible, no control, one script
    free = field in FREE_TEXT
    shown = escape_controls(value if len(value) <= 80 else value[:80] + "...")
    control = (_CONTROL_IN_TEXT if free else _CONTROL).search(value)
    if control:
        code = ord(control.group())
        return [("error", f"'{shown}' holds the control character U+{code:04X} (remove it)")]
    bidi = _BIDI.search(value)
    if bidi:
        code = ord(bidi.group())
        name = unicodedata.name(bidi.group(), "bidi control")
        return [
            (
                "error",
                f"'{shown}' holds U+{code:04X} {name}, which reorders how the text is shown (remove it)",
            )
        ]
    if free:
        return []
    findings: list[Finding] = []
    invisible = [ch for ch in value if unicodedata.category(ch) == "Cf" and ch != "\u200d"]
    if invisible:
        codes = ", ".join(dict.fromkeys(f"U+{ord(ch):04X}" for ch in invisible))
        findings.append(
            (
                "warning",
                f"'{shown}' holds invisible characters ({codes}); it looks like a name without them "
                "but is a different one",
            )
        )
    mixed = _mixed_script(value)
    if mixed:
        findings.append(("warning", f"'{shown}' {mixed}; it looks like another name but is a different one"))
    return findings


def _script(char: str) -> str:
    """The script of a letter, from its Unicode name (LATIN, CYRILLIC, GREEK, ...)."""
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def _mixed_script(value: str) -> str:
    """How one word of ``value`` mixes letters of several scripts, or "" when none does."""
    for word in value.split():
        scripts: dict[str, str] = {}
        for char in word:
            if _LETTERS.match(char):
                scripts.setdefault(_script(char), char)
        if len(scripts) > 1:
            names = sorted(scripts)
            odd = min(scripts.items(), key=lambda item: sum(_script(c) == item[0] for c in word))
            char = odd[1]
            detail = f"{char} is U+{ord(char):04X} {unicodedata.name(char, '')}"
            return f"mixes {' and '.join(n.title() for n in names)} letters in one word ({detail})"
    return ""


def item_findings(type_: str, attrs: Mapping[str, Any], region: str, validity: str) -> list[Located]:
    """Every number and text finding of one declared item: (steps to the value, severity, message)."""
    found: list[Located] = []
    reachable = type_ != "blocklist"
    for path in NUMBER_FIELDS.get(type_, ()):
        raw = get_path(attrs, path)
        if raw not in (None, ""):
            findings = number_findings(raw, region, validity, reachable=reachable)
            found += [(tuple(path.split(".")), sev, msg) for sev, msg in findings]
    for path in NUMBER_SET_FIELDS.get(type_, ()):
        raw = get_path(attrs, path)
        for index, number in enumerate(raw if isinstance(raw, list) else ()):
            at: Steps = (*path.split("."), index)
            found += [(at, sev, msg) for sev, msg in number_findings(number, region, validity)]
    if _plain(attrs):
        return found  # no string in it can have a text finding
    for where, value in strings(attrs):
        field = next((step for step in reversed(where) if isinstance(step, str)), "")
        found += [(where, sev, msg) for sev, msg in text_findings(field, value)]
    return found


def _plain(attrs: Mapping[str, Any]) -> bool:
    """True when every string of ``attrs`` (top-level values and lists of strings) is printable
    ASCII, for which :func:`text_findings` finds nothing: the common item skips the walk."""
    for value in attrs.values():
        kind = type(value)
        if kind is str:
            if not (value.isascii() and value.isprintable()):
                return False
        elif kind is list:
            for item in value:
                if type(item) is not str or not (item.isascii() and item.isprintable()):
                    return False
        elif value is not None and kind is not int and kind is not bool and kind is not float:
            return False
    return True

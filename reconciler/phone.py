"""Exact, fast answers of phonenumbers for numbers already written in strict E.164.

Every declared and live number is normalized to E.164 and every declared one is classified
(``number_validity`` in docs/configuration.md; the costs in "Performance", docs/architecture.md).
phonenumbers answers both through general machinery: ``number_type`` finds the region of a shared
calling code by running type patterns per region, then runs up to ten separate pattern matches,
each behind a cache lookup. For text of the *fast form* (``+``, ASCII digits, a known calling code,
a national part of 2 to 17 digits without a leading 0 and without a national prefix to strip), this
module gives the same answers from the library's own metadata:

- :func:`possible` is ``phonenumbers.is_possible_number(parse(text))``;
- :func:`kind` is ``phonenumbers.number_type(parse(text))`` (``UNKNOWN`` for an invalid number);
- :func:`valid` is ``phonenumbers.is_valid_number(parse(text))``.

Each mirrors the library functions it replaces (``_test_number_length``, ``_number_type_helper``,
``_is_number_matching_desc``, ``region_code_for_number``), built lazily per calling code and per
national length: one compiled pattern that fullmatches the number. Per region, the general pattern
is a lookahead and the type patterns follow in the library's order as named groups, so the first
type that matches the whole number names the answer; a type whose possible lengths leave out the
length is left out (an empty list means "as the general description"). The regions of a shared
calling code are alternatives in the library's order: one with leading digits is chosen when they
match (its answer stands, UNKNOWN included), one without when one of its types matches. Anything
outside the fast form, and any calling code whose metadata this module does not model, goes to the
library itself.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc

UNKNOWN = PhoneNumberType.UNKNOWN
NON_GEO = "001"  # phonenumbers' region code for non-geographic entities (+800, +882, ...)

# The order of _number_type_helper: the first description that matches decides.
_ORDER: tuple[tuple[str, int], ...] = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
# The national lengths of the fast form (parse rejects shorter and longer); possible() is tabled for them.
_MIN_NATIONAL, _MAX_NATIONAL = 2, 17
_CODE_TEXTS = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)


def _applies(desc: PhoneNumberDesc | None, length: int) -> str | None:
    """The pattern of ``desc`` if _is_number_matching_desc would try it at ``length``, else None."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = desc.possible_length
    if lengths and length not in lengths:
        return None
    return desc.national_number_pattern


def _possible_length(metadata: PhoneMetadata, length: int) -> bool:
    """_test_number_length for PhoneNumberType.UNKNOWN (the general description), as a bool."""
    general = metadata.general_desc
    assert general is not None and general.possible_length  # checked by _Code
    if length in (general.possible_length_local_only or ()):
        return True  # IS_POSSIBLE_LOCAL_ONLY
    lengths = general.possible_length
    if lengths[0] == length:
        return True
    if lengths[0] > length or lengths[-1] < length:
        return False  # TOO_SHORT, TOO_LONG
    return length in lengths[1:]


def _alternatives(metadata: PhoneMetadata, length: int, tag: str) -> tuple[str | None, dict[str, int]]:
    """_number_type_helper at one national length as a pattern to fullmatch, or None (UNKNOWN for
    every number): the general pattern as a lookahead, then one named group per type in the
    library's order; the group of the first type that matches the whole number names the answer."""
    general = _applies(metadata.general_desc, length)
    if general is None:
        return None, {}
    alternatives = [
        (pattern, kind) for name, kind in _ORDER if (pattern := _applies(getattr(metadata, name), length))
    ]
    fixed = _applies(metadata.fixed_line, length)
    mobile = _applies(metadata.mobile, length)
    same = metadata.same_mobile_and_fixed_line_pattern
    if fixed is not None:
        if same:
            alternatives.append((fixed, PhoneNumberType.FIXED_LINE_OR_MOBILE))
        else:
            if mobile is not None:  # fixed line and mobile both match
                both = rf"(?=(?:{mobile})\Z)(?:{fixed})"
                alternatives.append((both, PhoneNumberType.FIXED_LINE_OR_MOBILE))
            alternatives.append((fixed, PhoneNumberType.FIXED_LINE))
    if mobile is not None and not same:
        alternatives.append((mobile, PhoneNumberType.MOBILE))
    if not alternatives:
        return None, {}
    kinds = {f"{tag}k{index}": kind for index, (_, kind) in enumerate(alternatives)}
    body = "|".join(f"(?P<{tag}k{index}>{pattern})" for index, (pattern, _) in enumerate(alternatives))
    return rf"(?=(?:{general})\Z)(?:{body})", kinds


class _Code:
    """One calling code: its regions in the library's order, the national lengths it deems possible
    and, per length, one pattern that answers number_type (the region choice included)."""

    __slots__ = ("code", "size", "fast", "prefix", "possible", "regions", "_lengths")

    def __init__(self, code: int) -> None:
        self.code = code
        self.size = len(str(code))
        regions = COUNTRY_CODE_TO_REGION_CODE[code]
        main = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
        # (leading digits, metadata) per region that number_type may choose, in order; one region
        # with no leading digits for a code of one region (region_code_for_number takes it as is).
        self.regions: tuple[tuple[str | None, PhoneMetadata], ...] = ()
        self.possible: frozenset[int] = frozenset()
        self.prefix: re.Pattern[str] | None = None
        self._lengths: dict[int, tuple[re.Pattern[str] | None, dict[str, int]]] = {}
        # The library itself answers codes whose metadata this module does not model: no main
        # metadata, or no general lengths (_parse_e164 and _test_number_length would fail), or a
        # region of another calling code (is_valid_number would then differ from number_type).
        self.fast = bool(main and main.general_desc and main.general_desc.possible_length)
        if main is None or not self.fast:
            return
        prefix = main.national_prefix_for_parsing
        self.prefix = re.compile(prefix) if prefix else None
        self.possible = frozenset(
            n for n in range(_MIN_NATIONAL, _MAX_NATIONAL + 1) if _possible_length(main, n)
        )
        if len(regions) == 1:  # region_code_for_number: the only region, even non-geographic
            self.regions = ((None, main),)
            self.fast = regions[0] == NON_GEO or main.country_code == code
            return
        chosen = []
        for region in regions:  # _region_code_for_number_from_list
            metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
            if metadata is None:
                continue
            self.fast = self.fast and (region == NON_GEO or metadata.country_code == code)
            chosen.append((metadata.leading_digits, metadata))
        self.regions = tuple(chosen)

    def kind(self, national: str) -> int:
        """number_type for this calling code and national number."""
        entry = self._lengths.get(len(national))
        if entry is None:
            entry = self._lengths[len(national)] = self._compile(len(national))
        pattern, kinds = entry
        if pattern is None:
            return UNKNOWN
        match = pattern.fullmatch(national)
        if match is None or match.lastgroup is None:
            return UNKNOWN  # no region, or the region's patterns all fail
        return kinds[match.lastgroup]

    def _compile(self, length: int) -> tuple[re.Pattern[str] | None, dict[str, int]]:
        """The regions in order as alternatives: a region with leading digits is chosen when they
        match the start of the number (then its answer stands, UNKNOWN included: the catch-all
        group); one without is chosen when one of its types matches."""
        branches: list[str] = []
        kinds: dict[str, int] = {}
        for index, (leading, metadata) in enumerate(self.regions):
            body, region_kinds = _alternatives(metadata, length, f"r{index}")
            kinds.update(region_kinds)
            if leading is not None:
                kinds[f"r{index}u"] = UNKNOWN
                rest = rf"(?P<r{index}u>\d*)" if body is None else rf"{body}|(?P<r{index}u>\d*)"
                branches.append(f"(?=(?:{leading}))(?:{rest})")
            elif body is not None:
                branches.append(body)
        if not branches:
            return None, {}
        return re.compile("|".join(f"(?:{branch})" for branch in branches)), kinds


_HEADS: dict[str, _Code | None] = {}  # the first three digits -> their calling code
_CODES: dict[int, _Code] = {}


def _head(head: str) -> _Code | None:
    """The calling code ``head`` starts with (codes are prefix-free), or None: unknown, too short
    to leave a national part, or not modelled here."""
    if len(head) < 3:
        return None  # a code of n digits leaves fewer than 2 national digits
    for size in (1, 2, 3):
        if head[:size] in _CODE_TEXTS:
            value = int(head[:size])
            code = _CODES.get(value)
            if code is None:
                code = _CODES[value] = _Code(value)
            return code if code.fast else None
    return None


def _split(text: str) -> tuple[_Code, str] | None:
    """The calling code and national part of fast-form text; None for anything else.

    The same test as :func:`parse_e164`: parse splits off the country code (codes are prefix-free)
    and strips a national prefix only where the country's metadata says so.
    """
    digits = text[1:]
    if not (text.startswith("+") and digits.isascii() and digits.isdigit()) or digits.startswith("0"):
        return None
    head = digits[:3]
    try:
        code = _HEADS[head]
    except KeyError:
        code = _HEADS[head] = _head(head)
    if code is None:
        return None
    national = digits[code.size :]
    if not _MIN_NATIONAL <= len(national) <= _MAX_NATIONAL or national.startswith("0"):
        return None
    if code.prefix is not None and code.prefix.match(national):
        return None
    return code, national


def parse_e164(text: str) -> phonenumbers.PhoneNumber | None:
    """``+`` and ASCII digits read as phonenumbers.parse reads them, without its general machinery;
    None for anything it would read differently or reject (then parse it).

    Numbers of a country whose national part matches its national prefix for parsing, national
    parts with a leading zero and calling codes this module does not model take the general path.
    """
    split = _split(text)
    if split is None:
        return None
    code, national = split
    return phonenumbers.PhoneNumber(country_code=code.code, national_number=int(national))


def fast(text: str) -> bool:
    """Whether ``text`` is in the fast form: then it is its own E.164 form when accepted."""
    return _split(text) is not None


def possible(text: str) -> bool:
    """phonenumbers.is_possible_number of the number ``text`` (E.164) parses to."""
    split = _split(text)
    if split is None:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(text, None)))
    return len(split[1]) in split[0].possible


def kind(text: str) -> int:
    """phonenumbers.number_type of the number ``text`` (E.164) parses to: UNKNOWN when invalid."""
    split = _split(text)
    if split is None:
        return int(phonenumbers.number_type(phonenumbers.parse(text, None)))
    return split[0].kind(split[1])


def valid(text: str) -> bool:
    """phonenumbers.is_valid_number of the number ``text`` (E.164) parses to."""
    split = _split(text)
    if split is None:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(text, None)))
    return split[0].kind(split[1]) != UNKNOWN


def accepted(text: str) -> bool | None:
    """For fast-form text, whether normalization accepts it (a possible or a valid number), with one
    reading of the text; None for any other text (the caller takes the general path)."""
    split = _split(text)
    if split is None:
        return None
    code, national = split
    return len(national) in code.possible or code.kind(national) != UNKNOWN

"""Phone number reading: the remembered results are exactly what a fresh read gives, and the fast
classifier of reconciler.phone answers exactly as phonenumbers (issue 11)."""

from __future__ import annotations

import contextlib
import functools
import itertools
import random
from collections import Counter
from collections.abc import Iterator

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc

from reconciler import model, phone
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


# reconciler.phone: the library's answers from its own metadata, checked against the library.

DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
    "general_desc",
)
DIGITS = "0123456789"
ALL_KINDS = {value for name, value in vars(PhoneNumberType).items() if name.isupper()}


def every_metadata() -> list[tuple[int, PhoneMetadata]]:
    """Every region's and every non-geographic entity's metadata, with its calling code."""
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = PhoneMetadata.metadata_for_region(region)
        assert metadata is not None and metadata.country_code is not None, region
        out.append((metadata.country_code, metadata))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        metadata = PhoneMetadata.metadata_for_nongeo_region(code)
        assert metadata is not None, code
        out.append((code, metadata))
    return out


def example_variants() -> list[str]:
    """Every example number of every type, in E.164, and variants of each: the last digit changed,
    a digit added, the last digit removed, the leading digit changed."""
    texts: set[str] = set()
    for code, metadata in every_metadata():
        for name in DESCS:
            desc = getattr(metadata, name)
            example = desc.example_number if desc is not None else None
            if not example:
                continue
            nationals = {example, example[:-1]}
            nationals |= {example[:-1] + digit for digit in DIGITS}
            nationals |= {example + digit for digit in DIGITS}
            nationals |= {digit + example[1:] for digit in DIGITS}
            texts |= {f"+{code}{national}" for national in nationals}
    return sorted(texts)


def library(text: str) -> tuple[bool, int, bool]:
    parsed = phonenumbers.parse(text, None)
    return (
        phonenumbers.is_possible_number(parsed),
        phonenumbers.number_type(parsed),
        phonenumbers.is_valid_number(parsed),
    )


def fast(text: str) -> tuple[bool, int, bool]:
    return phone.possible(text), phone.kind(text), phone.valid(text)


def test_the_fast_classifier_answers_as_the_library_for_every_example_and_its_variants() -> None:
    """possible, kind and valid equal the library's answers for every example number of every type of
    every region and non-geographic entity, and for its variants; every type is met."""
    kinds: Counter[int] = Counter()
    fast_form = 0
    texts = example_variants()
    for text in texts:
        want = library(text)
        if phone.fast(text):
            fast_form += 1
            assert phone.accepted(text) == (want[0] or want[1] != PhoneNumberType.UNKNOWN), text
        assert fast(text) == want, text
        kinds[want[1]] += 1
    assert len(texts) > 25_000 and fast_form > 20_000, (len(texts), fast_form)
    assert set(kinds) == ALL_KINDS, kinds
    assert kinds[PhoneNumberType.FIXED_LINE_OR_MOBILE] > 200 and kinds[PhoneNumberType.UNKNOWN] > 10_000


def test_the_fast_classifier_reads_e164_as_phonenumbers_parse() -> None:
    """The fast form's number is the one parse gives, for every example and variant."""
    for text in example_variants():
        quick = phone.parse_e164(text)
        assert phone.fast(text) == (quick is not None), text
        if quick is not None:
            assert quick == phonenumbers.parse(text, None), text


@functools.cache
def national_digits(code: int) -> st.SearchStrategy[str]:
    """2 to 17 digits: random, or the start of one of the code's example numbers and random digits."""
    starts = sorted(
        {
            desc.example_number
            for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
            if (metadata := PhoneMetadata.metadata_for_region_or_calling_code(code, region)) is not None
            for name in DESCS
            if (desc := getattr(metadata, name)) is not None and desc.example_number
        }
    )
    plain = st.text(DIGITS, min_size=2, max_size=17)
    if not starts:
        return plain
    prefixed = st.tuples(st.sampled_from(starts), st.integers(0, 17), plain).map(
        lambda parts: (parts[0][: parts[1]] + parts[2])[:17]
    )
    return st.one_of(plain, prefixed).filter(lambda digits: len(digits) >= 2)


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)).flatmap(
        lambda code: st.tuples(st.just(code), national_digits(code))
    )
)
def test_the_fast_classifier_answers_as_the_library_for_any_digits(case: tuple[int, str]) -> None:
    """Any calling code with any 2 to 17 national digits: the library's answers (or its error)."""
    text = f"+{case[0]}{case[1]}"
    try:
        want = library(text)
    except phonenumbers.NumberParseException:
        with pytest.raises(phonenumbers.NumberParseException):
            fast(text)
        return
    assert fast(text) == want
    if not phone.fast(text):
        return
    if want[0] or want[2]:  # possible or valid: normalization accepts it as itself
        assert model._normalize(text, "") == text
    else:
        with pytest.raises(InvalidNumber):
            model._normalize(text, "")


# In the real metadata a region's type patterns are disjoint and spell out their own lengths (no
# number drawn from them showed otherwise), so the tests above cannot see the order of the types,
# a type's possible lengths or the general pattern. Made-up metadata with overlapping patterns,
# lengths that disagree with them and shared calling codes can: the library's own functions answer
# for it, registered for the test under an unused calling code.
PATTERNS = (r"\d{2,5}", r"[1-5]\d{1,4}", r"[3-8]\d{2,3}", r"1\d{2}|9\d{3}", r"(?:2|7)\d{3,4}", r"\d{4}", "")
LENGTHS = ((), (3,), (4,), (5,), (3, 4), (4, 5), (5, 3), (-1,))
MADE_UP_CODE = 999


def made_up_desc(lengths: tuple[tuple[int, ...], ...] = LENGTHS) -> st.SearchStrategy[PhoneNumberDesc]:
    return st.builds(
        lambda pattern, possible, local: PhoneNumberDesc(
            national_number_pattern=pattern, possible_length=possible, possible_length_local_only=local
        ),
        st.sampled_from(PATTERNS),
        st.sampled_from(lengths),
        st.sampled_from(((), (2,), (3,))),
    )


@st.composite
def made_up_metadata(draw: st.DrawFn, region: str) -> PhoneMetadata:
    descs = {name: draw(st.one_of(st.none(), made_up_desc())) for name in DESCS[:-1]}
    if descs["fixed_line"] is not None and descs["mobile"] is not None and draw(st.booleans()):
        # The same pattern, maybe other lengths: same_mobile_and_fixed_line_pattern is set.
        descs["mobile"] = PhoneNumberDesc(
            national_number_pattern=descs["fixed_line"].national_number_pattern,
            possible_length=draw(st.sampled_from(LENGTHS)),
        )
    return PhoneMetadata(
        region,
        general_desc=draw(made_up_desc(LENGTHS[1:])),
        country_code=MADE_UP_CODE,
        leading_digits=draw(st.sampled_from((None, None, "", "1", "[2-5]", "9|1"))),
        register=False,
        **descs,
    )


@contextlib.contextmanager
def made_up_code(regions: tuple[str, ...], metadata: tuple[PhoneMetadata, ...]) -> Iterator[phone._Code]:
    """The classifier of MADE_UP_CODE, shared by ``regions``, while the library knows ``metadata``."""
    assert MADE_UP_CODE not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(phonenumbers.COUNTRY_CODE_TO_REGION_CODE, MADE_UP_CODE, regions)
        for item in metadata:
            patch.setitem(PhoneMetadata._region_metadata, item.id, item)
        code = phone._Code(MADE_UP_CODE)
        assert code.fast
        yield code


def assert_as_library(code: phone._Code, national: str) -> int:
    number = phonenumbers.PhoneNumber(country_code=MADE_UP_CODE, national_number=int(national))
    kind = code.kind(national)
    assert kind == phonenumbers.number_type(number), national
    assert (kind != PhoneNumberType.UNKNOWN) == phonenumbers.is_valid_number(number), national
    assert (len(national) in code.possible) == phonenumbers.is_possible_number(number), national
    return kind


def test_the_classifier_mirrors_the_library_for_every_pair_of_overlapping_types() -> None:
    """Any two types whose patterns overlap (or are the same), with and without lengths that
    disagree with their patterns, under a general pattern that takes all or only some numbers."""
    overlapping = (r"[1-5]\d{2,4}", r"[3-8]\d{2,4}")
    nationals = [lead + "2345"[:size] for lead in "1479" for size in (2, 3, 4)]
    kinds: Counter[int] = Counter()
    for first, second in itertools.combinations(DESCS[:-1], 2):
        for patterns in (overlapping, overlapping[::-1], overlapping[:1] * 2):
            for lengths in (((), ()), ((4,), (3, 4, 5)), ((3, 5), (4,))):
                for general in (r"\d{3,5}", r"[1-6]\d{2,4}"):
                    descs = {
                        name: PhoneNumberDesc(national_number_pattern=pattern, possible_length=possible)
                        for name, pattern, possible in zip((first, second), patterns, lengths, strict=True)
                    }
                    general_desc = PhoneNumberDesc(national_number_pattern=general, possible_length=(3, 4, 5))
                    metadata = PhoneMetadata(
                        "XA", general_desc=general_desc, country_code=MADE_UP_CODE, register=False, **descs
                    )
                    with made_up_code(("XA",), (metadata,)) as code:
                        kinds.update(assert_as_library(code, national) for national in nationals)
    assert set(kinds) == ALL_KINDS, kinds


def test_the_classifier_mirrors_the_library_choosing_among_regions() -> None:
    """A shared calling code: two regions with overlapping patterns (one has fixed lines, the other
    toll-free numbers), each with or without leading digits (empty ones too), a region without
    metadata between them, and general lengths out of order (the library reads the first as the
    least)."""
    overlapping = (r"[1-5]\d{2,4}", r"[3-8]\d{2,4}")
    nationals = [lead + "2345"[:size] for lead in "1479" for size in (2, 3, 4)]
    kinds: Counter[int] = Counter()
    for leads in itertools.product((None, "", "1", "[1-4]"), repeat=2):
        for patterns in (overlapping, overlapping[::-1]):
            for lengths in (((3, 4, 5), (3, 4, 5)), ((5, 3), (4,))):
                metadata = tuple(
                    PhoneMetadata(
                        region,
                        general_desc=PhoneNumberDesc(
                            national_number_pattern=r"\d{3,5}", possible_length=length
                        ),
                        country_code=MADE_UP_CODE,
                        leading_digits=lead,
                        register=False,
                        **{kind: PhoneNumberDesc(national_number_pattern=pattern)},
                    )
                    for region, kind, lead, pattern, length in zip(
                        ("XA", "XB"), ("fixed_line", "toll_free"), leads, patterns, lengths, strict=True
                    )
                )
                with made_up_code(("XA", "XZ", "XB"), metadata) as code:
                    kinds.update(assert_as_library(code, national) for national in nationals)
    assert set(kinds) == {PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE, PhoneNumberType.UNKNOWN}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(("XA", "XB", "XC")), min_size=1, max_size=3, unique=True).flatmap(
        lambda regions: st.tuples(*(made_up_metadata(region) for region in regions))
    ),
    st.booleans(),
    st.lists(st.from_regex(r"[1-9][0-9]{1,5}", fullmatch=True), min_size=1, max_size=30),
)
def test_the_classifier_mirrors_the_library_on_made_up_metadata(
    metadata: tuple[PhoneMetadata, ...], unloaded: bool, nationals: list[str]
) -> None:
    """Region choice, type order, possible lengths and the fixed-line/mobile rules, as the library."""
    regions = tuple(item.id for item in metadata)
    if unloaded:  # a region of the code without metadata is passed over
        regions = (regions[0], "XZ", *regions[1:])
    with made_up_code(regions, metadata) as code:
        for national in nationals:
            assert_as_library(code, national)


def test_a_number_from_a_parse_worker_becomes_the_process_copy() -> None:
    """share_numbers: an E.164 number normalized in another process is swapped for the object
    normalize_number gives here, so desired and live keys match on identity (issue 11)."""
    from reconciler.model import normalize_number, share_numbers

    here = normalize_number("+4790555899", "NO")
    attrs = {"mobile": "".join(["+47", "90555899"]), "first_name": "Ann"}  # equal, another object
    assert attrs["mobile"] is not here
    share_numbers("contacts", attrs)
    assert attrs["mobile"] is here and attrs["first_name"] == "Ann"
    model._NUMBERS.pop("+4790555898", None)  # not read in this process yet: it becomes the copy
    first = "".join(["+47", "90555898"])
    share_numbers("contacts", {"mobile": first})
    assert normalize_number("+4790555898", "NO") is first
    untouched = {"mobile": None}
    share_numbers("contacts", untouched)
    assert untouched == {"mobile": None}

"""Phone-number benchmark: the library path against reconciler.phone for N distinct E.164 numbers.

Times, for N distinct numbers (default 100,000), the two steps every declared number takes:

- normalize: reading ``+digits`` as the number's E.164 form, cold (no memo): the library path is
  ``model._normalize`` as it was before reconciler.phone (its ``_parse_e164``, a copy below, then
  ``is_possible_number``, ``region_code_for_country_code``, ``is_valid_number``, ``format_number``),
  the fast path ``model._normalize`` now;
- kind: ``phonenumbers.number_type`` of the number read by that ``_parse_e164`` (what
  ``number_kind`` called), and ``phone.kind`` (what it calls now).

Two sets of numbers: Norwegian mobiles (``+4790000123``, a calling code shared by NO and SJ) and a
mix of calling codes and types (``+1`` NANPA regions, GB, SE, DE, AU, toll-free, invalid). Both
paths must give the same answers for every number (checked); each time is the best of three
runs. Prints times and ratios; asserts nothing about time.

    python bench/number_checks.py [--numbers N]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import phonenumbers  # noqa: E402
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, region_code_for_country_code  # noqa: E402
from phonenumbers.phonemetadata import PhoneMetadata  # noqa: E402

from reconciler import model, phone  # noqa: E402
from reconciler.model import InvalidNumber  # noqa: E402

# National prefixes of the mix: E.164 text is "+" + code + prefix + random digits to the length.
_MIX = (
    ("1", "212", 10),  # US
    ("1", "416", 10),  # CA, found after the US patterns fail
    ("1", "876", 10),  # JM, by its leading digits
    ("1", "800", 10),  # toll-free
    ("44", "7400", 10),  # GB mobile
    ("44", "20", 10),  # GB fixed line
    ("46", "70", 9),  # SE mobile
    ("46", "8", 9),  # SE fixed line
    ("49", "151", 11),  # DE mobile
    ("61", "4", 9),  # AU mobile
    ("47", "5", 8),  # NO: possible, not valid
    ("358", "18", 9),  # AX, by its leading digits
)


def norwegian(n: int) -> list[str]:
    return [f"+4790{i:06d}" for i in range(n)]


def mixed(n: int) -> list[str]:
    rng = random.Random(11)
    out: set[str] = set()
    while len(out) < n:
        code, prefix, length = rng.choice(_MIX)
        rest = length - len(prefix)
        out.add(f"+{code}{prefix}{rng.randrange(10**rest):0{rest}d}")
    return sorted(out)


def previous_parse_e164(text: str) -> phonenumbers.PhoneNumber | None:
    """model._parse_e164 before reconciler.phone."""
    digits = text[1:]
    if not (text.startswith("+") and digits.isascii() and digits.isdigit()) or digits.startswith("0"):
        return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not 2 <= len(national) <= 17 or national.startswith("0"):
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region_code_for_country_code(code))
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    if prefix and re.match(prefix, national):
        return None
    return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))


def library_normalize(text: str) -> str:
    """_normalize before reconciler.phone, for a +digits candidate ("": not accepted)."""
    parsed = previous_parse_e164(text) or phonenumbers.parse(text, None)
    if (
        phonenumbers.is_possible_number(parsed)
        and phonenumbers.region_code_for_country_code(parsed.country_code or 0) != "ZZ"
    ) or phonenumbers.is_valid_number(parsed):
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return ""


def fast_normalize(text: str) -> str:
    try:
        return model._normalize(text, "")
    except InvalidNumber:
        return ""


def library_kind(text: str) -> int:
    parsed = previous_parse_e164(text) or phonenumbers.parse(text, None)
    return int(phonenumbers.number_type(parsed))


def timed(step: Callable[[str], Any], numbers: Sequence[str]) -> tuple[float, list[Any]]:
    best = float("inf")
    answers: list[Any] = []
    for _ in range(3):
        started = time.perf_counter()
        answers = [step(text) for text in numbers]
        best = min(best, time.perf_counter() - started)
    return best, answers


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--numbers", type=int, default=100_000, help="distinct numbers per set")
    args = parser.parse_args()
    print(f"{args.numbers:,} distinct numbers; best of 3 runs; phonenumbers {phonenumbers.__version__}")
    for name, numbers in (("+47 9xxxxxxx", norwegian(args.numbers)), ("mixed", mixed(args.numbers))):
        for step, library, fast in (
            ("normalize", library_normalize, fast_normalize),
            ("kind", library_kind, phone.kind),
        ):
            slow_time, slow = timed(library, numbers)
            fast_time, quick = timed(fast, numbers)
            if slow != quick:
                wrong = next(text for text, a, b in zip(numbers, slow, quick, strict=True) if a != b)
                print(f"{name} {step}: the paths differ, e.g. for {wrong}", file=sys.stderr)
                return 1
            print(
                f"{name:>13} {step:<9}  library {slow_time:.3f} s  phone {fast_time:.3f} s  "
                f"library/phone = {slow_time / fast_time:.1f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

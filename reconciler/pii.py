"""Masking of personal data (phone numbers, e-mail addresses, names) in shared outputs.

A masked value keeps just enough to recognise it and adds a short keyed hash, so a reviewer can
tell that two mentions are the same person without seeing who it is::

    +46701234567        ->  +46 70•••••67 #3f9a1c
    anna.berg@mail.se   ->  a•••@m•••.se #a41b07
    Anna                ->  A••• #0c55e2

The hash is an HMAC-SHA256 of the canonical value (E.164 number, lower-cased address,
case-folded name) under a key of the config repository (:func:`load_key`), cut to
:data:`TAG_HEX` hex digits. Without the key the tag cannot be reversed, not even by trying every
number of a country; with a short tag, equal tags on different people are possible but rare.

What is personal: a string that reads as an E.164 number (``+`` and 7 to 15 digits), one that
reads as an e-mail address, and the value of a name field (:data:`NAME_FIELDS`). In free text
(reasons, warnings, errors) numbers and addresses are found by pattern and names by the list of
names seen in the same document (:meth:`Masker.learn`). See ``docs/pii.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from reconciler.changes import Change
from reconciler.errors import ConfigError, Problem
from reconciler.plan import Plan, Warning_

log = logging.getLogger(__name__)
DOT = "\u2022"  # •
TAG_HEX = 6
_CACHE_SIZE = 1 << 18  # masked values remembered per Masker (repeated names, texts)
KEY_ENV = "RECONCILER_PII_KEY"
KEY_FILE = Path(".reconciler") / "pii.key"
# Field names (the last part of an attribute path) whose values are people's names.
NAME_FIELDS = frozenset({"first_name", "last_name", "full_name", "contact_name"})

_E164 = re.compile(r"\+\d{7,15}")
_NON_DIGIT = re.compile(r"\D")
_WORD = re.compile(r"\w+")
_EMAIL = r"(?P<email>(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
_NUMBER = r"(?P<number>(?<![\w+])\+\d{7,15}(?!\d))"
# One pass over free text: addresses and +numbers always; digit runs and words are looked up in
# what the masker learned (a known number written without +, a known name).
_PLAIN_TEXT = re.compile(f"{_EMAIL}|{_NUMBER}")
_FREE_TEXT = re.compile(rf"{_EMAIL}|{_NUMBER}|(?P<digits>(?<![\w+])\d{{6,17}}(?!\d))|(?P<word>\w+)")
_KEY_HEX = re.compile(r"[0-9a-f]{64}")


def load_key(root: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The masking key of the config repository at ``root``.

    ``$RECONCILER_PII_KEY`` wins when set (any text; set it as a CI secret so tags stay equal
    across runs). Otherwise ``.reconciler/pii.key`` under ``root`` holds 32 random bytes in hex,
    created (mode 0600) on first use; ``.reconciler/`` is not committed, so each checkout has its
    own key; where it can't be created (a read-only checkout) a random key serves this run only.
    Raises :class:`ConfigError` for an unreadable or malformed key file.
    """
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        return hashlib.sha256(env[KEY_ENV].encode("utf-8")).digest()
    path = root / KEY_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return _create_key(path)
    except (OSError, UnicodeDecodeError) as exc:
        message = (
            f"{path}: cannot read the PII masking key ({exc.__class__.__name__}); "
            "delete the file to get a new one"
        )
        raise ConfigError([Problem(message)]) from None
    if not _KEY_HEX.fullmatch(text):
        message = f"{path}: the PII masking key is not 64 hex digits; delete the file to get a new one"
        raise ConfigError([Problem(message)])
    return bytes.fromhex(text)


def _create_key(path: Path) -> bytes:
    key = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another run created it first: use theirs
        return load_key(path.parent.parent, {})
    except OSError as exc:
        # A read-only checkout still gets masked output: tags then match within this run only.
        log.warning(
            "pii: cannot create %s (%s); using a key for this run only (set %s)", path, exc.strerror, KEY_ENV
        )
        return key
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex() + "\n")
    return key


def _bullets(n: int) -> str:
    return DOT * max(n, 3)


@dataclass
class Masker:
    """Masks personal data with tags keyed by ``key``; learns names and numbers to find in free text.

    Not thread-safe (it learns as it goes); one per rendered document.
    """

    key: bytes
    names: set[str] = field(default_factory=set)
    _tokens: set[str] = field(default_factory=set, repr=False)  # case-folded words of known names
    _numbers: dict[str, str] = field(default_factory=dict, repr=False)  # digits as written -> E.164
    _done: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def tag(self, kind: str, canonical: str) -> str:
        """``#`` and the first :data:`TAG_HEX` hex digits of the HMAC of ``kind:canonical``."""
        digest = hmac.digest(self.key, f"{kind}:{canonical}".encode(), "sha256")
        return "#" + digest.hex()[:TAG_HEX]

    def number(self, e164: str) -> str:
        """``+46 70•••••67 #tag``: country code, two leading and two trailing digits."""
        done = self._done.get(("number", e164))
        if done is None:
            done = self._done[("number", e164)] = self._number(e164)
        return done

    def _number(self, e164: str) -> str:
        digits = _NON_DIGIT.sub("", e164)
        return f"{_shape(digits)} {self.tag('number', '+' + digits)}"

    def email(self, address: str) -> str:
        """``a•••@m•••.se #tag``: the first letters of the mailbox and domain, and the top-level domain."""
        local, _, domain = address.partition("@")
        host, dot, tld = domain.rpartition(".")
        masked_domain = f"{host[:1]}{DOT * 3}{dot}{tld}" if host else DOT * 3
        return f"{local[:1]}{DOT * 3}@{masked_domain} {self.tag('email', address.lower())}"

    def name(self, text: str) -> str:
        """``A••• #tag``: the initial of a name (the tag ignores case and surrounding spaces)."""
        stripped = text.strip()
        if not stripped:
            return text
        done = self._done.get(("name", stripped))
        if done is None:
            done = f"{stripped[:1]}{DOT * 3} {self.tag('name', stripped.casefold())}"
            self._done[("name", stripped)] = done
        return done

    def learn_name(self, name: str) -> None:
        """Remember ``name`` so free text mentioning it (or any of its words) is masked."""
        stripped = name.strip()
        if stripped and stripped not in self.names:
            self._done.clear()  # cached texts were masked without this name
            self.names.add(stripped)
            self._tokens.update(w.casefold() for w in _WORD.findall(stripped) if len(w) >= 2)

    def learn_number(self, e164: str) -> None:
        """Remember an E.164 number so its digits written without ``+`` are masked in free text."""
        digits = e164.lstrip("+")
        country, national = _split_number(digits)
        forms = [digits, "00" + digits]
        if country and len(national) >= 6:
            forms += [national, "0" + national]
        for form in forms:
            if form not in self._numbers:
                self._numbers[form] = "+" + digits
                self._done.clear()  # cached texts were masked without this number

    def learn(self, values: Any, path: str = "") -> None:
        """Remember the names in name fields and the E.164 numbers anywhere in ``values`` (recursively)."""
        if isinstance(values, str):
            if path in NAME_FIELDS:
                self.learn_name(values)
            elif _E164.fullmatch(values):
                self.learn_number(values)
        elif isinstance(values, dict | Mapping):  # dict first: the ABC check is slow
            for name, value in values.items():
                self.learn(value, str(name))
        elif isinstance(values, list | tuple):
            for value in values:
                self.learn(value, path)

    def text(self, text: str) -> str:
        """``text`` with every number, e-mail address and known name or number in it masked."""
        if not text:
            return text
        done = self._done.get(("text", text))
        if done is None:
            pattern = _FREE_TEXT if self._tokens or self._numbers else _PLAIN_TEXT
            done = pattern.sub(self._replace, text)
            if len(self._done) < _CACHE_SIZE:
                self._done[("text", text)] = done
        return done

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group()
        kind = match.lastgroup
        if kind == "email":
            return self.email(found)
        if kind == "number":
            return self.number(found)
        if kind == "digits":
            known = self._numbers.get(found)
            return self.number(known) if known is not None else found
        return self.name(found) if found.casefold() in self._tokens else found

    def value(self, value: Any, path: str = "") -> Any:
        """``value`` (JSON-like) with personal data masked; ``path`` is the field name it sits under."""
        if isinstance(value, str):
            if path in NAME_FIELDS:
                return self.name(value)
            return self.text(value)
        if isinstance(value, dict | Mapping):  # dict first: the ABC check is slow
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, path) for v in value]
        return value


def shape(number: str) -> str:
    """The masked form of ``number`` without its tag (``+46 70•••••67``), for log lines, where
    the repository's key is not at hand. Anything but digits in ``number`` is left out, and so is
    the ``+`` when ``number`` has none (a national ``07700 900123`` shows as ``07•••••••23``)."""
    masked = _shape(_NON_DIGIT.sub("", number))
    return masked if number.lstrip().startswith("+") else masked.removeprefix("+")


def _shape(digits: str) -> str:
    country, national = _split_number(digits)
    if len(national) < 6:
        return f"+{country} {_bullets(len(national))}" if country else "+" + _bullets(len(digits))
    if country:
        return f"+{country} {national[:2]}{_bullets(len(national) - 4)}{national[-2:]}"
    return f"+{national[:2]}{_bullets(len(national) - 4)}{national[-2:]}"


def number_masker(root: Path) -> Callable[[str], str]:
    """:meth:`Masker.number` under the key of the config repository at ``root``, loaded on first
    use (a run that masks no number creates no key file). For messages that always mask a number,
    such as the audience check's errors, so they carry the same tag as the masked reports."""
    masker: Masker | None = None

    def mask(e164: str) -> str:
        nonlocal masker
        if masker is None:
            masker = Masker(load_key(root))
        return masker.number(e164)

    return mask


def _split_number(digits: str) -> tuple[str, str]:
    """(country calling code, national number) of a number's digits; ("", digits) when no code fits.

    Calling codes are prefix-free and 1 to 3 digits long, so the first prefix that is one is it
    (what phonenumbers does inside ``parse``, without the cost of a full parse).
    """
    if digits.startswith("0"):  # a national or international prefix, never a calling code
        return "", digits
    for size in (1, 2, 3):
        if int(digits[:size] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[:size], digits[size:]
    return "", digits


def _mask_change(change: Change, masker: Masker) -> Change:
    def attrs(values: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if values is None else masker.value(values)

    return dataclasses.replace(
        change,
        key=masker.text(change.key),
        before=attrs(change.before),
        after=attrs(change.after),
        reason=masker.text(change.reason),
        desired=None if change.desired is None else masker.value(dict(change.desired)),
    )


def learn_plan(plan: Plan, masker: Masker) -> None:
    """Teach ``masker`` the names and numbers of the plan (attributes and keys), so free text
    mentioning them is masked."""
    for change in plan.changes:
        masker.learn([change.key, change.before, change.after, change.desired])
    masker.learn([w.key for w in plan.warnings])
    masker.learn([[a.key, a.attrs] for a in plan.adoptions])


def mask_plan(plan: Plan, masker: Masker, *, names: Iterable[str] = ()) -> Plan:
    """A copy of ``plan`` with personal data masked in keys, attributes, reasons, warnings, errors
    and adoptions (which carry live attributes).

    ``names`` adds names known from elsewhere (e.g. the declared configuration) to those in the
    plan. The copy is for rendering only: never save or apply it.
    """
    for name in names:
        masker.learn_name(name)
    learn_plan(plan, masker)
    return dataclasses.replace(
        plan,
        changes=tuple(_mask_change(c, masker) for c in plan.changes),
        warnings=tuple(
            Warning_(w.account, w.type, masker.text(w.key), masker.text(w.message)) for w in plan.warnings
        ),
        errors=tuple(Problem(masker.text(str(e))) for e in plan.errors),
        adoptions=tuple(
            dataclasses.replace(a, key=masker.text(a.key), attrs=masker.value(a.attrs))
            for a in plan.adoptions
        ),
    )


def declared_names(resources: Iterable[Any]) -> set[str]:
    """The names in name fields of ``resources`` (anything with an ``attrs`` mapping)."""
    masker = Masker(b"")
    for resource in resources:
        masker.learn(getattr(resource, "attrs", {}))
    return masker.names

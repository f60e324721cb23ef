"""Text from outside made safe to show: control, bidi and invisible characters written as escapes.

Provider answers, names in the config and file contents may hold terminal escape sequences
(``ESC[2J``, an OSC title), bidi overrides (U+202E) or zero-width characters. Every line the CLI
writes to a terminal passes through :func:`escape_controls`, so they show as ``\\x1b`` or
``\\u202e`` instead of acting on the terminal or disguising the text.
"""

from __future__ import annotations

import re

# C0 and C1 controls (tab, newline and carriage return included: a value never spans lines),
# bidi embeddings, overrides and isolates, zero-width and other invisible format characters,
# line and paragraph separators. U+200D (zero-width joiner) is left alone: emoji sequences use it.
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200c\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_LINE_SAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200c\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control, bidi and invisible format character written as an escape."""
    return UNSAFE.sub(_escape, text)


def escape_lines(text: str) -> str:
    """Like :func:`escape_controls`, but newlines stay: for multi-line output (a rendered plan)."""
    return _LINE_SAFE.sub(_escape, text)


def has_controls(text: str) -> bool:
    """True when :func:`escape_controls` would change ``text``."""
    return UNSAFE.search(text) is not None

"""Text that reaches a report must not carry control or bidirectional-override characters: a CR
breaks a Markdown table, ESC drives a terminal, U+202E reverses the text after it and can make
one customer's name read as another's. Registries refuse them (config.identifiers); names that
come from the clouds (account and subscription names) are neutralised here, each character
shown as its code point."""

from __future__ import annotations

import unicodedata

# Cc: control characters (CR, LF, TAB, ESC, ...); Cf: format characters, which include the
# bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Joiners that scripts need (Persian, Indic, emoji sequences) are kept.
_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})


def is_forbidden(ch: str) -> bool:
    return ch not in _ALLOWED_FORMAT and unicodedata.category(ch) in _FORBIDDEN_CATEGORIES


def code_point(ch: str) -> str:
    """'U+202E RIGHT-TO-LEFT OVERRIDE'."""
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


def forbidden_code_points(text: str) -> list[str]:
    """Each distinct control or bidi character of `text`, as `code_point` names it."""
    return list(dict.fromkeys(code_point(ch) for ch in text if is_forbidden(ch)))


def neutralise(text: str) -> str:
    """`text` with each control or bidi character replaced by its code point, e.g. '[U+202E]'."""
    if not any(is_forbidden(ch) for ch in text):
        return text
    return "".join(f"[U+{ord(ch):04X}]" if is_forbidden(ch) else ch for ch in text)

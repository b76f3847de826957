"""Checks on what a person types into a registry: account ids and display names.

Account ids are checked per provider (a table, not a chain of ifs) and normalised, so that an
upper-case Azure subscription GUID matches what ARM returns. Names must not carry control or
bidirectional-override characters: a CR breaks a Markdown table, U+202E reverses the text that
follows it and can spoof a customer name in a PDF. They are refused with the code points shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from computewatch.domain.text import forbidden_code_points


@dataclass(frozen=True, slots=True)
class AccountIdFormat:
    pattern: re.Pattern[str]
    example: str
    case_insensitive: bool


ACCOUNT_ID_FORMATS: dict[str, AccountIdFormat] = {
    "aws": AccountIdFormat(re.compile(r"\d{12}"), "123456789012 (12 digits)", False),
    "azure": AccountIdFormat(
        re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE),
        "5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63 (a subscription GUID)",
        True,
    ),
}


def normalise_account_id(provider: str, account_id: str) -> str:
    """The form used to match ids: Azure subscription GUIDs in lower case, others as given."""
    fmt = ACCOUNT_ID_FORMATS.get(provider)
    text = account_id.strip()
    return text.lower() if fmt is not None and fmt.case_insensitive else text


def normalise_any_account_id(account_id: str) -> str:
    """An id given without its provider (`audit --account`): normalised as the provider whose
    format it has, so an upper-case subscription GUID selects the subscription."""
    for provider, fmt in ACCOUNT_ID_FORMATS.items():
        if fmt.pattern.fullmatch(account_id.strip()):
            return normalise_account_id(provider, account_id)
    return account_id.strip()


def check_account_id(provider: str, account_id: str) -> str:
    """The normalised id, or ValueError saying what an id of that provider looks like."""
    fmt = ACCOUNT_ID_FORMATS.get(provider)
    text = normalise_account_id(provider, account_id)
    if fmt is not None and not fmt.pattern.fullmatch(text):
        raise ValueError(f"{account_id!r} is not a {provider} account id; expected {fmt.example}")
    return text


def check_display_text(text: str) -> str:
    """`text`, or ValueError naming the control/bidi code points it holds."""
    bad = forbidden_code_points(text)
    if bad:
        raise ValueError(
            "contains control or bidirectional-override characters (" + ", ".join(bad) + "); "
            "remove them: they break tables and can disguise a name"
        )
    return text

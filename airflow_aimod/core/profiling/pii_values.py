"""``looks_like_pii_value``: values that are personal data whatever their column is called.

A column named ``contact`` or ``ref`` may hold e-mail addresses, phone numbers or card numbers;
its name says nothing, its values do. The profiler checks the values it sampled (top values,
minimum, maximum) and, when any looks like PII, withholds the column's values as for a declared
PII column. Patterns: an e-mail address; a phone number (7–15 digits, optionally ``+``, with the
usual separators); a card-like number (13–19 digits passing the Luhn check).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
_CARD = re.compile(r"\d(?:[ -]?\d){12,18}")


def looks_like_pii_value(value: Any) -> bool:
    """Whether a single sampled value looks like an e-mail address, a phone number or a card number."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if _EMAIL.search(text):
        return True
    if _CARD.fullmatch(text) and _luhn(re.sub(r"\D", "", text)):
        return True
    digits = re.sub(r"\D", "", text)
    return bool(_PHONE.fullmatch(text)) and 7 <= len(digits) <= 15 and not _is_date_or_number(text)


def any_pii_value(values: Iterable[Any]) -> bool:
    return any(looks_like_pii_value(v) for v in values)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _is_date_or_number(text: str) -> bool:
    """ISO dates/times and plain numbers (amounts, ids) are not phone numbers."""
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T][\d:.]+)?", text) or re.fullmatch(r"-?\d+(\.\d+)?", text))

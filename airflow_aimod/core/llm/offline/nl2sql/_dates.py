"""Time and number phrases for the offline NL→SQL composer.

Each matcher looks at the tokens from position ``i`` and returns how many it consumed
with what they mean, or ``None``. Relative ranges ("last 30 days", "last month") are
computed from ``today`` into literal dates, so the same question on the same day
always gives the same SQL. Ranges are half-open: ``start <= d < end``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from airflow_aimod.core.llm.offline.nl2sql._text import TIME_UNITS, Token

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
_PREFIXES = ("in", "during", "for", "of", "on", "within")


@dataclass(frozen=True)
class DateRange:
    """A half-open date range; either end may be open."""

    start: date | None
    end: date | None
    text: str

    def to_dict(self) -> dict[str, str | None]:
        return {"from": self.start and self.start.isoformat(), "before": self.end and self.end.isoformat(),
                "phrase": self.text}


@dataclass(frozen=True)
class Compare:
    """A numeric comparison: ``op`` is one of > >= < <= = between."""

    op: str
    values: tuple[float | int, ...]
    text: str


def shift(day: date, unit: str, n: int) -> date:
    """``day`` moved by ``n`` calendar units (month ends are clamped)."""
    if unit in ("day", "week"):
        return day + timedelta(days=n * (7 if unit == "week" else 1))
    months = n * {"month": 1, "quarter": 3, "year": 12}[unit]
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period_start(day: date, unit: str) -> date:
    """Start of the calendar ``unit`` containing ``day`` (weeks start on Monday)."""
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def _text(tokens: list[Token], i: int) -> str:
    return tokens[i].text if i < len(tokens) else ""


def _phrase(tokens: list[Token], i: int, n: int) -> str:
    return " ".join(t.raw for t in tokens[i:i + n])


def _year(token: Token | None) -> int | None:
    if token is not None and token.kind == "num" and isinstance(token.value, int) and 1900 <= token.value <= 2100:
        return token.value
    return None


def _term(tokens: list[Token], j: int, today: date, bare_month: bool) -> tuple[int, date, date] | None:
    """One calendar term at ``j``: ISO day, 'March 2024', 'Q1 2024', '2024' (or 'March' when allowed)."""
    if j >= len(tokens):
        return None
    tok = tokens[j]
    if tok.kind == "date":
        try:
            day = date.fromisoformat(tok.value)
        except ValueError:
            return None
        return 1, day, day + timedelta(days=1)
    nxt = tokens[j + 1] if j + 1 < len(tokens) else None
    if tok.text in MONTHS and tok.kind == "word":
        return _month_term(tok, nxt, today, bare_month)
    if tok.text == "q" and nxt is not None and nxt.value in (1, 2, 3, 4) and _year(_at(tokens, j + 2)):
        start = date(_year(tokens[j + 2]), 3 * nxt.value - 2, 1)
        return 3, start, shift(start, "quarter", 1)
    if (year := _year(tok)) is not None:
        return 1, date(year, 1, 1), date(year + 1, 1, 1)
    return None


def _at(tokens: list[Token], j: int) -> Token | None:
    return tokens[j] if j < len(tokens) else None


def _month_term(tok: Token, nxt: Token | None, today: date, bare_month: bool) -> tuple[int, date, date] | None:
    month = MONTHS[tok.text]
    if (year := _year(nxt)) is not None:
        start = date(year, month, 1)
        return 2, start, shift(start, "month", 1)
    if not bare_month:
        return None
    start = date(today.year if month <= today.month else today.year - 1, month, 1)
    return 1, start, shift(start, "month", 1)


def match_date(tokens: list[Token], i: int, today: date) -> tuple[int, DateRange] | None:
    """A date-range phrase starting at ``i``."""
    for matcher in (_between, _open_ended, _relative, _in_term):
        hit = matcher(tokens, i, today)
        if hit is not None:
            n, start, end = hit
            return n, DateRange(start, end, _phrase(tokens, i, n))
    return None


def _between(tokens: list[Token], i: int, today: date):
    if _text(tokens, i) not in ("between", "from"):
        return None
    first = _term(tokens, i + 1, today, True)
    if first is None or _text(tokens, i + 1 + first[0]) not in ("and", "to", "until", "till", "through", "thru"):
        return None
    k = i + 2 + first[0]
    second = _term(tokens, k, today, True)
    if second is None:
        return None
    return k + second[0] - i, first[1], second[2]


def _open_ended(tokens: list[Token], i: int, today: date):
    word = _text(tokens, i)
    skip = 2 if (word, _text(tokens, i + 1)) in (("prior", "to"), ("starting", "from"), ("up", "to")) else 1
    if skip == 2:
        word = f"{word} {_text(tokens, i + 1)}"
    if word not in ("since", "after", "from", "starting", "starting from", "before", "until", "till", "prior to",
                    "up to"):
        return None
    term = _term(tokens, i + skip, today, True)
    if term is None:
        return None
    n, start, end = term[0] + skip, term[1], term[2]
    if word == "from" and (end - start).days > 1:
        return n, start, end
    if word in ("since", "from", "starting", "starting from"):
        return n, start, None
    if word == "after":
        return n, end, None
    return (n, None, start) if word in ("before", "prior to") else (n, None, end)


def _relative(tokens: list[Token], i: int, today: date):
    word, nxt = _text(tokens, i), _at(tokens, i + 1)
    tomorrow = today + timedelta(days=1)
    if word in ("yesterday", "today"):
        day = today - timedelta(days=1 if word == "yesterday" else 0)
        return 1, day, day + timedelta(days=1)
    if word == "ytd" or (word, _text(tokens, i + 1), _text(tokens, i + 2)) == ("year", "to", "date"):
        return (1 if word == "ytd" else 3), date(today.year, 1, 1), tomorrow
    if word in ("last", "past", "previous", "recent", "trailing") and nxt is not None:
        if nxt.kind == "num" and isinstance(nxt.value, int) and _text(tokens, i + 2) in TIME_UNITS:
            unit = TIME_UNITS[_text(tokens, i + 2)]
            return 3, shift(today, unit, -nxt.value), tomorrow
        if nxt.text in TIME_UNITS:
            unit = TIME_UNITS[nxt.text]
            start = period_start(today, unit)
            return 2, shift(start, unit, -1), start
    if word in ("this", "current") and nxt is not None and nxt.text in TIME_UNITS:
        unit = TIME_UNITS[nxt.text]
        start = period_start(today, unit)
        return 2, start, shift(start, unit, 1)
    return None


def _in_term(tokens: list[Token], i: int, today: date):
    if _text(tokens, i) in _PREFIXES:
        term = _term(tokens, i + 1, today, True)
        return None if term is None else (term[0] + 1, term[1], term[2])
    return _term(tokens, i, today, False)


_COMPARATORS = tuple(sorted((
    (("more", "than"), ">"), (("greater", "than"), ">"), (("higher", "than"), ">"), (("larger", "than"), ">"),
    (("bigger", "than"), ">"), (("over",), ">"), (("above",), ">"), (("exceeding",), ">"), (("exceeds",), ">"),
    (("at", "least"), ">="), (("no", "less", "than"), ">="), (("not", "less", "than"), ">="),
    (("minimum", "of"), ">="), (("less", "than"), "<"), (("fewer", "than"), "<"), (("lower", "than"), "<"),
    (("smaller", "than"), "<"), (("cheaper", "than"), "<"), (("under",), "<"), (("below",), "<"),
    (("at", "most"), "<="), (("no", "more", "than"), "<="), (("not", "more", "than"), "<="), (("up", "to"), "<="),
    (("maximum", "of"), "<="), (("exactly",), "="), (("equal", "to"), "="), (("equals",), "="), ((">",), ">"),
    ((">=",), ">="), (("<",), "<"), (("<=",), "<="), (("=",), "="),
), key=lambda pair: -len(pair[0])))
_OR_MORE = {"more": ">=", "greater": ">=", "higher": ">=", "above": ">=", "less": "<=", "fewer": "<=",
            "lower": "<=", "below": "<="}


def _num(token: Token | None) -> float | int | None:
    return token.value if token is not None and token.kind == "num" else None


def match_compare(tokens: list[Token], i: int) -> tuple[int, Compare] | None:
    """'over 100', 'at least 5', 'between 10 and 20', '5 or more', '>= 3' starting at ``i``."""
    if _text(tokens, i) == "between" and _num(_at(tokens, i + 1)) is not None and _text(tokens, i + 2) == "and":
        low, high = _num(_at(tokens, i + 1)), _num(_at(tokens, i + 3))
        if high is not None:
            return 4, Compare("between", (min(low, high), max(low, high)), _phrase(tokens, i, 4))
    value = _num(_at(tokens, i))
    if value is not None and _text(tokens, i + 1) == "or" and _text(tokens, i + 2) in _OR_MORE:
        return 3, Compare(_OR_MORE[_text(tokens, i + 2)], (value,), _phrase(tokens, i, 3))
    for words, op in _COMPARATORS:
        if tuple(_text(tokens, i + k) for k in range(len(words))) == words:
            value = _num(_at(tokens, i + len(words)))
            if value is not None:
                return len(words) + 1, Compare(op, (value,), _phrase(tokens, i, len(words) + 1))
    return None


_RANK_WORDS = {"top": "rank:desc", "best": "rank:desc", "highest": "rank:desc", "largest": "rank:desc",
               "biggest": "rank:desc", "most": "rank:desc", "longest": "rank:desc", "shortest": "rank:asc",
               "heaviest": "rank:desc", "busiest": "rank:desc", "bottom": "rank:asc", "worst": "rank:asc",
               "lowest": "rank:asc", "smallest": "rank:asc", "least": "rank:asc", "fewest": "rank:asc",
               "cheapest": "rank:asc+price", "priciest": "rank:desc+price", "last": "recent:desc",
               "latest": "recent:desc", "newest": "recent:desc", "first": "recent:asc", "earliest": "recent:asc",
               "oldest": "recent:asc"}


def match_rank(tokens: list[Token], i: int) -> tuple[int, str, int] | None:
    """'top 5', 'bottom 3', 'latest 10', '5 most ...' → (consumed, mark, n)."""
    word, nxt = _text(tokens, i), _at(tokens, i + 1)
    count = _num(nxt)
    if word in _RANK_WORDS and isinstance(count, int) and 0 < count <= 10_000:
        return 2, _RANK_WORDS[word], count
    count = _num(_at(tokens, i))
    if isinstance(count, int) and 0 < count <= 10_000 and nxt is not None and nxt.text in _RANK_WORDS:
        if (nxt.text, _text(tokens, i + 2)) == ("most", "recent"):
            return 3, "recent:desc", count
        return 2, _RANK_WORDS[nxt.text], count
    return None


def is_iso_date(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))

"""What a text claims: numbers (with unit and what they count), dates, names, directions.

``read_claims(text)`` turns a text into ``Claim`` records; ``SourceFacts`` indexes a source
text the same way so the faithfulness checker can look each summary claim up. Parsing is
deliberately plain (regular expressions and a small stemmer): every claim it reads is a
claim a reader would check against the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                      "september", "october", "november", "december"), start=1)}
MONTHS.update({name[:3]: i for name, i in list(MONTHS.items())})
MONTHS["sept"] = 9
SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "millions": 1e6, "b": 1e9, "bn": 1e9,
          "billion": 1e9}
NUMBER_WORDS = {w: i for i, w in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                            "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                            "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
TIME_UNITS = {"ms": 0.001, "millisecond": 0.001, "s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0,
              "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "day": 86400.0, "week": 604800.0}
HEDGES = ("about", "around", "roughly", "approximately", "approx", "nearly", "almost", "some", "over",
          "more than", "less than", "under", "~", "close to", "just over", "just under")
UP = frozenset("rose rise rises risen rising increase increased increases increasing grew grow grows growing growth "
               "up higher highest above more gained gain jumped jump spike spiked spikes climbed climb exceeded "
               "exceeds surged surge improved improve improvement doubled tripled".split())
DOWN = frozenset("fell fall falls fallen falling drop dropped drops dropping decrease decreased decreases decreasing "
                 "declined decline declines down lower lowest below less fewer shrank shrink dipped dip reduced "
                 "reduce reduction slumped plunged worsened worsen halved degraded".split())
STOP = frozenset("a an the of to in on at by for from with and or but is are was were be been being this that these "
                 "those it its as per than then there their they we our you your he she his her not no yes all any "
                 "each which who what when where while into over under about around roughly approximately nearly "
                 "almost some more less also only just so has have had do did does will would can could should may "
                 "might must total overall summary run runs see note s i versus vs against after before during since until "
                 "until compared".split())
GENERIC_NAMES = frozenset("i sql dag dags csv json api utc etl kpi kpis id ids ok http https url aimod xcom llm pdf html "
                          "mon tue wed thu fri sat sun monday tuesday wednesday thursday friday saturday sunday".split())

_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")
_MDY = re.compile(r"\b([A-Z][a-z]{2,8})\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})\b")
_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)? ([A-Z][a-z]{2,8}),? (\d{4})\b")
_MY = re.compile(r"\b([A-Z][a-z]{2,8}) (\d{4})\b")
_MD = re.compile(r"\b([A-Z][a-z]{2,8})\.? (\d{1,2})(?:st|nd|rd|th)?\b(?![:\d])")
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_NUMBER = re.compile(r"(?<![\w.$€£-])([$€£])?\s?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
                     r"(?:\s?(%|percent\b|pct\b|k\b|thousand\b|m\b|mn\b|millions?\b|b\b|bn\b|billion\b))?(?![\w.]*[A-Za-z_])")
NUMBER_PHRASES = {"a single": 1, "a dozen": 12, "twice": 2, "thrice": 3, "none of the": 0, "none of": 0, "no": 0}
_PHRASE_WORDS = frozenset(w for phrase in NUMBER_PHRASES for w in phrase.split())
NONE_WORDS = ("no", "none")  # "no failed tasks": a count of zero, flagged only when the source counts some
_WORD_NUMBER = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r"|a\s+single|a\s+dozen|twice|thrice|none\s+of(?:\s+the)?"
                          r"|no(?=\s+[a-z]))\b", re.I)
_IDENT = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9]*(?:[_.][A-Za-z0-9_]+)+|[a-z]+[A-Z][A-Za-z0-9]*|"
                    r"[A-Za-z]+-\d[\w-]*|"
                    r"[A-Za-z]+\d+[A-Za-z0-9]*|`[^`]{1,60}`)(?![\w])")
_CAPS = re.compile(r"\b([A-Z][A-Za-z&'-]*(?:\s+[A-Z][A-Za-z&'-]*)*)\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_']*|\d+(?:[.,]\d+)*")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"'`(])|\n+")


@dataclass(frozen=True)
class Claim:
    """One checkable statement in a text: ``kind`` is number, date, name or direction."""

    kind: str
    text: str
    sentence: int
    value: object = None
    unit: str | None = None
    counts: str | None = None
    hedged: bool = False
    rep: str = ""
    at: int = -1

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text}


@dataclass
class SourceFacts:
    """A source text indexed for look-ups: its numbers, dates, names, words and sentences."""

    text: str
    sentences: list[str] = field(default_factory=list)
    numbers: list[Claim] = field(default_factory=list)
    dates: set = field(default_factory=set)
    lowered: str = ""
    stems: set = field(default_factory=set)

    @classmethod
    def of(cls, text: str) -> SourceFacts:
        facts = cls(text=text, sentences=split_sentences(text), lowered=text.lower())
        claims = read_claims(text)
        facts.numbers = [c for c in claims if c.kind == "number"]
        facts.dates = {c.value for c in claims if c.kind == "date"}
        facts.stems = {stem(w) for w in words(text)}
        return facts


def split_sentences(text: str) -> list[str]:
    """Sentences (and lines) of ``text``, stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def words(text: str) -> list[str]:
    """Lower-case words of ``text``; identifiers are also split on ``_`` and ``.``."""
    out: list[str] = []
    for token in _WORD.findall(text):
        token = token.lower()
        out.append(token)
        if "_" in token:
            out.extend(p for p in token.split("_") if p)
    return out


def stem(word: str) -> str:
    """A crude stem: enough to match failed/failures/failing, row/rows, increase/increased."""
    word = word.lower().strip("'")
    for suffix in ("ations", "ation", "ings", "ing", "ures", "ure", "ies", "ied", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= (2 if suffix in ("ies", "ied") else 3):
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def content_stems(text: str) -> set[str]:
    """Stems of the words that carry meaning (no stop words, no numbers)."""
    return {stem(w) for w in words(text) if w not in STOP and not w[0].isdigit() and len(w) > 1}


def read_claims(text: str) -> list[Claim]:
    """Every number, date, name and direction word of ``text``, with its sentence index."""
    claims: list[Claim] = []
    for index, sentence in enumerate(split_sentences(text)):
        masked, dates = _dates(sentence, index)
        claims.extend(dates)
        masked = _CLOCK.sub(lambda m: " " * len(m.group()), masked)
        claims.extend(_numbers(masked, index))
        claims.extend(_names(masked, index))
        claims.extend(Claim("direction", w, index, value=1 if w.lower() in UP else -1)
                      for w in re.findall(r"[A-Za-z]+", sentence) if w.lower() in UP | DOWN)
    return claims


def _dates(sentence: str, index: int) -> tuple[str, list[Claim]]:
    found: list[Claim] = []
    masked = sentence

    def take(match: re.Match, value: tuple) -> None:
        nonlocal masked
        found.append(Claim("date", match.group(), index, value=value))
        masked = masked[: match.start()] + " " * (match.end() - match.start()) + masked[match.end():]

    for m in list(_ISO.finditer(sentence)):
        take(m, (int(m[1]), int(m[2]), int(m[3])))
    for pattern, order in ((_MDY, (3, 1, 2)), (_DMY, (3, 2, 1)), (_MY, (2, 1, None)), (_MD, (None, 1, 2))):
        for m in list(pattern.finditer(masked)):
            month = MONTHS.get(m[order[1]].lower().rstrip("."))
            if month is None:
                continue
            year = int(m[order[0]]) if order[0] else None
            day = int(m[order[2]]) if order[2] else None
            if day is not None and not 1 <= day <= 31:
                continue
            take(m, (year, month, day))
    return masked, found


def _numbers(sentence: str, index: int) -> list[Claim]:
    out: list[Claim] = []
    lowered = sentence.lower()
    for m in _NUMBER.finditer(sentence):
        currency, digits, suffix = m[1], m[2], (m[3] or "").lower()
        value = float(digits.replace(",", ""))
        unit = "%" if suffix in ("%", "percent", "pct") else (currency and "currency") or None
        if suffix in SCALES:
            value *= SCALES[suffix]
        after = lowered[m.end():]
        unit, counts = _unit_and_counts(after, unit)
        hedged = any(lowered[: m.start()].rstrip().endswith(h) for h in HEDGES) or suffix in SCALES
        out.append(Claim("number", m.group().strip(), index, value=value, unit=unit, counts=counts, hedged=hedged,
                         rep=digits + (suffix if suffix in SCALES else ""), at=m.start(2)))
    for m in _WORD_NUMBER.finditer(sentence):
        phrase = " ".join(m[1].lower().split())
        value = NUMBER_WORDS.get(phrase, NUMBER_PHRASES.get(phrase))
        unit, counts = (None, "times") if phrase in ("twice", "thrice") else _unit_and_counts(lowered[m.end():], None)
        if counts:  # "three failed tasks" is a count; a lone "one" rarely is
            out.append(Claim("number", m.group(), index, value=float(value), unit=unit, counts=counts,
                             rep=str(value), at=m.start()))
    return out


def _unit_and_counts(after: str, unit: str | None) -> tuple[str | None, str | None]:
    following = [w for w in re.findall(r"[a-z][a-z0-9_']*", after[:60])][:3]
    if unit is None and following:
        base = following[0].rstrip("s") if following[0] not in ("s", "ms") else following[0]
        if base in TIME_UNITS:
            return f"time:{TIME_UNITS[base]}", None
    counted: list[str] = []
    if unit == "%" and following[:1] == ["of"]:
        following = following[1:]  # "3.1% of orders": a share of orders
    for word in following[:2]:
        if word in STOP or word in TIME_UNITS or word in UP | DOWN or not word.isalpha():
            break
        counted.append(word)
        if not word.endswith(("ed", "ing")):
            break  # a noun ends what is counted; "failed tasks", "training rows" go on to it
    return unit, (" ".join(counted) or None)


def _names(sentence: str, index: int) -> list[Claim]:
    out: list[Claim] = []
    taken: list[tuple[int, int]] = []
    for m in _IDENT.finditer(sentence):
        token = m.group().strip("`")
        if re.fullmatch(r"[\d.,]+", token) or token.lower() in GENERIC_NAMES:
            continue
        out.append(Claim("name", token, index))
        taken.append(m.span())
    for m in _CAPS.finditer(sentence):
        if any(a <= m.start() < b for a, b in taken):
            continue
        name = m.group()
        parts = name.split()
        at_start = not sentence[: m.start()].strip() or sentence[: m.start()].rstrip()[-1:] in ":-\"'(*•"
        if at_start and len(parts) == 1 and not (name.isupper() and len(name) > 1):
            lowered = name.lower()
            if not {lowered} & (STOP | GENERIC_NAMES | set(MONTHS) | set(NUMBER_WORDS) | _PHRASE_WORDS):
                out.append(Claim("name", name, index, unit="initial"))  # a name, or just a capitalised word
            continue
        if at_start and len(parts) > 1:
            parts = parts[1:] if parts[0].lower() in STOP else parts
        parts = [p for p in parts if p.lower() not in GENERIC_NAMES and p.lower() not in MONTHS]
        if parts and not all(p.lower() in STOP for p in parts):
            out.append(Claim("name", " ".join(parts), index))
    return out

"""``FaithfulnessChecker``: is every claim of a summary supported by its source?

Each number (value, unit, what it counts), date, name and direction word of the summary is
looked up in the source. Sensible rounding is supported ("about 1.28 million" for
1,284,311; "87%" for 0.8671); a changed digit, unit, count noun, date, name or direction is
not. A category word whose source counterpart is its opposite ("transient" where the source says
"permanent": ``contrasts``) is not supported either. A sentence made mostly of words the source never
uses is an unsupported statement.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from airflow_aimod.core.summaries.claims import (
    DOWN, NONE_WORDS, UP, Claim, SourceFacts, content_stems, read_claims, split_sentences, stem, words,
)
from airflow_aimod.core.summaries.contrasts import contradiction, source_clauses, split_clauses

SUMMARY_WORDS = frozenset(stem(w) for w in (
    "summary overall reported report shows shown showed according noted recorded result results status "
    "while whereas however meanwhile both between since because likely mainly mostly among within "
    "respectively compared period latest previous current").split())
MIN_NOVEL = 3
NOVEL_SHARE = 0.5


@dataclass
class FaithfulnessReport:
    """The verdict on one summary: ``faithful`` when no claim is ``unsupported``."""

    claims: list[Claim] = field(default_factory=list)
    unsupported: list[dict] = field(default_factory=list)

    @property
    def faithful(self) -> bool:
        return not self.unsupported

    def to_dict(self) -> dict:
        return {"faithful": self.faithful, "unsupported": list(self.unsupported), "claims_checked": len(self.claims)}


class FaithfulnessChecker:
    """Checks summaries against a source text; ``check(source, summary)`` returns a ``FaithfulnessReport``."""

    def check(self, source: str, summary: str) -> FaithfulnessReport:
        facts = SourceFacts.of(source)
        sentences = split_sentences(summary)
        claims = read_claims(summary)
        report = FaithfulnessReport(claims=claims)
        for claim in claims:
            why = self._why_unsupported(claim, facts, sentences[claim.sentence], claims)
            if why:
                report.unsupported.append({"kind": claim.kind, "text": claim.text, "reason": why,
                                           "sentence": sentences[claim.sentence]})
        indexed = source_clauses(source)
        for sentence in sentences:
            for clause in split_clauses(sentence):
                for word, instead in contradiction(clause, indexed):
                    report.unsupported.append({"kind": "category", "text": word, "sentence": sentence,
                                               "reason": f"the source says {instead} here, not '{word}'"})
        for index, sentence in enumerate(sentences):
            novel = _novel(sentence, facts)
            if novel:
                report.unsupported.append({"kind": "statement", "text": sentence, "sentence": sentence,
                                           "reason": f"the source never mentions {', '.join(sorted(novel))}"})
        return report

    def _why_unsupported(self, claim: Claim, facts: SourceFacts, sentence: str, claims: list[Claim]) -> str | None:
        if claim.kind == "number":
            return _number(claim, facts, sentence)
        if claim.kind == "date":
            return None if any(_same_date(claim.value, d) for d in facts.dates) else "the source has no such date"
        if claim.kind == "name":
            if claim.unit == "initial" and _common_word(claim.text, facts):
                return None
            return None if _name_in(claim.text, facts) else "the source never names it"
        if claim.kind == "direction":
            return _direction(claim, facts, sentence, [c for c in claims if c.sentence == claim.sentence])
        return None


def _number(claim: Claim, facts: SourceFacts, sentence: str) -> str | None:
    needed = _counted(claim, facts)
    matching = [n for n in facts.numbers if _value_matches(claim, n)]
    if claim.text.lower().startswith(NONE_WORDS):  # "no X": wrong only when the source counts some X
        if any(needed <= _around(n, facts) for n in matching):
            return None
        some = [n for n in facts.numbers
                if n.value and needed and (needed <= _around(n, facts) or _labelled(n, facts, sentence, needed))]
        return f"the source counts {some[0].text} {claim.counts}" if some else None
    if not matching:
        return "no number in the source rounds to it (with its unit)"
    if needed and not any(needed <= _around(n, facts) or _labelled(n, facts, sentence, needed) for n in matching):
        return f"the source's {claim.rep or claim.text} does not count '{' '.join(sorted(needed))}'"
    return None


def _labelled(number: Claim, facts: SourceFacts, sentence: str, needed: set[str]) -> bool:
    """A source value under a label ("blocked: 1", as records read) that the summary sentence uses ("one task
    was blocked"), counting things the source speaks of."""
    line = facts.sentences[number.sentence] if number.sentence < len(facts.sentences) else ""
    label = re.search(r"([A-Za-z][\w-]*)\s*:\s*$", line[:number.at]) if number.at > 0 else None
    return bool(label) and stem(label[1]) in {stem(w) for w in words(sentence)} and needed <= facts.stems


def _counted(claim: Claim, facts: SourceFacts) -> set[str]:
    """What the summary says a number counts and the source must say too: the noun always, a participle
    before it ("failed tasks", "training rows") when the source uses that word at all."""
    raw = (claim.counts or "").split()
    needed = {stem(w) for w in raw[:-1] if stem(w) in facts.stems}
    if raw:
        last = stem(raw[-1])
        if not raw[-1].endswith(("ed", "ing")) or last in facts.stems:
            needed.add(last)
    return needed - SUMMARY_WORDS


def _around(number: Claim, facts: SourceFacts) -> set[str]:
    """Stems of the words just before (5) and after (3) a source number: what it counts or measures."""
    if number.sentence >= len(facts.sentences):
        return set()
    sentence = facts.sentences[number.sentence]
    at = number.at if number.at >= 0 else sentence.find(number.text)
    if at < 0:
        return {stem(w) for w in words(sentence)}
    before = words(sentence[:at])[-5:]
    length = len(number.text) if number.text[:1].isalpha() else len(number.rep or number.text)  # "twice" reads 2
    after = words(sentence[at + length:])[:3]
    return {stem(w) for w in before + after + (number.counts or "").split()}


def _common_word(word: str, facts: SourceFacts) -> bool:
    lowered = word.lower()
    return (stem(lowered) in facts.stems or lowered in UP | DOWN or stem(lowered) in SUMMARY_WORDS
            or any(stem(lowered) in s for s in facts.stems if len(lowered) > 4))


def _value_matches(claim: Claim, source: Claim) -> bool:
    mine, theirs = float(claim.value), float(source.value)
    if claim.unit == "%":
        if source.unit == "%":
            pass
        elif source.unit is None and 0 <= theirs <= 1 and "." in source.rep:
            theirs *= 100
        else:
            return False
    elif source.unit == "%":
        return False
    elif claim.unit and claim.unit.startswith("time:") and source.unit and source.unit.startswith("time:"):
        mine *= float(claim.unit[5:])
        theirs *= float(source.unit[5:])
    return abs(mine - theirs) <= _tolerance(claim, mine, theirs, source) + 1e-9 * max(1.0, abs(theirs))


def _tolerance(claim: Claim, mine: float, theirs: float, source: Claim) -> float:
    rep = claim.rep.replace(",", "")
    digits = re.match(r"[\d.]+", rep).group() if re.match(r"[\d.]+", rep) else rep
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    scale = mine / float(digits) if float(digits or 0) else 1.0
    if claim.unit and claim.unit.startswith("time:"):
        scale *= float(claim.unit[5:])
    if decimals:
        return 0.5 * 10 ** -decimals * scale
    if claim.hedged:
        zeros = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
        return 0.5 * 10 ** zeros * scale
    return 0.5 * scale if theirs != math.floor(theirs) else 0.0  # 86.7 may read 87; 312 must read 312


def _same_date(mine: tuple, theirs: tuple) -> bool:
    return all(a is None or b is None or a == b for a, b in zip(mine, theirs)) and mine[1] == theirs[1]


def _name_in(name: str, facts: SourceFacts) -> bool:
    lowered = name.lower()
    if re.search(rf"(?<![\w]){re.escape(lowered)}(?![\w])", facts.lowered):
        return True
    parts = [p for p in re.split(r"[\s.]+", lowered) if p]
    source_words = set(words(facts.text))
    return len(parts) > 1 and all(p in source_words for p in parts)


def _direction(claim: Claim, facts: SourceFacts, sentence: str, same_sentence: list[Claim]) -> str | None:
    word = claim.text.lower()
    if re.search(rf"\b{word}\s+(than|to\b|or\b)", sentence.lower()) and word in ("more", "less", "up", "fewer"):
        return None  # "more than 3", "up to 5": a hedge, not a direction
    clause = _clause(sentence, word)
    numeric = _numeric_direction(clause, word, [c for c in read_claims(clause) if c.kind == "number"])
    if numeric is not None:
        return None if numeric == claim.value else f"the numbers say the opposite of '{claim.text}'"
    anchors = (content_stems(clause) - {stem(w) for w in UP | DOWN}) | {c.value for c in read_claims(clause)
                                                                        if c.kind == "number"}
    scored = []
    for index, src in enumerate(facts.sentences):
        stems = content_stems(src)
        values = {n.value for n in facts.numbers if n.sentence == index}
        scored.append((len(anchors & stems) + 2 * len(anchors & values), src))
    best = max((score for score, _ in scored), default=0)
    if best == 0:
        return "the source states no such change"
    polarities = {_polarity(src) for score, src in scored if score == best} - {0}
    for score, src in scored:
        if score == best and claim.value in _polarities(src):
            return None
    return f"the source does not say '{claim.text}'" if not polarities else f"the source says the opposite of '{claim.text}'"


def _clause(sentence: str, word: str) -> str:
    for part in re.split(r"[,;:()]|\s(?:and|but|while|whereas)\s", sentence):
        if re.search(rf"\b{re.escape(word)}\b", part, re.I):
            return part
    return sentence


def _numeric_direction(sentence: str, word: str, numbers: list[Claim]) -> int | None:
    lowered = sentence.lower()
    span = re.search(r"from\s+\S+.*?\bto\s+", lowered)
    if span and len(numbers) >= 2 and word in {w for w in UP | DOWN if w not in ("above", "below")}:
        first, second = numbers[-2].value, numbers[-1].value
        return 0 if first == second else (1 if second > first else -1)
    position = lowered.find(word)
    before = [n for n in numbers if lowered.find(n.text.lower()) < position]
    after = [n for n in numbers if lowered.find(n.text.lower()) > position]
    if word in ("above", "below", "higher", "lower", "exceeded", "exceeds") and before and after \
            and not before[-1].counts:  # "12 features stayed below 0.1" compares no two quantities
        a, b = float(before[-1].value), float(after[0].value)
        if (before[-1].unit == "%") == (after[0].unit == "%") and a != b:
            return 1 if a > b else -1
    return None


def _polarities(text: str) -> set[int]:
    found = {1 if w.lower() in UP else -1 for w in re.findall(r"[A-Za-z]+", text) if w.lower() in UP | DOWN}
    numbers = [c for c in read_claims(text) if c.kind == "number"]
    for word in re.findall(r"[A-Za-z]+", text.lower()):
        value = _numeric_direction(text, word, numbers) if word in UP | DOWN else None
        if value:
            found = (found - {-value}) | {value}
    if "<" in text:
        found.add(-1)
    if ">" in text:
        found.add(1)
    return found


def _polarity(text: str) -> int:
    found = _polarities(text)
    return next(iter(found)) if len(found) == 1 else 0


def _novel(sentence: str, facts: SourceFacts) -> set[str]:
    content = content_stems(sentence) - SUMMARY_WORDS - {stem(w) for w in UP | DOWN}
    novel = {w for w in content if w not in facts.stems and not any(w in s for s in facts.stems if len(w) > 4)}
    return novel if len(novel) >= MIN_NOVEL and len(novel) > NOVEL_SHARE * len(content) else set()

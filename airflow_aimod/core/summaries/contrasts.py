"""Contradictory category words: a summary's "transient" where its source says "permanent".

``CONTRASTS`` groups words that exclude each other when said of one thing (transient / permanent,
succeeded / failed, enabled / disabled, internal / external, ...). ``contradiction(clause, indexed)``
takes each such word of a summary clause, finds the source clauses that say something from the
same group, keeps those that share most words with the summary clause (its subject), and reports
the word when none of them says it but they say another member of the group. A negation ("not
approved", "resolved: no") stands for the other member of a pair. Directions (rose / fell) are
checked elsewhere, against the numbers.
"""

from __future__ import annotations

import re

from airflow_aimod.core.summaries.claims import NUMBER_WORDS, content_stems, split_sentences, stem, words

CONTRASTS: tuple[tuple[str, ...], ...] = (
    ("transient transiently temporary", "permanent permanently"),
    ("succeeded succeeds success successful successfully passed passes pass", "failed fails failure failures fail"),
    ("enabled enable", "disabled disable"),
    ("healthy", "unhealthy"),
    ("online", "offline"),
    ("approved approve approval", "rejected reject rejection declined denied"),
    ("internal", "external"),
    ("domestic", "international"),
    ("planned scheduled", "unplanned unscheduled"),
    ("resolved", "unresolved"),
    ("major", "minor"),
    ("met meet meets", "breached breach"),
    ("valid", "invalid"),
    ("complete completed", "incomplete"),
    ("available", "unavailable"),
    ("normal", "anomalous abnormal"),
    ("acknowledged", "unacknowledged"),
    ("retryable", "non-retryable"),
    ("info", "warning", "critical"),
)
_NEGATIONS = frozenset("not never no without".split()) | {"n't"}
_DENIED = re.compile(r"\s*:?\s*(?:no|false|none|0)\b(?!\s+[a-z])")  # "resolved no", "failed: 0"
_SPLIT = re.compile(r"[;()]|(?<=[.!?])\s+|\s(?:and|but|while|whereas)\s")


def _index() -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for group, members in enumerate(CONTRASTS):
        for member, text in enumerate(members):
            for word in text.split():
                found[stem(word)] = (group, member)
    return found


MEMBERS = _index()


def members(text: str) -> set[tuple[int, int]]:
    """The (group, member) pairs ``text`` says, a negated word of a pair counted as the other member."""
    lowered = text.lower()
    tokens = list(re.finditer(r"[a-z][a-z'-]*|\d+", lowered))
    said = set()
    for i, match in enumerate(tokens):
        hit = MEMBERS.get(stem(match.group()))
        if hit is None:
            continue
        before = [t.group() for t in tokens[max(0, i - 3):i]]
        negated = any(t in _NEGATIONS or t.endswith("n't") for t in before) or bool(_DENIED.match(lowered,
                                                                                                  match.end()))
        if negated and len(CONTRASTS[hit[0]]) != 2:
            continue  # "not critical" does not say which other severity
        said.add((hit[0], 1 - hit[1]) if negated else hit)
    return said


def split_clauses(text: str) -> list[str]:
    """Sentences split at ``;``, parentheses and joining words — not at commas: a flattened record, "id INC-1,
    cause internal, resolved yes", stays one clause."""
    return [c.strip() for s in split_sentences(text) for c in _SPLIT.split(s) if c and c.strip()]


def source_clauses(text: str) -> list[tuple[set[tuple[int, int]], set[str]]]:
    """The source's clauses that say a category word, as (what they say, what they are about)."""
    return [(said, _anchors(c)) for c in split_clauses(text) if (said := members(c))]


def contradiction(clause: str, indexed: list[tuple[set[tuple[int, int]], set[str]]]) -> list[tuple[str, str]]:
    """(summary word, what the source says instead) for each contradicted category word of ``clause``."""
    said = members(clause)
    if not said:
        return []
    anchors = _anchors(clause)
    found = []
    for group, member in sorted(said):
        candidates = [(len(anchors & about), told) for told, about in indexed
                      if any(g == group for g, _ in told)]
        if not candidates:
            continue
        several = sum(g == group for g, _ in said) > 1  # "a passed, b failed": whose is whose is not clear here
        best = 0 if several else max(score for score, _ in candidates)
        told = set().union(*(told for score, told in candidates if score >= best))
        if (group, member) not in told:
            others = sorted({CONTRASTS[group][m].split()[0] for g, m in told if g == group})
            found.append((_word_of(clause, group, member), " / ".join(others)))
    return found


def _anchors(text: str) -> set[str]:
    """What a clause is about: its content words (category words left out) and the digits it names."""
    stems = {s for s in content_stems(text) if s not in MEMBERS and s not in NUMBER_WORDS}
    return stems | {w for w in words(text) if w[0].isdigit()} | {str(NUMBER_WORDS[w]) for w in words(text)
                                                                  if w in NUMBER_WORDS}


def _word_of(clause: str, group: int, member: int) -> str:
    for token in re.findall(r"[A-Za-z][A-Za-z'-]*", clause):
        if MEMBERS.get(stem(token), (None,))[0] == group:
            return token
    return CONTRASTS[group][member].split()[0]

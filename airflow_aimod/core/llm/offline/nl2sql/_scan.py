"""First pass of the offline NL→SQL composer: a question becomes a list of items.

An item is a schema reference (with every table, column or value it may mean), a
keyword mark (aggregate, grouping, ranking, negation…), a comparison, a date range, or
a word that is tolerated or unknown. Longer phrases win; ties go to keywords.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from airflow_aimod.core.llm.offline.nl2sql._dates import Compare, DateRange, match_compare, match_date, match_rank
from airflow_aimod.core.llm.offline.nl2sql._lexicon import Lexicon, Target
from airflow_aimod.core.llm.offline.nl2sql._text import (
    AUXILIARIES, DO_AUXILIARIES, EVENT_VERBS, IRREGULAR_PAST, MARK_PHRASES, NEVER_PREDICATES, PREPOSITIONS, PRONOUNS, STOP,
    TIME_UNITS, TOLERATED, Token, tokenize,
)


@dataclass
class Item:
    """One meaningful piece of a question; ``role`` is set by the reading pass."""

    kind: str
    text: str
    raw: str = ""
    targets: list[Target] = field(default_factory=list)
    mark: str = ""
    n: int | None = None
    cmp: Compare | None = None
    dates: DateRange | None = None
    role: str = ""
    negated: bool = False
    capitalized: bool = False
    before: tuple[str, ...] = ()  # up to three words right before it, stop words included ('went', 'to')

    @property
    def is_ref(self) -> bool:
        return self.kind == "ref"

    def best(self, kinds: tuple[str, ...] = ("table", "column", "value", "flag", "derived")) -> Target | None:
        found = [t for t in self.targets if t.kind in kinds]
        return max(found, key=lambda t: t.score) if found else None

    @property
    def top_kind(self) -> str:
        best = self.best()
        return best.kind if best else ""


def scan(question: str, lexicon: Lexicon, today: date) -> tuple[list[Item], list[Token]]:
    """Items of ``question``, in order, and its tokens."""
    tokens = tokenize(question)
    items: list[Item] = []
    i = 0
    while i < len(tokens):
        consumed, found = _match_at(tokens, i, lexicon, today, items)
        items.extend(found)
        i += max(1, consumed)
    return items, tokens


def _phrase(tokens: list[Token], i: int, n: int) -> tuple[str, str]:
    chunk = tokens[i:i + n]
    return " ".join(t.text for t in chunk), " ".join(t.raw for t in chunk)


def _match_at(tokens: list[Token], i: int, lexicon: Lexicon, today: date,
              items: list[Item]) -> tuple[int, list[Item]]:
    if (hit := match_date(tokens, i, today)) is not None:
        return hit[0], [Item("date", *_phrase(tokens, i, hit[0]), dates=hit[1])]
    if (rank := match_rank(tokens, i)) is not None:
        return rank[0], _mark_items(rank[1], _phrase(tokens, i, rank[0]), rank[2], lexicon)
    if (cmp := match_compare(tokens, i)) is not None:
        return cmp[0], [Item("cmp", *_phrase(tokens, i, cmp[0]), cmp=cmp[1])]
    size, targets = lexicon.match(tokens, i)
    targets = _drop_event_values(tokens, i, size, targets, items)
    mark_size, mark = _mark_at(tokens, i)
    if mark and mark_size >= size:
        return mark_size, _mark_items(mark, _phrase(tokens, i, mark_size), None, lexicon)
    if targets:
        text, raw = _phrase(tokens, i, size)
        return size, [Item("ref", text, raw, targets=targets, capitalized=raw[:1].isupper() and i > 0,
                           before=tuple(t.text for t in tokens[max(0, i - 3):i]))]
    return 1, _plain_item(tokens, i, items)


def _drop_event_values(tokens: list[Token], i: int, size: int, targets: list[Target],
                       items: list[Item]) -> list[Target]:
    """'orders were placed' / 'orders placed in…': a creation verb, not a status value."""
    if size != 1 or tokens[i].stem not in EVENT_VERBS or any(t.kind != "value" for t in targets):
        return targets
    after_aux = i > 0 and tokens[i - 1].text in AUXILIARIES
    after_table = bool(items) and items[-1].is_ref and items[-1].top_kind == "table" and i > 0 \
        and items[-1].text.split()[-1] == tokens[i - 1].text
    return [] if after_aux or after_table else targets


def _mark_at(tokens: list[Token], i: int) -> tuple[int, str]:
    for words, mark in MARK_PHRASES:
        if tuple(t.text for t in tokens[i:i + len(words)]) == words:
            return len(words), mark
    return 0, ""


def _mark_items(mark: str, phrase: tuple[str, str], n: int | None, lexicon: Lexicon) -> list[Item]:
    """A mark; 'cheapest' also implies a price measure."""
    base, _, concept = mark.partition("+")
    found = [Item("mark", *phrase, mark=base, n=n)]
    if concept:
        targets = lexicon.concept_targets(concept)
        found.append(Item("ref", phrase[0], phrase[1], targets=targets) if targets else Item("word", *phrase))
    return found


def _plain_item(tokens: list[Token], i: int, items: list[Item]) -> list[Item]:
    token = tokens[i]
    if token.kind == "quoted":
        return [Item("quoted", token.text, token.raw)]
    if token.kind == "num":
        return [Item("num", token.text, token.raw)]
    if token.kind == "date":
        return [Item("word", token.text, token.raw)]
    if token.kind != "word" or token.text in STOP:
        return []
    if token.text in TIME_UNITS:
        return [Item("mark", token.text, token.raw, mark=f"unit:{TIME_UNITS[token.text]}")]
    kind = "tolerated" if token.stem in TOLERATED or _predicate(tokens, i, items) else "word"
    return [Item(kind, token.text, token.raw, capitalized=token.raw[:1].isupper() and i > 0)]


def _predicate(tokens: list[Token], i: int, items: list[Item]) -> bool:
    """A word in verb position: it describes the rows, it names no data, so it never causes a refusal.

    A past form or gerund not used as an adjective ('trips *started* in', 'quantity *prescribed* per');
    a word after a pronoun ('did we *carry*'); a word after a schema reference that ends the clause
    ('doctors *work* in', 'did each doctor *handle*'). A word before a noun ('delayed trips') or after
    an aggregate ('average *salary*') is not one.
    """
    word, prev = tokens[i].text, tokens[i - 1] if i > 0 else None
    if word in NEVER_PREDICATES or tokens[i].stem in NEVER_PREDICATES:
        return False  # it changes what is asked (negation, an instruction to act): unknown, so the engine abstains
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    clause_ends = nxt is None or nxt.kind != "word" or nxt.text in STOP or nxt.text in PREPOSITIONS
    verb_form = (word.endswith(("ed", "ing")) and len(word) > 4) or word in IRREGULAR_PAST
    if verb_form and clause_ends:
        return True
    if prev is not None and prev.text in PRONOUNS:
        return True
    after_ref = bool(items) and items[-1].is_ref and prev is not None and prev.kind == "word" \
        and items[-1].raw.split()[-1] == prev.raw and prev.text not in STOP
    asked_with_do = any(t.text in DO_AUXILIARIES for t in tokens[:i])
    return after_ref and clause_ends and (asked_with_do or (nxt is not None and nxt.text in PREPOSITIONS))

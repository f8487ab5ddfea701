"""Reads a request against the connected warehouse: is it a plain retrieval over that data?

Every word of the request is put in one class: a warehouse noun (a table or column word, or an
abbreviation such a name uses: 'qty', 'pub'), a stored value (a filter: 'icu', 'electric'), a
retrieval intent (how many, total, average, top, a superlative, per, 'which'/'list' opening the
request), a literal (years, months), a predicate about the data ('patients *live* in', 'were
*recorded*', 'did each doctor *handle*'), or left over (unknown words, and other agents' words such
as 'profile', 'anomalies', 'retrain'). A request with warehouse nouns, a retrieval intent and nothing
left over is a data request; which data agent takes it is decided by its intent words alone.
An instruction to act on the rows ('... and email them') is never plain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from airflow_aimod.core.llm.offline.actions import requested_action
from airflow_aimod.core.llm.offline.nl2sql import _text as nl2sql_words
from airflow_aimod.core.llm.offline.nl2sql._text import IRREGULAR_PAST, PREPOSITIONS, expanded
from airflow_aimod.core.llm.offline.route._terms import Term, _abbreviates, _split_words, _stem, extract_terms

RETRIEVAL = frozenset({"count", "total", "sum", "average", "top", "group", "min max", "filter", "join", "sql",
                       "row count"})
LITERAL = frozenset({"year", "month", "week", "day", "quarter"})
_MODIFIERS = frozenset({"never", "each", "ever", "respectively"})
_OPENER = re.compile(r"^\W*(?:(?:please|pls|can you|could you)\s+)?(?:which|what|whats|what's|who|list|show|display|"
                     r"give me)\b")
_JUDGEMENT = re.compile(r"\b(?:should|ought|shall|recommend|suggest|advise|opinion|think|feel|best|worst)\b")
_SUPERLATIVE_BASES = ("long short old young new early late cheap high low large small big great heavy light "
                      "fast slow quick busy near wide deep tall few close".split())
_BE = r"(?:is|are|was|were|be|been|being|get|gets|got)"
_DETERMINERS = frozenset("a an the this that these those each every all any some our my their its his her".split())
_MAX_TERMS = 128


def _superlatives() -> frozenset[str]:
    """'longest', 'latest', 'earliest', 'biggest' from their bases (a doubled consonant where English has one)."""
    forms = set()
    for base in _SUPERLATIVE_BASES:
        if base.endswith("e"):
            forms.add(base + "st")
        elif base.endswith("y"):
            forms.add(base[:-1] + "iest")
        elif len(base) == 3 and base[1] in "aeiou" and base[2] not in "aeiouwxy":
            forms.add(base + base[-1] + "est")  # big → biggest
        else:
            forms.add(base + "est")
    return frozenset(forms | {"most", "least", "farthest", "furthest"})


SUPERLATIVES = _superlatives()
_QUALIFYING = "|".join(sorted(SUPERLATIVES))


@dataclass(frozen=True)
class DataReading:
    """How a request's words resolve against the warehouse (each a tuple of request words)."""

    nouns: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    predicates: tuple[str, ...] = ()
    leftovers: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # leftovers that are no concept of any agent either ('salary', 'nurses')
    action: str | None = None
    judgement: bool = False  # asks what should be done ('which driver should we promote')
    opened: int = 0  # 1 when a 'which'/'list' opener counts as the retrieval intent
    focus: tuple[Term, ...] = ()  # the intent terms and one warehouse term: what decides the agent

    @property
    def plain(self) -> bool:
        """Warehouse nouns (or stored values and an aggregate), a retrieval intent, nothing left over, no
        action and no ask for a judgement: a data request ('how many admins are there' counts rows)."""
        grounded = self.nouns or (self.values and len(self.intents) > self.opened)
        return bool(grounded and self.intents) and not self.leftovers and not self.judgement and self.action is None

    @property
    def unsupported(self) -> bool:
        """A retrieval that names something the warehouse does not hold (nor is any agent's concept)."""
        return bool(self.intents and self.unknown) and self.action is None

    def describe(self) -> str:
        parts = [f"{label} ({', '.join(words)})" for label, words in (
            ("warehouse words", self.nouns), ("stored values", self.values), ("retrieval", self.intents),
            ("predicates", self.predicates)) if words]
        return "a data request: every word resolves to " + "; ".join(parts)


def read_data_request(text: str, schema: Sequence[str]) -> DataReading:
    """Classify the words of ``text`` against ``schema`` (name words, and ``column=value`` entries)."""
    vocabulary = _vocabulary(tuple(schema))
    flat = " ".join(text.casefold().split())
    terms = extract_terms(flat, _MAX_TERMS)
    kinds = [_kind(t, vocabulary) for t in terms]
    for i, term in enumerate(terms):
        if kinds[i] == "other" and _is_predicate(i, terms, kinds, flat):
            kinds[i] = "predicate"
    found: dict[str, list[str]] = {}
    for term, kind in zip(terms, kinds):
        found.setdefault(kind, []).append(term.surface)
    focus = [t if k == "intent" else Term("top", t.surface, False, "top") for t, k in zip(terms, kinds)
             if k in ("intent", "superlative")]
    opened = bool(_OPENER.search(flat))
    if opened:
        found.setdefault("intent", []).insert(0, flat.split()[0])
        focus.append(Term("sql", flat.split()[0], False, "sql"))
    if "noun" in found or "value" in found:
        focus.append(Term("warehouse", (found.get("noun") or found["value"])[0], False, "warehouse"))
    return DataReading(
        nouns=_unique(found.get("noun", [])), values=_unique(found.get("value", [])),
        intents=_unique(found.get("intent", []) + found.get("superlative", [])),
        predicates=_unique(found.get("predicate", [])), leftovers=_unique(found.get("other", [])),
        unknown=_unique([t.surface for t, k in zip(terms, kinds) if k == "other" and not t.concept]),
        action=requested_action(flat), judgement=bool(_JUDGEMENT.search(flat)), opened=int(opened),
        focus=tuple(focus))


@dataclass(frozen=True)
class _Vocabulary:
    names: frozenset[str]  # stemmed name words
    values: frozenset[str]  # stemmed words of stored values
    short: tuple[str, ...]  # name words of at most 4 letters (abbreviations, truncations)
    parts: frozenset[str]  # name words as the NL→SQL engine stems them, for its synonyms and concepts


@lru_cache(maxsize=32)
def _vocabulary(schema: tuple[str, ...]) -> _Vocabulary:
    """The warehouse's words, prepared once per schema list (the router sees the same list per connection)."""
    names = frozenset(_stem(w) for w in schema if "=" not in w)
    values = frozenset(_stem(w) for entry in schema if "=" in entry
                       for w, _ in _split_words(entry.split("=", 1)[1].casefold()))
    parts = {nl2sql_words.stem(n) for n in names} | names
    return _Vocabulary(names, values, tuple(sorted(n for n in names if len(n) <= 4)),
                       frozenset(parts | set(expanded(sorted(parts)))))


def _kind(term: Term, vocabulary: _Vocabulary) -> str:
    """noun, value, intent, superlative, literal, modifier, or other (unknown, or another agent's word)."""
    word = _stem(term.surface) if " " not in term.surface else ""
    if term.concept in RETRIEVAL:
        return "intent"
    if word and (_names(word, vocabulary) or _means_a_name(term.surface, vocabulary.parts)):
        return "noun"
    if word and word in vocabulary.values:
        return "value"
    if term.surface in SUPERLATIVES:
        return "superlative"
    if term.concept in LITERAL or term.feature in LITERAL:
        return "literal"
    return "modifier" if term.surface in _MODIFIERS or term.surface in PREPOSITIONS else "other"


def _names(word: str, vocabulary: _Vocabulary) -> bool:
    """``word`` is a schema word, or a name part abbreviates it ('acct' account) or is it cut short ('pub')."""
    if word in vocabulary.names:
        return True
    return any(_abbreviates(part, word) or (len(part) >= 3 and len(word) >= len(part) + 3 and word.startswith(part))
               for part in vocabulary.short)


@lru_cache(maxsize=4096)
def _nl2sql_stem(word: str) -> str:
    return nl2sql_words.stem(word)


def _means_a_name(word: str, parts: frozenset[str]) -> bool:
    """The NL→SQL engine's own generic vocabulary links ``word`` to a name: a synonym ('salary' for a ``wage``
    column) or a measure concept realised by a name part ('cost' for a ``fee`` column)."""
    key = _nl2sql_stem(word)
    if nl2sql_words.SYNONYMS.get(key, frozenset()) & parts:
        return True
    money = nl2sql_words.CONCEPT_PARTS["money"] & parts  # a price word may mean the money-like column
    return any(key in words and (nl2sql_words.CONCEPT_PARTS[concept] & parts or (concept == "price" and money))
               for concept, words in nl2sql_words.CONCEPT_WORDS.items())


def _is_predicate(i: int, terms: list[Term], kinds: list[str], flat: str) -> bool:
    """A verb about the data, not a thing: a participle or past form after a warehouse word ('trips *went*
    to', 'score ever *recorded*'), a base form after a plural warehouse noun and before a preposition or
    determiner ('doctors *work* in', 'drivers *hold* a'), the verb of a do-question ('did each doctor
    *handle*'), or the word a superlative qualifies ('most *recently*', 'highest *paid*')."""
    surface = terms[i].surface
    if " " in surface or not surface.isalpha():
        return False
    if re.search(rf"\b(?:most|least)\s+{re.escape(surface)}\b", flat):
        return True
    if (_past_form(surface) or surface.endswith("ly")) and re.search(rf"\b(?:{_QUALIFYING})\s+{re.escape(surface)}\b",
                                                                      flat):
        return True  # 'highest *paid*'; a noun after a superlative ('highest *salary*') is what it ranks
    grounded_before = any(k in ("noun", "value") for k in kinds[:i])
    if grounded_before and _past_form(surface):
        return True
    if i == 0 or kinds[i - 1] not in ("noun", "value"):
        return False
    previous = terms[i - 1].surface
    if not re.search(rf"\b{re.escape(previous)}\s+{re.escape(surface)}\b", flat):
        return False
    following = (re.search(rf"\b{re.escape(surface)}\b\s*(\w*)", flat) or ["", ""])[1]
    if re.search(rf"\b(?:do|does|did)\b.*\b{re.escape(previous)}\s+{re.escape(surface)}\b", flat):
        return not following or following in PREPOSITIONS or following in _DETERMINERS
    return previous.endswith("s") and (following in PREPOSITIONS or following in _DETERMINERS)


def _past_form(word: str) -> bool:
    return word in IRREGULAR_PAST or (len(word) > 4 and word.endswith("ed") and not word.endswith("eed"))


def _unique(words: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(words))

"""Text to terms for the route classifier, and the TF-IDF index over the agents' texts.

Casefold, unicode word split, snake_case names split (``fct_orders`` gives ``orders``),
stop words dropped, a light suffix stemmer, and phrases and synonyms mapped onto shared
concepts. An unknown word one typo away from exactly one known word is read as that word.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from airflow_aimod.core.llm.offline.route._vocabulary import CONCEPTS, ELIDED, STOP_WORDS, TABLE_PREFIXES

_WORD = re.compile(r"\w+(?:'\w+)*")
_YEAR = re.compile(r"(?:19|20)\d\d")
_NUMERIC_RANGE = re.compile(r"\bbetween\s+-?[\d.,]+%?\s+and\s+-?[\d.,]+|[<>]=?\s*-?\d")
_LIST_ITEM = re.compile(r"[,:;.()]+|\band\b")
_MAX_PHRASE = 4  # longest phrase in the concept map, in words
_AGENT_NAME_WEIGHT = 2.0  # weight of the agent's own name (data_profiler) in its text
_BIGRAM_WEIGHT = 0.5
_MIN_TYPO_LEN = 6  # shorter unknown words are not read as typos


def _stem(word: str) -> str:
    """Strip common English suffixes so 'failed', 'failing' and 'fails' share one stem."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ation") and len(word) > 7:
        word = word[:-5] + "e"
    elif word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ed") and len(word) > 4:
        word = _undouble(word[:-2])
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    return word[:-1] if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz" else word


def _split_words(text: str) -> list[tuple[str, bool]]:
    """Words of ``text`` as (word, is_name): snake_case names are split and their table prefix dropped."""
    out: list[tuple[str, bool]] = []
    for raw in _WORD.findall(text.replace("’", "'")):
        raw = _drop_apostrophe(raw)
        if "_" not in raw:
            out.append((raw, False))
            continue
        parts = [p for p in raw.split("_") if p and not p.isdigit()]
        if len(parts) > 1 and parts[0] in TABLE_PREFIXES:
            parts = parts[1:]
        out += [(p, True) for p in parts]
    return out


def _drop_apostrophe(word: str) -> str:
    """``night's`` -> ``night``, ``didn't`` -> ``didnt``, French ``d'incident`` -> ``incident``."""
    if "'" not in word:
        return word
    head, _, tail = word.partition("'")
    if head in ELIDED and tail:
        return tail.replace("'", "")
    return word[:-2] if word.endswith("'s") else word.replace("'", "")


_Concept = tuple[str, tuple[str, ...]]  # (name, features it emits)


def _concept_tables() -> tuple[dict[tuple[str, ...], _Concept], dict[str, _Concept]]:
    """(phrase stems -> concept, word stem -> concept) from ``CONCEPTS``.

    A concept named "a b" emits one feature ``a_b``; one named "a+b" emits ``a`` and ``b``.
    """
    phrases: dict[tuple[str, ...], _Concept] = {}
    words: dict[str, _Concept] = {}
    for name, variants in CONCEPTS.items():
        features = tuple(_stem(w) for w in name.split("+")) if "+" in name else (name.replace(" ", "_"),)
        for variant in variants:
            key = tuple(_stem(w) for w, _ in _split_words(variant))
            if len(key) == 1:
                words[key[0]] = (name, features)
            else:
                phrases[key] = (name, features)
    return phrases, words


_PHRASES, _SYNONYMS = _concept_tables()


class Term(NamedTuple):
    """One term of a text: the feature it counts as, the words it came from, and whether they were a name."""

    feature: str
    surface: str
    is_name: bool
    concept: str = ""

    @property
    def label(self) -> str:
        return f"{self.surface} ({self.concept})" if self.concept and self.concept != self.surface else self.surface


def extract_terms(text: str, limit: int, index: Index | None = None) -> list[Term]:
    """Concept-mapped, stemmed, stop-word-free terms of ``text`` (at most ``limit``).

    Given the agents' ``index``, a word that matches nothing is read as the one known
    word it is a single typo away from, if there is exactly one.
    """
    text = _NUMERIC_RANGE.sub(" range ", unicodedata.normalize("NFKC", text).casefold())
    words = _split_words(text)[: limit * 4]
    stems = [_stem(w) for w, _ in words]
    terms: list[Term] = []
    i = 0
    while i < len(words) and len(terms) < limit:
        for size in range(min(_MAX_PHRASE, len(words) - i), 1, -1):
            concept = _PHRASES.get(tuple(stems[i:i + size]))
            if concept and len({is_name for _, is_name in words[i:i + size]}) == 1:
                surface = " ".join(w for w, _ in words[i:i + size])
                terms += [Term(f, surface, words[i][1], concept[0]) for f in concept[1]]
                i += size
                break
        else:
            word, stem = words[i][0], stems[i]
            if index and len(word) >= _MIN_TYPO_LEN and stem not in index.idf and stem not in _SYNONYMS:
                fixed = _correct(word, index.typos())
                if fixed and (_stem(fixed) in index.idf or _stem(fixed) in _SYNONYMS):
                    word, stem = fixed, _stem(fixed)
            terms += _word_terms(word, stem, words[i][1], surface=words[i][0])
            i += 1
    return terms[:limit]


def ground_in_schema(terms: list[Term], schema: Iterable[str], index: Index, text: str = "") -> list[Term]:
    """Words that name the warehouse's tables or columns count as the feature "warehouse".

    "warehouse", not "data": only the agents whose own texts say they work on the warehouse get
    the evidence ('data' is also in the drift detector's and the reporters' texts, and a vague
    request with one warehouse noun must not reach them).

    A word right after one of them and before a preposition ('patients *live* in', 'trips *started*
    from') is a predicate about that data, not a request for an agent: it is dropped.
    """
    known, short = _schema_stems(tuple(schema))
    grounded: list[Term] = []
    for term in terms:
        word = _stem(term.surface) if " " not in term.surface else ""
        if word and term.feature in index.idf:
            pass  # a word the agents' own texts use keeps its evidence ('validate the *orders* table')
        elif word and (word in known or any(_abbreviates(part, word) for part in short)):
            term = Term(_DATA, term.surface, term.is_name, "warehouse")
        elif grounded and grounded[-1].feature == _DATA and word and _before_preposition(term.surface, text):
            continue
        grounded.append(term)
    return grounded


@lru_cache(maxsize=32)
def _schema_stems(schema: tuple[str, ...]) -> tuple[frozenset[str], list[str]]:
    """Stemmed name words of ``schema`` ('column=value' entries are filters, not names), and the short ones."""
    known = frozenset(_stem(w) for w in schema if "=" not in w)
    return known, sorted(w for w in known if _abbreviation_like(w))


def _before_preposition(surface: str, text: str) -> bool:
    return re.search(rf"\b{re.escape(surface)}\s+(?:{'|'.join(_PREPOSITIONS)})\b", text.casefold()) is not None


_PREPOSITIONS = ("in", "on", "at", "to", "from", "by", "for", "with", "into", "during", "after", "before")


def _abbreviation_like(part: str) -> bool:
    return 2 <= len(part) <= 4 and part.isalpha() and not any(ch in "aeiou" for ch in part[1:])


def _abbreviates(part: str, word: str) -> bool:
    """'acct' → 'account', 'inv' → 'invoice', 'hrs' → 'hour': first letter equal, letters in order."""
    if part.endswith("s") and len(part) > 2 and _abbreviates(part[:-1], word):
        return True
    if not len(part) < len(word) <= 3 * len(part) or word[0] != part[0]:
        return False
    rest = iter(word[1:])
    return all(ch in rest for ch in part[1:])


DATA_FEATURE = _DATA = "warehouse"  # the agents whose own texts say they work on the warehouse get the evidence


def _word_terms(word: str, stem: str, is_name: bool, surface: str) -> list[Term]:
    if stem in _SYNONYMS:
        name, features = _SYNONYMS[stem]
        return [Term(f, surface, is_name, name) for f in features]
    if word in STOP_WORDS or stem in STOP_WORDS or len(word) < 2:
        return []
    if any(c.isdigit() for c in word):
        return [Term("year", surface, is_name, "year")] if _YEAR.fullmatch(word) else []
    return [Term(stem, surface, is_name, word if word != surface else "")]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _typo_table(words: Iterable[str]) -> dict[str, str]:
    """Each known word (long enough), and each of its one-letter deletions, mapped to the word, if unambiguous."""
    table: dict[str, set[str]] = {}
    for word in sorted(set(words)):
        if len(word) >= _MIN_TYPO_LEN and word.isalpha() and word not in STOP_WORDS:
            for key in {word} | _deletions(word):
                table.setdefault(key, set()).add(word)
    return {key: next(iter(found)) for key, found in table.items() if len(found) == 1}


def _correct(word: str, typos: Mapping[str, str]) -> str | None:
    """The one known word within one deletion, insertion, substitution or swap of ``word``, if any."""
    if len(word) < _MIN_TYPO_LEN or not word.isalpha():
        return None
    found = {typos[key] for key in sorted({word} | _deletions(word)) if key in typos}
    found = {w for w in found if w[0] == word[0] and w != word}
    return found.pop() if len(found) == 1 else None


def count_features(terms: Sequence[Term]) -> dict[str, float]:
    """Unigram and (down-weighted) bigram counts of ``terms``, in first-seen order."""
    counts: dict[str, float] = {}
    for term in terms:
        counts[term.feature] = counts.get(term.feature, 0.0) + 1.0
    for left, right in zip(terms, terms[1:]):
        if left.feature != right.feature:
            key = f"{left.feature} {right.feature}"
            counts[key] = counts.get(key, 0.0) + _BIGRAM_WEIGHT
    return counts


def _add(parts: Iterable[Mapping[str, float]], weights: Iterable[float]) -> dict[str, float]:
    total: dict[str, float] = {}
    for counts, weight in zip(parts, weights):
        for t, c in counts.items():
            total[t] = total.get(t, 0.0) + c * weight
    return total


def tfidf(counts: Mapping[str, float], idf: Mapping[str, float]) -> dict[str, float]:
    """Sublinear term weights times idf, for the features ``idf`` knows."""
    return {t: (1.0 + math.log(c) if c >= 1.0 else c) * idf[t] for t, c in counts.items() if t in idf}


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else {}


def dot(query: Mapping[str, float], vector: Mapping[str, float]) -> float:
    """Dot product of two sparse vectors."""
    return sum(w * vector[t] for t, w in query.items() if t in vector)


class AgentDoc(NamedTuple):
    """One agent's text as unit TF-IDF vectors."""

    name: str
    whole: dict[str, float]  # unit TF-IDF vector of the name, description and examples together
    parts: tuple[dict[str, float], ...]  # unit vectors of the description, its list items, and each example


class Index:
    """What the classifier knows about one agent set: idf weights, agent vectors, vocabulary."""

    def __init__(self, idf: dict[str, float], agents: tuple[AgentDoc, ...], vocabulary: list[str]) -> None:
        self.idf = idf
        self.agents = agents
        self.rare_idf = math.log((len(agents) + 1) / 1.5)  # idf of a term only one agent uses
        self._vocabulary = vocabulary
        self._typos: dict[str, str] | None = None

    def typos(self) -> dict[str, str]:
        """The typo table of the agents' vocabulary, built on first use."""
        if self._typos is None:
            self._typos = _typo_table(self._vocabulary)
        return self._typos


AgentKey = tuple[tuple[str, str, tuple[str, ...]], ...]


def agent_key(agents: Sequence[Mapping[str, Any]]) -> AgentKey:
    """The agents' names, descriptions and examples as a hashable key (the index cache key)."""
    return tuple((str(a["name"]), str(a.get("description") or ""), tuple(str(e) for e in a.get("examples") or ()))
                 for a in agents)


@lru_cache(maxsize=16)
def build_index(agents: AgentKey) -> Index:
    """TF-IDF index over the agents' names, descriptions and examples (cached per agent set)."""
    names, wholes, parts = [], [], []
    for name, description, examples in agents:
        items = [item for item in _LIST_ITEM.split(description) if item.strip()]
        texts = [description, *examples, *(items if len(items) > 1 else ())]
        counts = [count_features(extract_terms(text, 10_000)) for text in texts]
        own = count_features(extract_terms(name, 100))
        names.append(name)
        wholes.append(_add([own, *counts[: 1 + len(examples)]], [_AGENT_NAME_WEIGHT, *[1.0] * (1 + len(examples))]))
        parts.append(counts)
    df: dict[str, int] = {}
    for whole in wholes:
        for t in whole:
            df[t] = df.get(t, 0) + 1
    n = len(agents)
    idf = {t: math.log((n + 1) / (d + 0.5)) for t, d in sorted(df.items())}
    docs = tuple(AgentDoc(name, _unit(tfidf(whole, idf)), tuple(_unit(tfidf(c, idf)) for c in counts))
                 for name, whole, counts in zip(names, wholes, parts))
    vocabulary = [w for name, description, examples in agents for text in (name, description, *examples)
                  for w, _ in _split_words(text.casefold())]
    vocabulary += [w for variants in CONCEPTS.values() for v in variants for w, _ in _split_words(v)]
    return Index(idf, docs, vocabulary)

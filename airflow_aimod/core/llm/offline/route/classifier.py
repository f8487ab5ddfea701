"""The offline engine's router: which agent fits a request, and how sure, from the agents' own words.

A hosted model reads the agents' names, descriptions and examples in the route prompt;
this classifier reads the same and nothing else (it never imports the registry).

1. Text to terms (``_terms``, words from ``_vocabulary``): stemmed, stop
   words dropped, snake_case names split, phrases and synonyms mapped onto shared
   concepts ("crashed" and "error" count as fail), one-typo words corrected;
   adjacent terms also form bigrams.
2. TF-IDF over the agents' texts (name, description, examples). A request is compared
   by cosine with each agent's whole text and with its closest "part": the
   description, one item of the description's list, or one example. Words that no
   agent uses still weigh in the request's norm, so a request that is mostly unknown
   words scores low; a single matching word is weak evidence.
3. A softmax over the agents with evidence plus a "none of these" class whose logit is
   a fixed threshold: requests that match little leave most mass on "none", and two
   agents that match equally split the mass, so neither is confident.
4. Caps: unsafe requests (prompt injection, destructive commands, guard bypass,
   secrets) and requests whose clauses ask different agents for different things get
   low probabilities everywhere, so a person always decides.

Deterministic: no randomness, no clock, and every sum runs in a fixed order.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_aimod.core.llm.offline.actions import action_on_rows
from airflow_aimod.core.llm.offline.route import _terms as route_terms
from airflow_aimod.core.llm.offline.route._data_request import DataReading, read_data_request
from airflow_aimod.core.llm.offline.route import _vocabulary as vocabulary

_CLAUSE_SPLIT = re.compile(r"[.?!;\n]+|\b(?:and also|and then|as well as|also|plus|then|after that|and)\b")
_MAX_SCAN = 200_000  # characters searched for unsafe patterns
_MAX_CLAUSES = 8  # clauses checked for a second ask
_CLAUSE_CONFIDENCE = 0.5  # a clause asks another agent when that agent gets this much of the clause's mass
_FOREIGN = 0.05  # ...and the request's top agent gets less than this
_NAME_WEIGHT = 0.5  # weight of a word taken from a snake_case name (a table, a task) in the request
_MIN_SCORE = 1e-4  # smaller probabilities are left out of the scores (their mass counts as "none")


def _best(probs: Mapping[str, float]) -> str | None:
    return max(probs.items(), key=lambda kv: (kv[1], kv[0]))[0] if probs else None


def _unsafe_reasons(text: str) -> list[str]:
    """Why ``text`` must not be dispatched automatically (empty when nothing unsafe was found)."""
    flat = " ".join(unicodedata.normalize("NFKC", text[:_MAX_SCAN]).casefold().split())
    return sorted({reason for reason, pattern in vocabulary.UNSAFE if pattern.search(flat)})


def _clauses(text: str) -> list[str]:
    """The separate asks of ``text``: split at sentence ends and at 'and', 'also', 'then', 'plus'."""
    return [c.strip() for c in _CLAUSE_SPLIT.split(text.casefold()) if c and c.strip()]


class RouteClassifier:
    """Deterministic text classifier that scores a request against the agents it is given.

    ``temperature`` sharpens (low) or flattens (high) the softmax. ``none_logit`` is the
    similarity a request must beat before an agent gets more mass than "none of these".
    ``unsafe_cap`` and ``multi_intent_cap`` bound every agent's probability for unsafe
    requests and for requests whose clauses ask different agents for different things.
    ``example_weight`` blends whole-text similarity (0) with closest-part similarity (1);
    ``unknown_weight`` is how much a word no agent uses dilutes the request (relative
    to a word only one agent uses); ``evidence_scale`` is the idf mass of matching words
    at which an agent has about two-thirds of full strength. ``max_chars`` and
    ``max_terms`` bound the work on oversized input.
    """

    def __init__(self, *, temperature: float = 0.04, none_logit: float = 0.25, unsafe_cap: float = 0.3,
                 multi_intent_cap: float = 0.5, example_weight: float = 0.5, unknown_weight: float = 0.35,
                 evidence_scale: float = 2.0, one_word_factor: float = 0.6, max_chars: int = 20_000,
                 max_terms: int = 256) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        for label, value in (("unsafe_cap", unsafe_cap), ("multi_intent_cap", multi_intent_cap),
                             ("example_weight", example_weight), ("one_word_factor", one_word_factor)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {value}")
        if evidence_scale <= 0 or max_chars <= 0 or max_terms <= 0:
            raise ValueError("evidence_scale, max_chars and max_terms must be positive")
        self.temperature = temperature
        self.none_logit = none_logit
        self.unsafe_cap = unsafe_cap
        self.multi_intent_cap = multi_intent_cap
        self.example_weight = example_weight
        self.unknown_weight = unknown_weight
        self.evidence_scale = evidence_scale
        self.one_word_factor = one_word_factor
        self.max_chars = max_chars
        self.max_terms = max_terms

    def classify(self, request: str, agents: Sequence[Mapping[str, Any]], *, schema: Sequence[str] = ()) -> dict:
        """Score ``request`` against ``agents`` (``name``, ``description``, ``examples``).

        ``schema``: words of the connected warehouse's table and column names, and ``column=value``
        entries of its stored values. A request word that no agent uses but the warehouse does names
        the warehouse's data: it counts as the word "warehouse" instead of diluting the request as
        unknown. A request every word of which resolves to the warehouse and asks for a retrieval
        (``_data_request``) is a data request: the agents share the mass by its intent words alone.
        One that names data the warehouse does not hold, or acts on the rows it reads, is capped.
        Returns ``{"agent", "confidence", "scores", "rationale", "matched_terms"}``, JSON-safe;
        ``scores`` sum to at most 1, the remainder being "none of these".
        """
        request = request if isinstance(request, str) else ""
        text = request[: self.max_chars]
        if not text.strip():
            return _result({}, "empty request: nothing to route", {})
        if not agents:
            return _result({}, "no agents to choose from", {})
        index = route_terms.build_index(route_terms.agent_key(agents))
        terms = route_terms.extract_terms(text, self.max_terms, index)
        notes = []
        reading = read_data_request(text, schema) if schema else None
        if schema:
            terms = route_terms.ground_in_schema(terms, schema, index, text)
        grounded = self._data_agents(reading, index) if reading is not None and reading.plain else {}
        directed = {} if grounded or reading is None else self._directed(reading, terms, index)
        probs = grounded or directed or self._probabilities(terms, index)
        if grounded:
            notes.append(reading.describe() + "; its intent words decide the agent")
        elif directed:
            notes.append(f"names the warehouse's data ({', '.join(reading.nouns)}); every other word is an agent's "
                         "own, and those words alone decide the agent")
        elif reading is not None and reading.unsupported and (foreign := _foreign(reading.unknown, index)):
            probs = _cap(probs, self.multi_intent_cap)
            shown = ", ".join(repr(w) for w in foreign[:5])
            notes.append(f"asks the warehouse about {shown}, which it does not hold: capped at "
                         f"{self.multi_intent_cap:.2f}, a person decides")
        action = action_on_rows(text, [w for w in schema if "=" not in w])
        if action:
            probs = _cap(probs, self.unsafe_cap)
            notes.append(f"asks to act on the data ({action!r}): no read-only agent does that, a person must "
                         f"decide; capped at {self.unsafe_cap:.2f}")
        unsafe = _unsafe_reasons(request)
        if unsafe:
            probs = _cap(probs, self.unsafe_cap)
            notes.append(f"unsafe request ({', '.join(unsafe)}): capped at {self.unsafe_cap:.2f}, "
                         "a person must review it")
        asks = self._other_asks(text, terms, _best(probs), index)
        if asks:
            probs = _cap(probs, self.multi_intent_cap)
            listed = "; ".join(f"{clause!r} -> {agent}" for clause, agent in asks)
            notes.append(f"several asks for different agents ({listed}): capped at {self.multi_intent_cap:.2f}")
        matched = {doc.name: _matched(terms, doc) for doc in index.agents if doc.name in probs}
        return _result(probs, _rationale(probs, matched, terms, index, notes), matched)

    def _probabilities(self, terms: Sequence[route_terms.Term], index: route_terms.Index) -> dict[str, float]:
        query, unknown = self._query(terms, index)
        similarity = {}
        for doc in index.agents:
            s = self._similarity(query, unknown, doc)
            similarity[doc.name] = s * self.one_word_factor if s and len(_matched(terms, doc)) < 2 else s
        return self._softmax(similarity)

    def _data_agents(self, reading: DataReading, index: route_terms.Index) -> dict[str, float]:
        """For a request every word of which resolves to the warehouse: the agents' shares of the mass its
        intent words alone give them ("none of these" is ruled out by the grounding, not by the threshold)."""
        probs = self._probabilities(list(reading.focus), index)
        total = sum(probs.values())
        return {name: p / total for name, p in probs.items()} if total else {}

    def _directed(self, reading: DataReading, terms: Sequence[route_terms.Term],
                  index: route_terms.Index) -> dict[str, float]:
        """An instruction to an agent about the warehouse's data ('validate the venues table'): warehouse nouns,
        and every other word is one the agents' texts use. The warehouse noun tells that the request is about
        the data, not which agent acts on it: the agents share the mass by the other words alone ("none of
        these" is ruled out by the grounding, as for a data request)."""
        if not reading.nouns or reading.intents or reading.action or reading.judgement or not reading.leftovers:
            return {}  # a retrieval word as well ('count … then retrain'): not one agent's instruction
        own = [t for t in terms if t.feature != route_terms.DATA_FEATURE and t.feature in index.idf]
        if not own or any(route_terms._stem(w) not in index.idf and w not in {t.surface for t in own}
                          for w in reading.leftovers):
            return {}
        probs = self._probabilities(own, index)
        total = sum(probs.values())
        return {name: p / total for name, p in probs.items()} if total else {}

    def _query(self, terms: Sequence[route_terms.Term], index: route_terms.Index) -> tuple[dict[str, float], float]:
        """The request's TF-IDF vector over known features, and the squared weight of its unknown words."""
        counts = route_terms.count_features(terms)
        names = {t.feature for t in terms if t.is_name} - {t.feature for t in terms if not t.is_name}
        weights = route_terms.tfidf(counts, index.idf)
        query = {t: w * (_NAME_WEIGHT if t in names else 1.0) for t, w in weights.items()}
        unknown = sum((1.0 + math.log(c)) ** 2 for t, c in counts.items()
                      if " " not in t and t not in index.idf and t not in names)
        return query, unknown * (self.unknown_weight * index.rare_idf) ** 2

    def _similarity(self, query: Mapping[str, float], unknown: float, doc: route_terms.AgentDoc) -> float:
        """Cosine to the agent's whole text blended with cosine to its closest part, scaled by evidence."""
        norm = math.sqrt(sum(w * w for w in query.values()) + unknown)
        if not norm:
            return 0.0
        whole = route_terms.dot(query, doc.whole) / norm
        closest = max((route_terms.dot(query, part) for part in doc.parts), default=0.0) / norm
        evidence = sum(w for t, w in query.items() if " " not in t and t in doc.whole)
        strength = 1.0 - math.exp(-evidence / self.evidence_scale)
        return ((1.0 - self.example_weight) * whole + self.example_weight * closest) * strength

    def _softmax(self, similarity: Mapping[str, float]) -> dict[str, float]:
        """Probabilities of the agents with any evidence; the rest of the mass is "none of these"."""
        logits = {name: s / self.temperature for name, s in sorted(similarity.items()) if s > 0.0}
        if not logits:
            return {}
        none = self.none_logit / self.temperature
        top = max(none, *logits.values())
        total = math.exp(none - top) + sum(math.exp(z - top) for z in logits.values())
        return {name: math.exp(z - top) / total for name, z in logits.items()}

    def _other_asks(self, text: str, terms: Sequence[route_terms.Term], top: str | None,
                    index: route_terms.Index) -> list[tuple[str, str]]:
        """Clauses that clearly ask another agent, which ``top`` would hardly get on its own.

        Not checked when the request is phrased as one sequence of steps ("then", "orchestrate")
        in words the top agent's own text uses: that agent takes multi-step work.
        """
        parts = _clauses(text)[:_MAX_CLAUSES]
        if top is None or len(parts) < 2:
            return []
        doc = next(d for d in index.agents if d.name == top)
        if any(t.feature in vocabulary.SEQUENCING and t.feature in doc.whole for t in terms):
            return []
        asks = []
        for clause in parts:
            probs = self._probabilities(route_terms.extract_terms(clause, self.max_terms, index), index)
            winner = _best(probs)
            if winner and winner != top and probs[winner] >= _CLAUSE_CONFIDENCE and probs.get(top, 0.0) < _FOREIGN:
                asks.append((clause, winner))
        return asks


def _foreign(words: Sequence[str], index: route_terms.Index) -> list[str]:
    """The ``words`` that no agent's text uses either ('table' is the agents' word, 'salary' nobody's)."""
    return [w for w in words if route_terms._stem(w) not in index.idf]


def _matched(terms: Sequence[route_terms.Term], doc: route_terms.AgentDoc) -> list[str]:
    """Readable request words that ``doc`` also uses, in request order."""
    return list(dict.fromkeys(term.label for term in terms if term.feature in doc.whole))


def _cap(probs: Mapping[str, float], cap: float) -> dict[str, float]:
    top = max(probs.values(), default=0.0)
    factor = min(1.0, cap / top) if top else 1.0
    return {name: p * factor for name, p in probs.items()}


def _floor(p: float) -> float:
    """Round down to 6 places, so rounded probabilities never sum past 1."""
    return math.floor(p * 1e6) / 1e6


def _result(probs: Mapping[str, float], rationale: str, matched: Mapping[str, list[str]]) -> dict:
    scores = {name: _floor(p) for name, p in sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))}
    scores = {name: p for name, p in scores.items() if p >= _MIN_SCORE}
    agent = _best(scores)
    return {"agent": agent, "confidence": scores[agent] if agent else 0.0, "scores": scores,
            "rationale": rationale, "matched_terms": {n: list(matched.get(n, ())) for n in scores}}


def _rationale(probs: Mapping[str, float], matched: Mapping[str, list[str]], terms: Sequence[route_terms.Term],
               index: route_terms.Index, notes: Sequence[str]) -> str:
    """Readable account: what was capped and why, which words matched whom, which matched nobody."""
    ranked = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{'best match' if i == 0 else 'runner-up'} {name} ({p:.2f}) on: {', '.join(matched[name][:6])}"
             for i, (name, p) in enumerate(ranked[:2])]
    if not ranked:
        parts.append("no word of the request matches any agent's description or examples")
    unknown = list(dict.fromkeys(t.surface for t in terms if not t.is_name and t.feature not in index.idf))
    if unknown:
        shown = ", ".join(repr(w) for w in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        parts.append(f"{len(unknown)} word(s) match no agent ({shown})")
    return "; ".join([*notes, *parts])

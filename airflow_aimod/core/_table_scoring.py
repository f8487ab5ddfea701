"""How well each table of a catalog matches a question: words, weights, and the foreign-key graph.

Table-name words count most, column-name words and sample values less, rare words more
than common ones (an IDF per field); synonyms and shared prefixes count partly.
``SchemaSelector`` uses the scores to choose tables and the graph to join them.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from airflow_aimod.core.schema import Catalog, Table

NAME_WEIGHT, COLUMN_WEIGHT, SAMPLE_WEIGHT = 10.0, 3.0, 3.0
SYNONYM_WEIGHT, PARTIAL_WEIGHT = 0.5, 0.4
MAX_PATH_HOPS = 3
"""Foreign-key hops searched to connect a candidate to the tables already chosen."""

_STOPWORDS = frozenset("""
a an the of for by in on at to from with without and or not no per each every all any is are was were be been
do does did has have had what which who whom whose when where why how many much show list give get find tell me
my our we you your it its this that these those there their than then as into over under between during about
number count top most least more less highest lowest largest smallest biggest average avg mean sum max min
maximum minimum please can could would should will some only also last first next previous recent ago since
before after until
""".split())
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "revenue": ("amount", "price", "total", "sale"), "sale": ("order", "revenue", "amount"),
    "sold": ("order", "quantity"), "sell": ("order",), "purchase": ("order",), "bought": ("order",),
    "buy": ("order",), "spend": ("amount", "total"), "spent": ("amount", "total"), "cost": ("price", "amount"),
    "client": ("customer",), "buyer": ("customer",), "user": ("customer", "account"), "staff": ("employee",),
    "worker": ("employee",), "employee": ("staff",), "salary": ("wage", "pay", "compensation"),
    "pay": ("payment", "salary"), "paid": ("payment",), "item": ("product",), "product": ("item",),
    "vendor": ("supplier",), "supplier": ("vendor",), "shipped": ("shipment", "status"),
    "delivery": ("shipment",), "delivered": ("shipment", "status"), "country": ("nation", "region"),
    "team": ("department",), "department": ("team",),
}
_ALNUM = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class TableFeatures:
    """The words of one table: in its name, in its columns' names and in its columns' sample values."""

    name: frozenset[str]
    columns: frozenset[str]
    samples: frozenset[str]

    @classmethod
    def of(cls, table: Table) -> TableFeatures:
        columns = {w for c in table.columns for w in words(c.name)}
        samples = {w for c in table.columns for v in c.samples for w in words(str(v))}
        return cls(frozenset(words(table.name)), frozenset(columns), frozenset(samples))


class TableScorer:
    """Scores of every table of a catalog for one question, and its foreign-key graph."""

    def __init__(self, catalog: Catalog, question: str) -> None:
        self.tables = {table_key(t): t for t in catalog.tables}
        self.features = {key: TableFeatures.of(t) for key, t in self.tables.items()}
        self.terms, self.exact = self._terms(question)
        self.scores = self._score()
        self._graph: dict[str, list[str]] | None = None

    def ranked(self) -> list[str]:
        """Keys of tables with a positive score, best first (ties by name)."""
        return sorted((k for k, s in self.scores.items() if s > 0), key=lambda k: (-self.scores[k], k))

    def hits(self, key: str) -> set[str]:
        """Question words (and synonyms) found in the table's name, column names or samples."""
        f = self.features[key]
        return {t for t in self.terms if t in f.name or t in f.columns or t in f.samples}

    def is_variant(self, key: str, chosen: list[str]) -> bool:
        """Whether ``key`` and a chosen table differ only by words the question did not use (orders_archive,
        or the same name in another schema)."""
        return any(self._same_family(self.features[key].name, self.features[c].name) for c in chosen)

    def _same_family(self, a: frozenset[str], b: frozenset[str]) -> bool:
        return bool(a and b) and (a <= b or b <= a) and not ((a ^ b) & self.terms.keys())

    def path(self, start: str, targets: set[str]) -> list[str] | None:
        """Tables strictly between ``start`` and the nearest of ``targets`` (BFS over FKs), or None."""
        graph = self.graph()
        parents: dict[str, str | None] = {start: None}
        queue = deque([(start, 0)])
        while queue:
            node, depth = queue.popleft()
            if node in targets:
                between = []
                step = parents[node]
                while step is not None and step != start:
                    between.append(step)
                    step = parents[step]
                return between
            if depth < MAX_PATH_HOPS:
                for nxt in graph.get(node, ()):
                    if nxt not in parents:
                        parents[nxt] = node
                        queue.append((nxt, depth + 1))
        return None

    def graph(self) -> dict[str, list[str]]:
        """Undirected FK adjacency, neighbours ordered by score then name."""
        if self._graph is None:
            edges: dict[str, set[str]] = {}
            resolve = fk_resolver(list(self.tables.values()))
            for key, table in self.tables.items():
                for fk in table.foreign_keys:
                    ref = resolve(table, fk.ref_table)
                    if ref is not None and ref != key:
                        edges.setdefault(key, set()).add(ref)
                        edges.setdefault(ref, set()).add(key)
            self._graph = {k: sorted(v, key=lambda n: (-self.scores.get(n, 0.0), n)) for k, v in edges.items()}
        return self._graph

    def _terms(self, question: str) -> tuple[dict[str, float], bool]:
        """Question words with weights (1 exact, less for synonyms and prefixes), and whether any matched."""
        direct = set(words(question))
        vocabulary: set[str] = set()
        for f in self.features.values():
            vocabulary |= f.name | f.columns | f.samples
        terms = {word: 1.0 for word in direct}
        for word in sorted(direct):
            for synonym in _SYNONYMS.get(word, ()):
                terms.setdefault(synonym, SYNONYM_WEIGHT)
        for word in sorted(direct - vocabulary):
            for known in sorted(vocabulary):
                if known not in terms and _shares_prefix(word, known):
                    terms[known] = PARTIAL_WEIGHT
        return terms, bool(direct & vocabulary)

    def _score(self) -> dict[str, float]:
        n = len(self.tables) or 1
        df = {field: {t: 0 for t in self.terms} for field in ("name", "columns", "samples")}
        for f in self.features.values():
            for term in self.terms:
                df["name"][term] += term in f.name
                df["columns"][term] += term in f.columns
                df["samples"][term] += term in f.samples
        idf = {field: {t: math.log(1 + n / c) for t, c in counts.items() if c} for field, counts in df.items()}
        return {key: self._table_score(f, idf) for key, f in self.features.items()}

    def _table_score(self, f: TableFeatures, idf: dict[str, dict[str, float]]) -> float:
        """Name hits count most (more when they cover the whole name); other words count in columns and samples."""
        name_hits = [t for t in self.terms if t in f.name]
        score = 0.0
        if name_hits:
            coverage = len(name_hits) / len(f.name)
            score += NAME_WEIGHT * (0.5 + coverage) * sum(self.terms[t] * idf["name"][t] for t in name_hits)
        for term, weight in self.terms.items():
            if term not in f.name:
                score += COLUMN_WEIGHT * weight * idf["columns"].get(term, 0.0) * (term in f.columns)
                score += SAMPLE_WEIGHT * weight * idf["samples"].get(term, 0.0) * (term in f.samples)
        return score


@lru_cache(maxsize=100_000)
def words(text: str) -> tuple[str, ...]:
    """Lower-case, singular words of ``text``: snake_case and camelCase split, stop words dropped."""
    out = []
    for run in _ALNUM.findall(text):
        for part in _CAMEL.split(run):
            word = _singular(part.lower())
            if len(word) > 1 and word not in _STOPWORDS:
                out.append(word)
    return tuple(out)


def _singular(word: str) -> str:
    """Naive singular: categories->category, boxes->box, orders->order; status, address, analysis kept."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


def _shares_prefix(a: str, b: str) -> bool:
    """Whether two words share a prefix of 4+ letters covering half the longer one (shipping ~ shipment)."""
    common = len(_common_prefix(a, b))
    return common >= 4 and common * 2 >= max(len(a), len(b))


def _common_prefix(a: str, b: str) -> str:
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[:i]


def table_key(table: Table) -> str:
    return table.qualified_name.lower()


def fk_resolver(tables: list[Table]):
    """A function mapping (owner table, FK ref_table) to a table key among ``tables``, or None."""
    qualified = {table_key(t) for t in tables}
    by_name: dict[str, list[Table]] = {}
    for t in tables:
        by_name.setdefault(t.name.lower(), []).append(t)

    def resolve(owner: Table, ref: str) -> str | None:
        ref = ref.lower().replace('"', "")
        if ref in qualified:
            return ref
        candidates = by_name.get(ref, [])
        same_schema = [t for t in candidates if t.schema == owner.schema]
        return table_key((same_schema or candidates)[0]) if candidates else None

    return resolve

"""Schema selection: the few tables one question needs, rendered within a token budget.

A warehouse of a thousand tables does not fit in a prompt; the selector scores every
table against the question (table-name words strongly, column-name words and sample
values less, rare words more than common ones), keeps the best, adds the tables on the
foreign-key paths that join them, and trims columns, samples, then tables until the
rendering fits ``max_tokens``. ``render`` is byte for byte the catalog JSON that
``prompts.sql_messages`` embeds, so the budget measures what is actually sent.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from airflow_aimod.core.budget import estimate_tokens
from airflow_aimod.core.schema import Catalog, Column, Table
from airflow_aimod.exceptions import ConfigurationError

NAME_WEIGHT, COLUMN_WEIGHT, SAMPLE_WEIGHT = 10.0, 3.0, 3.0
SYNONYM_WEIGHT, PARTIAL_WEIGHT = 0.5, 0.4
SEED_CUTOFF = 0.25
"""A table is a candidate when it scores at least this fraction of the best table's score."""
NOVELTY_CUTOFF = 0.5
"""Below this fraction of the best score, a candidate must match a new question word or join a chosen table."""
MAX_PATH_HOPS = 3
"""Foreign-key hops searched to connect a candidate to the tables already chosen."""
WEAK_MATCH_TABLES = 3
"""At most this many tables when no question word matched exactly (only synonyms or prefixes)."""

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


class SchemaSelector:
    """Picks the relevant part of a catalog for one question and keeps its rendering under budget."""

    def __init__(self, *, max_tables: int = 8, max_tokens: int = 3000, max_columns_per_table: int = 40) -> None:
        for name, value in (("max_tables", max_tables), ("max_tokens", max_tokens),
                            ("max_columns_per_table", max_columns_per_table)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"SchemaSelector {name} must be a positive integer, got {value!r}")
        self.max_tables = max_tables
        self.max_tokens = max_tokens
        self.max_columns_per_table = max_columns_per_table

    def select(self, question: str, catalog: Catalog) -> Catalog:
        """The tables ``question`` needs plus the FK paths joining them, trimmed to ``max_tokens``.

        A catalog whose whole rendering fits is returned unchanged.
        """
        if self._fits(catalog):
            return catalog
        scorer = _Scorer(catalog, question)
        return self._trim(replace(catalog, tables=tuple(self._choose(scorer))), scorer.terms)

    def fit(self, question: str, catalog: Catalog) -> Catalog:
        """``catalog`` (e.g. a selection after ``with_samples``) trimmed to ``max_tokens``, tables in order."""
        if self._fits(catalog):
            return catalog
        return self._trim(catalog, _Scorer(catalog, question).terms)

    def render(self, catalog: Catalog) -> str:
        """Compact, key-sorted JSON of ``catalog.to_dict()``: exactly what prompts embed."""
        return json.dumps(catalog.to_dict(), separators=(",", ":"), sort_keys=True, default=str)

    def tokens(self, catalog: Catalog) -> int:
        """``estimate_tokens`` of the rendering."""
        return estimate_tokens(self.render(catalog))

    def _fits(self, catalog: Catalog) -> bool:
        cost = _Cost(self, catalog.dialect)
        total = cost.overhead
        for table in catalog.tables:
            total += cost.of(table) + 1
            if total > self.max_tokens:
                return False
        return self.tokens(catalog) <= self.max_tokens

    def _choose(self, scorer: _Scorer) -> list[Table]:
        """Best-scoring tables, each joined to the ones before it through an FK path when one exists."""
        ranked = scorer.ranked()
        if not ranked:
            return []
        limit = self.max_tables if scorer.exact else min(self.max_tables, WEAK_MATCH_TABLES)
        best = scorer.scores[ranked[0]]
        seeds = [key for key in ranked if scorer.scores[key] >= SEED_CUTOFF * best][:4 * limit]
        chosen = [seeds[0]]
        for seed in seeds[1:]:
            if len(chosen) >= limit:
                break
            if seed in chosen or scorer.is_variant(seed, chosen) or self._adds_nothing(scorer, seed, chosen, best):
                continue
            path = scorer.path(seed, set(chosen))
            add = [seed] if path is None else [*path, seed]
            if len(chosen) + len(add) <= limit:
                chosen += add
        return [scorer.tables[key] for key in chosen]

    @staticmethod
    def _adds_nothing(scorer: _Scorer, seed: str, chosen: list[str], best: float) -> bool:
        """A weak seed that matches no new question word and is not joined to a chosen table."""
        if scorer.scores[seed] >= NOVELTY_CUTOFF * best:
            return False
        covered = set().union(*(scorer.hits(c) for c in chosen))
        return not (scorer.hits(seed) - covered) and not set(scorer.graph().get(seed, ())) & set(chosen)

    def _trim(self, catalog: Catalog, terms: dict[str, float]) -> Catalog:
        """Cap columns per table, then drop columns, samples and tables until the rendering fits."""
        tables = _prune_foreign_keys(list(catalog.tables))
        keep = {id(t): _essential(t, tables, terms) for t in tables}
        tables = [self._cap(t, keep[id(t)]) for t in tables]
        keep = {id(t): _essential(t, tables, terms) for t in tables}
        cost = _Cost(self, catalog.dialect)
        for candidate in _shrinking(tables, keep):
            if cost.total(candidate) <= self.max_tokens:
                trimmed = replace(catalog, tables=tuple(candidate))
                if self.tokens(trimmed) <= self.max_tokens:
                    return trimmed
        return replace(catalog, tables=())

    def _cap(self, table: Table, essential: set[str]) -> Table:
        if len(table.columns) <= self.max_columns_per_table:
            return table
        ordered = [c for c in table.columns if c.name in essential] + \
                  [c for c in table.columns if c.name not in essential]
        kept = {c.name for c in ordered[:self.max_columns_per_table]}
        return replace(table, columns=tuple(c for c in table.columns if c.name in kept))


class _Cost:
    """Tokens of a rendering as the sum of its parts: an upper bound of the exact count, far cheaper."""

    def __init__(self, selector: SchemaSelector, dialect: str) -> None:
        self.selector, self.dialect = selector, dialect
        self.overhead = selector.tokens(Catalog(dialect=dialect))
        self._cache: dict[int, tuple[Table, int]] = {}

    def of(self, table: Table) -> int:
        hit = self._cache.get(id(table))
        if hit is None or hit[0] is not table:
            piece = Catalog(self.dialect, (table,)).to_dict()["tables"][0]
            hit = (table, estimate_tokens(json.dumps(piece, separators=(",", ":"), sort_keys=True, default=str)))
            self._cache[id(table)] = hit
        return hit[1]

    def total(self, tables: list[Table]) -> int:
        return self.overhead + sum(self.of(t) + 1 for t in tables)


@dataclass(frozen=True)
class _Features:
    """The words of one table: in its name, in its columns' names and in its columns' sample values."""

    name: frozenset[str]
    columns: frozenset[str]
    samples: frozenset[str]

    @classmethod
    def of(cls, table: Table) -> _Features:
        columns = {w for c in table.columns for w in words(c.name)}
        samples = {w for c in table.columns for v in c.samples for w in words(str(v))}
        return cls(frozenset(words(table.name)), frozenset(columns), frozenset(samples))


class _Scorer:
    """Scores of every table of a catalog for one question, and its foreign-key graph."""

    def __init__(self, catalog: Catalog, question: str) -> None:
        self.tables = {_key(t): t for t in catalog.tables}
        self.features = {key: _Features.of(t) for key, t in self.tables.items()}
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
            resolve = _resolver(list(self.tables.values()))
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

    def _table_score(self, f: _Features, idf: dict[str, dict[str, float]]) -> float:
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


def _key(table: Table) -> str:
    return table.qualified_name.lower()


def _resolver(tables: list[Table]):
    """A function mapping (owner table, FK ref_table) to a table key among ``tables``, or None."""
    qualified = {_key(t) for t in tables}
    by_name: dict[str, list[Table]] = {}
    for t in tables:
        by_name.setdefault(t.name.lower(), []).append(t)

    def resolve(owner: Table, ref: str) -> str | None:
        ref = ref.lower().replace('"', "")
        if ref in qualified:
            return ref
        candidates = by_name.get(ref, [])
        same_schema = [t for t in candidates if t.schema == owner.schema]
        return _key((same_schema or candidates)[0]) if candidates else None

    return resolve


def _prune_foreign_keys(tables: list[Table]) -> list[Table]:
    """Drop foreign keys pointing outside ``tables`` (the prompt cannot join to them)."""
    resolve = _resolver(tables)
    out = []
    for t in tables:
        kept = tuple(fk for fk in t.foreign_keys if resolve(t, fk.ref_table) is not None)
        out.append(t if kept == t.foreign_keys else replace(t, foreign_keys=kept))
    return out


def _essential(table: Table, tables: list[Table], terms: dict[str, float]) -> set[str]:
    """Columns never trimmed before tables are: keys, join columns and columns the question names."""
    keep = {c.name for c in table.columns if c.primary_key} | {fk.column for fk in table.foreign_keys}
    resolve = _resolver(tables)
    for other in tables:
        keep |= {fk.ref_column for fk in other.foreign_keys if resolve(other, fk.ref_table) == _key(table)}
    for column in table.columns:
        named = set(words(column.name)).union(*(words(str(v)) for v in column.samples))
        if named & terms.keys():
            keep.add(column.name)
    return keep


def _shrinking(tables: list[Table], keep: dict[int, set[str]]) -> Iterator[list[Table]]:
    """Ever smaller versions of ``tables``: the least relevant (last) table gives things up first."""
    current = list(tables)
    essential = [keep[id(t)] for t in tables]
    yield current
    for i in reversed(range(len(current))):  # 1. columns that are neither keys nor named by the question
        for column in reversed(current[i].columns):
            if column.name not in essential[i]:
                current[i] = _without_column(current[i], column.name)
                yield list(current)
    for matched in (False, True):  # 2. samples: of unmatched columns first
        for i in reversed(range(len(current))):
            for column in current[i].columns:
                if column.samples and (column.name in essential[i]) == matched:
                    current[i] = _with_column(current[i], replace(column, samples=()))
                    yield list(current)
    while len(current) > 1:  # 3. whole tables
        current = _prune_foreign_keys(current[:-1])
        yield current
    if current:  # 4. the last table's columns, from the end
        table = current[0]
        while table.columns:
            table = replace(table, columns=table.columns[:-1], foreign_keys=())
            yield [table]
    yield []


def _without_column(table: Table, name: str) -> Table:
    return replace(table, columns=tuple(c for c in table.columns if c.name != name))


def _with_column(table: Table, column: Column) -> Table:
    return replace(table, columns=tuple(column if c.name == column.name else c for c in table.columns))


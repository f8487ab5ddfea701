"""Schema selection: the few tables one question needs, rendered within a token budget.

A warehouse of a thousand tables does not fit in a prompt; the selector scores every
table against the question (table-name words strongly, column-name words and sample
values less, rare words more than common ones), keeps the best, adds the tables on the
foreign-key paths that join them, and trims columns, samples, then tables until the
rendering fits ``max_tokens`` (scoring: ``_table_scoring``). ``render`` is byte for byte the catalog JSON that
``prompts.sql_messages`` embeds, so the budget measures what is actually sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

from airflow_aimod.core._table_scoring import TableScorer, fk_resolver, table_key, words
from airflow_aimod.core.budget import estimate_tokens
from airflow_aimod.core.schema import Catalog, Column, Table
from airflow_aimod.exceptions import ConfigurationError

SEED_CUTOFF = 0.25
"""A table is a candidate when it scores at least this fraction of the best table's score."""
NOVELTY_CUTOFF = 0.5
"""Below this fraction of the best score, a candidate must match a new question word or join a chosen table."""
WEAK_MATCH_TABLES = 3
"""At most this many tables when no question word matched exactly (only synonyms or prefixes)."""

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
        scorer = TableScorer(catalog, question)
        return self._trim(replace(catalog, tables=tuple(self._choose(scorer))), scorer.terms)

    def fit(self, question: str, catalog: Catalog) -> Catalog:
        """``catalog`` (e.g. a selection after ``with_samples``) trimmed to ``max_tokens``, tables in order."""
        if self._fits(catalog):
            return catalog
        return self._trim(catalog, TableScorer(catalog, question).terms)

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

    def _choose(self, scorer: TableScorer) -> list[Table]:
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
    def _adds_nothing(scorer: TableScorer, seed: str, chosen: list[str], best: float) -> bool:
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


def _prune_foreign_keys(tables: list[Table]) -> list[Table]:
    """Drop foreign keys pointing outside ``tables`` (the prompt cannot join to them)."""
    resolve = fk_resolver(tables)
    out = []
    for t in tables:
        kept = tuple(fk for fk in t.foreign_keys if resolve(t, fk.ref_table) is not None)
        out.append(t if kept == t.foreign_keys else replace(t, foreign_keys=kept))
    return out


def _essential(table: Table, tables: list[Table], terms: dict[str, float]) -> set[str]:
    """Columns never trimmed before tables are: keys, join columns and columns the question names."""
    keep = {c.name for c in table.columns if c.primary_key} | {fk.column for fk in table.foreign_keys}
    resolve = fk_resolver(tables)
    for other in tables:
        keep |= {fk.ref_column for fk in other.foreign_keys if resolve(other, fk.ref_table) == table_key(table)}
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


"""The schema's vocabulary: which question words can mean which table, column or value.

Built from the live catalog only: table and column names (split and stemmed), the
sample values of low-cardinality columns, and generic measure concepts ("revenue" →
money-like numeric columns, or quantity × price when the schema only has those).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from airflow_aimod.core.llm.offline.nl2sql._text import (
    CONCEPT_PARTS, CONCEPT_WORDS, GENERIC_PARTS, LABEL_PARTS, QUANTITY_PARTS, STOP, SYNONYMS, Token, abbreviates,
    abbreviation_like, expanded, singular, split_identifier, stem, tokenize,
)
from airflow_aimod.core.schema import Catalog, Column, Table

_DATE_SUFFIXES = ("date", "at", "on", "time", "timestamp", "day")
_FLAG_PREFIXES = ("is", "has", "can")
_FLAG_WORDS = ("active", "enabled", "deleted", "archived", "verified", "available", "valid", "visible", "published",
               "flagged", "current", "paid", "discontinued", "cancelled", "canceled", "completed", "subscribed")


@dataclass(frozen=True)
class Target:
    """One thing a phrase may mean. ``derived``: ``column`` × ``other`` (quantity × price)."""

    kind: str
    table: str
    column: str | None = None
    value: Any = None
    score: float = 1.0
    other: str | None = None
    concept: str | None = None
    agg: str | None = None  # learned from verified examples: the aggregate the phrase implies
    learned: bool = False

    @property
    def ident(self) -> tuple:
        return self.kind, self.table, self.column, self.value, self.other

    def describe(self) -> str:
        if self.kind == "table":
            return self.table
        if self.kind == "derived":
            return f"{self.table}.{self.column} * {self.table}.{self.other}"
        suffix = f" = {self.value!r}" if self.kind in ("value", "flag") else ""
        return f"{self.table}.{self.column}{suffix}"


def parts_of(name: str) -> list[str]:
    return [stem(p) for p in split_identifier(name)]


def is_date(column: Column) -> bool:
    """Typed as a date, or text named like one ('created_at', 'order_date')."""
    if column.kind == "date":
        return True
    parts = split_identifier(column.name)
    return column.kind == "text" and bool(parts) and parts[-1] in _DATE_SUFFIXES


def is_flag(column: Column) -> bool:
    """Boolean columns, or integers named like flags ('active', 'is_deleted')."""
    parts = split_identifier(column.name)
    if column.kind == "bool":
        return True
    if column.kind != "number" or not parts:
        return False
    participle = parts[-1].endswith("ed") and not parts[-1].endswith("eed") and len(parts[-1]) > 4
    return parts[0] in _FLAG_PREFIXES or parts[-1] in _FLAG_WORDS or participle


def is_key(table: Table, column: Column) -> bool:
    """Primary or foreign key columns (reached through their tables, never as attributes)."""
    if any(fk.column.lower() == column.name.lower() for fk in table.foreign_keys):
        return True
    parts = split_identifier(column.name)
    sole_key = column.primary_key and sum(c.primary_key for c in table.columns) == 1
    return sole_key or parts == ["id"] or (parts[-1:] == ["id"] and column.kind == "number")


class Lexicon:
    """Phrase → targets index over one catalog."""

    def __init__(self, catalog: Catalog, learned: Sequence[Any] = ()) -> None:
        self.catalog = catalog
        self.entries: dict[tuple[str, ...], list[Target]] = defaultdict(list)
        self.conflicts: dict[tuple[str, ...], tuple[Target, list[Target]]] = {}
        for table in catalog.tables:
            self._add_table(table)
        for entry in learned:
            self._add_learned(entry)
        self.max_len = max((len(k) for k in self.entries), default=1)

    def _add_learned(self, entry: Any) -> None:
        """A phrase verified examples taught (``phrase``, ``table``, ``column``, ``agg``). When the schema
        itself reads the phrase otherwise, the two readings conflict: kept apart so the engine can abstain."""
        table = self.catalog.table(entry.table)
        if table is None or (entry.column and table.column(entry.column) is None):
            return
        key = tuple(t.stem for t in tokenize(entry.phrase) if t.kind in ("word", "num"))
        kind = "column" if entry.column else "table"
        target = Target(kind, table.name, table.column(entry.column).name if entry.column else None, score=0.9,
                        agg=entry.agg, learned=True)
        if not key:
            return
        own = [t for t in self.entries.get(key, ()) if not t.learned]
        if own and all((t.table, t.column) != (target.table, target.column) for t in own):
            self.conflicts[key] = (target, own)
        elif not own:
            self._add(list(key), target)

    def _add(self, key: list[str], target: Target) -> None:
        if key and target.ident not in {t.ident for t in self.entries[tuple(key)]}:
            self.entries[tuple(key)].append(target)

    def _add_table(self, table: Table) -> None:
        parts = parts_of(table.name)
        self._add(parts, Target("table", table.name))
        if len(parts) > 1:
            self._add(parts[-1:], Target("table", table.name, score=0.8))
        for column in table.columns:
            if not is_key(table, column):
                self._add_column(table, parts, column)
            self._add_values(table, column)

    def _add_column(self, table: Table, tparts: list[str], column: Column) -> None:
        parts = parts_of(column.name)
        if is_flag(column):
            self._add_flag(table, parts, column)
            return
        target = Target("column", table.name, column.name)
        self._add(parts, target)
        for prefix in (tparts, tparts[-1:]):
            if parts[:len(prefix)] != prefix:
                self._add(prefix + parts, target)
        for index, part in enumerate(parts):
            if len(parts) == 1 or part in GENERIC_PARTS or part in tparts or part in STOP:
                continue
            self._add([part], replace(target, score=0.8 if index == len(parts) - 1 else 0.7))
            self._add(tparts[-1:] + [part], replace(target, score=0.9))

    def _add_flag(self, table: Table, parts: list[str], column: Column) -> None:
        """'active' → active is true; 'inactive' / 'non-active' → false."""
        raw = [p for p in split_identifier(column.name) if p not in _FLAG_PREFIXES] or split_identifier(column.name)
        for key in (parts, [stem(raw[-1])]):
            self._add(key, Target("flag", table.name, column.name, value=True))
        for prefix in ("in", "un", "non"):
            self._add([stem(prefix + raw[-1])], Target("flag", table.name, column.name, value=False))
            self._add([prefix, stem(raw[-1])], Target("flag", table.name, column.name, value=False))

    def _add_values(self, table: Table, column: Column) -> None:
        for value in column.samples:
            if not isinstance(value, str) or column.kind not in ("text", "other"):
                continue
            words = [t for t in tokenize(value) if t.kind in ("word", "num")]
            key = [t.stem for t in words]
            if key and len(key) <= 6 and not all(t.text in STOP for t in words):
                self._add(key, Target("value", table.name, column.name, value=value, score=0.9))

    def match(self, tokens: list[Token], i: int) -> tuple[int, list[Target]]:
        """The longest phrase at ``i`` naming something in the schema, with its targets."""
        keys = []
        for token in tokens[i:i + self.max_len]:
            if token.kind not in ("word", "num"):
                break
            keys.append(token.stem)
        stop = bool(keys) and tokens[i].text in STOP
        for n in range(len(keys), 0, -1):
            if n == 1 and stop:
                break
            hits = list(self.entries.get(tuple(keys[:n]), ()))
            if n > 1:
                hits += [replace(t, score=t.score * 0.95) for t in self.entries.get(("".join(keys[:n]),), ())]
            hits = [_value_fit(t, tokens[i:i + n]) for t in hits]
            if n == 1 and hits and max(t.score for t in hits) < 0.9:
                hits += self._indirect(keys[0])
            if hits:
                return n, hits
        return (1, self._indirect(keys[0])) if keys and not stop else (0, [])

    def _indirect(self, word: str) -> list[Target]:
        """Targets reached through a generic synonym or a measure concept."""
        hits = [replace(t, score=t.score * 0.75) for alt in sorted(SYNONYMS.get(word, ()))
                for t in self.entries.get((alt,), ()) if t.kind in ("table", "column")]
        for concept, words in CONCEPT_WORDS.items():
            if word in words:
                hits += self.concept_targets(concept)
        if not hits:
            hits = [replace(t, score=t.score * 0.85) for part in self._abbreviations if abbreviates(part, word)
                    for t in self.entries.get((part,), ()) if t.kind in ("table", "column")]
        if not hits:
            hits = [replace(t, score=t.score * 0.8) for part in self._short_keys if truncates(part, word)
                    for t in self.entries.get((part,), ()) if t.kind in ("table", "column")]
        return hits

    @cached_property
    def _abbreviations(self) -> tuple[str, ...]:
        """One-word keys that look like abbreviations ('acct', 'qty', 'hrs', 'inv')."""
        return tuple(sorted(k[0] for k in self.entries if len(k) == 1 and abbreviation_like(k[0])))

    @cached_property
    def _short_keys(self) -> tuple[str, ...]:
        """One-word keys of 3–4 letters that may be a truncated word ('pub', 'repl', 'temp')."""
        return tuple(sorted(k[0] for k in self.entries if len(k) == 1 and 3 <= len(k[0]) <= 4 and k[0].isalpha()
                            and k[0] not in GENERIC_PARTS))

    def word_columns(self, word: str) -> list[Target]:
        """Column targets one word (a stem) may name, directly or through an abbreviation ('count' → 'pageCnt')."""
        direct = [t for t in self.entries.get((word,), ()) if t.kind == "column"]
        return direct or [t for t in self._indirect(word) if t.kind == "column"]

    def concept_targets(self, concept: str) -> list[Target]:
        """Columns realising ``concept``; a price word with no price-like column means the one money-like
        column when exactly one fits ('price' for the only ``*_amt`` column); with several it stays unread."""
        found = list(self._concepts[concept])
        money = [t for t in self._concepts["money"] if t.kind == "column"]
        if not found and concept == "price" and len(money) == 1:
            found = [replace(money[0], score=money[0].score * 0.85)]
        return found

    def values_equal(self, text: str) -> list[Target]:
        """Sampled values spelled ``text`` (any case), wherever they are."""
        wanted = text.strip().lower()
        return [Target("value", t.name, c.name, value=s, score=0.9) for t in self.catalog.tables for c in t.columns
                for s in c.samples if isinstance(s, str) and s.lower() == wanted]

    def quantity_targets(self) -> list[Target]:
        """Numeric columns counting units ('quantity', 'qty')."""
        return [Target("column", t.name, c.name, score=0.8) for t in self.catalog.tables for c in t.columns
                if c.kind == "number" and not is_key(t, c) and set(split_identifier(c.name)) & QUANTITY_PARTS]

    @cached_property
    def _concepts(self) -> dict[str, tuple[Target, ...]]:
        found: dict[str, list[Target]] = {c: [] for c in CONCEPT_PARTS}
        for table in self.catalog.tables:
            numeric = [c for c in table.columns if c.kind == "number" and not is_key(table, c)]
            for column in numeric:
                parts = expanded(split_identifier(column.name))
                for concept, wanted in CONCEPT_PARTS.items():
                    if set(parts) & wanted:
                        score = 0.85 if parts[-1] in wanted else 0.75
                        found[concept].append(Target("column", table.name, column.name, score=score, concept=concept))
            found["money"] += self._derived(table, numeric)
        return {k: tuple(v) for k, v in found.items()}

    @staticmethod
    def _derived(table: Table, numeric: list[Column]) -> list[Target]:
        """quantity × price, when a table has both (e.g. line items)."""
        qty = [c for c in numeric if set(split_identifier(c.name)) & QUANTITY_PARTS]
        price = [c for c in numeric if set(split_identifier(c.name)) & CONCEPT_PARTS["price"]]
        if not qty or not price:
            return []
        return [Target("derived", table.name, qty[0].name, other=price[0].name, score=0.7, concept="money")]


def truncates(part: str, word: str) -> bool:
    """``part`` is ``word`` cut short ('pub' → 'publication', 'repl' → 'replacement'): at least 3 letters more."""
    return len(word) >= len(part) + 3 and word.startswith(part)


def _value_fit(target: Target, tokens: list[Token]) -> Target:
    """Values spelled as in the question (up to a plural) beat values that only share a stem."""
    if target.kind != "value":
        return target
    said = " ".join(singular(t.text) for t in tokens)
    stored = " ".join(singular(t.text) for t in tokenize(str(target.value)))
    return target if said == stored else replace(target, score=0.8)


def label_columns(table: Table) -> list[str]:
    """Columns naming a row: 'name', '*_name', 'title'… (at most two)."""
    found = [c.name for c in table.columns
             if c.kind == "text" and not is_key(table, c) and set(split_identifier(c.name)) & set(LABEL_PARTS)]
    exact = [n for n in found if n.lower() in LABEL_PARTS]
    return (exact or found)[:2]


def date_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if is_date(c)]


def primary_key(table: Table) -> str | None:
    pk = [c.name for c in table.columns if c.primary_key]
    if len(pk) == 1:
        return pk[0]
    return next((c.name for c in table.columns if c.name.lower() == "id"), None)

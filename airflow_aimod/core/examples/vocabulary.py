"""What verified examples teach about words: the warehouse's jargon mapped to its schema elements.

A verified example (a question and the SQL a person approved, checked against the live schema)
says which schema elements the question meant. Words of the question that the schema's own
vocabulary does not read ("turnout", "box office", "acts") are aligned with the elements the SQL
uses that the question did not name (``gigs.tickets_sold``, ``SUM(gigs.gross_amt)``, the table
``artists``). An alignment is only made when it is forced: one unread phrase and one unnamed
element left in an example, after the alignments already learned are taken out (columns before
tables: a column implies its table). Examples are revisited until nothing more is learned, so
"average takings per show" teaches "show" once "takings" is known from another example. A phrase
two examples align with different elements is a conflict: it is not learned, and it is reported.

The result is scoped by the caller to one connection and schema fingerprint (``VocabularyCache``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from airflow_aimod.core.llm.offline.nl2sql._lexicon import (
    Lexicon,
    is_date,
    is_key,
    label_columns,
)
from airflow_aimod.core.llm.offline.nl2sql._scan import Item, scan
from airflow_aimod.core.llm.offline.nl2sql._text import (
    AUXILIARIES,
    IRREGULAR_PAST,
    TOLERATED,
    tokenize,
)
from airflow_aimod.core.schema import Catalog

_AGGS = {exp.Sum: "sum", exp.Avg: "avg", exp.Max: "max", exp.Min: "min", exp.Count: "count"}
_MAX_PHRASE_WORDS = 3
_SAID = ""  # the question itself asked for an aggregate or a ranking: the example says nothing of one
_TODAY = date(2000, 1, 1)  # dates only decide which words are dates, never what they mean here


@dataclass(frozen=True)
class Learned:
    """``phrase`` means ``table`` (``column`` None) or ``table.column``; ``agg``: the aggregate the
    examples applied when their question said none ('wage bill' → SUM(salary))."""

    phrase: str
    table: str
    column: str | None = None
    agg: str | None = None
    support: int = 1

    def element(self) -> str:
        name = f"{self.table}.{self.column}" if self.column else self.table
        return f"{self.agg.upper()}({name})" if self.agg else name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Vocabulary:
    """Learned word → element mappings, and what could not be learned (conflicts, unusable examples)."""

    entries: list[Learned] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.entries]

    def words(self) -> list[str]:
        """The words of the learned phrases: words of this warehouse, for the router."""
        return sorted({w for e in self.entries for w in e.phrase.lower().split()})


@dataclass
class _Evidence:
    phrases: list[tuple[str, ...]]  # stems of the unread phrases
    spelled: dict[tuple[str, ...], str]  # stems → as written
    columns: dict[tuple[str, str], str | None]  # unnamed (table, column) → implied aggregate
    tables: list[str]  # unnamed tables, when no column is left to explain a phrase


def learn(pairs: Iterable[tuple[str, str]], catalog: Catalog, *, dialect: str = "sqlite") -> Vocabulary:
    """The vocabulary that the verified ``(question, sql)`` ``pairs`` teach over ``catalog``."""
    vocabulary, evidence = Vocabulary(), []
    lexicon = Lexicon(catalog)
    for question, sql in pairs:
        found = _evidence(question, sql, catalog, lexicon, dialect)
        if isinstance(found, str):
            vocabulary.skipped.append(f"{question[:80]!r}: {found}")
        elif found.phrases:
            evidence.append(found)
    votes = _align(evidence)
    for seen in votes.values():
        elements = {(t, c) for t, c, _, _ in seen}
        if len(elements) > 1:
            named = " / ".join(sorted(f"{t}.{c}" if c else t for t, c in elements))
            vocabulary.conflicts.append(f"{seen[0][3]!r} was aligned with {named} by different examples: not learned")
            continue
        (table, column), = elements
        aggs = {a for _, _, a, _ in seen if a != _SAID}  # the examples that asked for no aggregate decide
        vocabulary.entries.append(Learned(seen[0][3], table, column, aggs.pop() if len(aggs) == 1 else None,
                                          len(seen)))
    vocabulary.entries.sort(key=lambda e: e.phrase)
    return vocabulary


def _align(evidence: list[_Evidence]) -> dict[tuple[str, ...], list[tuple]]:
    """Forced alignments, revisiting the examples until nothing changes; then every example votes on each
    learned phrase it holds, so a phrase two examples read differently shows up as a conflict."""
    learned: dict[tuple[str, ...], tuple] = {}
    changed = True
    while changed:
        changed = False
        for ev in evidence:
            for phrase, element in _forced(ev, learned).items():
                if phrase not in learned:
                    learned[phrase], changed = element, True
    votes: dict[tuple[str, ...], list[tuple]] = {}
    for ev in evidence:
        for phrase in ev.phrases:
            if phrase in learned:
                others = {p: e for p, e in learned.items() if p != phrase}
                for element in _forced(ev, others).values():
                    votes.setdefault(phrase, []).append((*element, ev.spelled[phrase]))
    return votes


def _forced(ev: _Evidence, learned: Mapping[tuple[str, ...], tuple]) -> dict[tuple[str, ...], tuple]:
    """The one alignment ``ev`` forces once its ``learned`` phrases and their elements are taken out, if any
    (an element keeps other words: 'acts' and 'bands' may both mean ``artists``)."""
    known = {learned[p][:2] for p in ev.phrases if p in learned}
    phrases = [p for p in ev.phrases if p not in learned]
    columns = [c for c in ev.columns if c not in known]
    tables = [t for t in ev.tables if (t, None) not in known]
    if len(phrases) != 1:
        return {}
    if len(columns) == 1:
        return {phrases[0]: (*columns[0], ev.columns[columns[0]])}
    if not columns and len(tables) == 1:
        return {phrases[0]: (tables[0], None, None)}
    return {}


def _evidence(question: str, sql: str, catalog: Catalog, lexicon: Lexicon, dialect: str) -> _Evidence | str:
    try:
        tree = qualify(sqlglot.parse_one(sql, read=dialect), schema=_schema(catalog), dialect=dialect,
                       validate_qualify_columns=False, quote_identifiers=False)
    except Exception as exc:  # noqa: BLE001 - an example that does not fit is skipped and reported, never fatal
        return f"its SQL does not parse against the live schema ({str(exc).splitlines()[0][:120]})"
    aliases = {t.alias_or_name.lower(): t.name for t in tree.find_all(exp.Table)}
    if any(catalog.table(name) is None for name in aliases.values()):
        return "its SQL reads a table the live schema lacks"
    items, _ = scan(question, lexicon, _TODAY)
    phrases, spelled = _unread(question, items)
    named_tables, named_columns = _named(items)
    has_date = any(it.kind == "date" for it in items)
    said_agg = any(it.kind == "mark" and it.mark.startswith(("agg:", "rank:")) for it in items)
    joins = {(aliases.get(c.table.lower(), c.table), c.name) for j in tree.find_all(exp.Join)
             for c in j.find_all(exp.Column)}
    columns: dict[tuple[str, str], str | None] = {}
    for node in tree.find_all(exp.Column):
        table = catalog.table(aliases.get(node.table.lower(), node.table)) if node.table else None
        column = table.column(node.name) if table is not None else None
        if column is None or (table.name, column.name) in joins | named_columns or is_key(table, column):
            continue
        if column.name in label_columns(table) or (has_date and is_date(column)):
            continue
        agg = next((name for kind, name in _AGGS.items() if isinstance(node.find_ancestor(*_AGGS), kind)), None)
        columns[(table.name, column.name)] = _SAID if said_agg else agg
    used = list(dict.fromkeys(aliases.values()))
    hosts = {t for t, _ in named_columns}
    tables = [t for t in used if t not in named_tables and t not in hosts]
    if not tables and used and used[0] not in named_tables:
        tables = [used[0]]
    return _Evidence(phrases, spelled, columns, tables)


def _unread(question: str, items: list[Item]) -> tuple[list[tuple[str, ...]], dict[tuple[str, ...], str]]:
    """Runs of adjacent nouns the schema did not read; words in verb position ('which bands *play* jazz',
    'concerts *took* place') end a run and are left out, unless nothing else is unread."""
    tokens = tokenize(question)
    refs: set[int] = set()
    positions: dict[str, list[int]] = {"word": [], "verb": []}
    cursor = 0
    for item in items:
        index = next((i for i in range(cursor, len(tokens)) if tokens[i].text == item.text.split()[0]), None)
        if index is None:
            continue
        cursor = index + 1
        if item.is_ref:
            refs.add(index)
        elif item.kind in ("word", "tolerated"):
            verb = item.kind == "tolerated" or _verb_like(tokens[index].text, tokens[index].stem)
            positions["verb" if verb else "word"].append(index)
    for index in list(positions["word"]):  # a word right before a schema reference, after a noun: a verb
        if index + 1 in refs and index - 1 in positions["word"]:
            positions["word"].remove(index)
    chosen = positions["word"] or positions["verb"]
    runs: list[list[int]] = []
    for index in chosen:
        if runs and runs[-1][-1] == index - 1 and len(runs[-1]) < _MAX_PHRASE_WORDS:
            runs[-1].append(index)
        else:
            runs.append([index])
    keys = [tuple(tokens[i].stem for i in run) for run in runs]
    return keys, {key: " ".join(tokens[i].text for i in run) for key, run in zip(keys, runs)}


def _verb_like(word: str, stem: str) -> bool:
    return word in IRREGULAR_PAST or word in AUXILIARIES or stem in TOLERATED or (word.endswith("ed") and len(word) > 4)


def _named(items: list[Item]) -> tuple[set[str], set[tuple[str, str]]]:
    tables, columns = set(), set()
    for item in items:
        for target in item.targets if item.is_ref else ():
            if target.kind == "table":
                tables.add(target.table)
            else:
                columns |= {(target.table, c) for c in (target.column, target.other) if c}
    return tables, columns


def _schema(catalog: Catalog) -> dict[str, dict[str, str]]:
    return {t.name: {c.name: "TEXT" if c.kind == "text" else "DOUBLE" for c in t.columns} for t in catalog.tables}


class VocabularyCache:
    """Vocabularies learned per (connection, schema fingerprint, examples): relearned only when one changes."""

    def __init__(self, size: int = 64) -> None:
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, conn_id: str, fingerprint: str, pairs: Sequence[tuple[str, str]],
            catalog: Catalog | Callable[[], Catalog], *, dialect: str = "sqlite") -> Vocabulary:
        """``catalog``: the live catalog with its stored values (a value in a question is no unread word), or
        a function returning it, called only when the vocabulary must be learned."""
        key = (conn_id, fingerprint, tuple(pairs))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        vocabulary = learn(pairs, catalog if isinstance(catalog, Catalog) else catalog(), dialect=dialect)
        with self._lock:
            self._items[key] = vocabulary
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return vocabulary


def lexicon_entries(vocabulary: Sequence[Mapping[str, Any]]) -> list[Learned]:
    """``Learned`` entries from their JSON form (a prompt context); malformed ones are dropped."""
    found = []
    for entry in vocabulary or ():
        try:
            found.append(Learned(str(entry["phrase"]), str(entry["table"]), entry.get("column") or None,
                                 entry.get("agg") or None))
        except (KeyError, TypeError, AttributeError):
            continue
    return found

"""Reuse a verified query for a new question of the same shape, with the new question's literals.

A question's *shape* is its words with the literals taken out: numbers, ISO dates, quoted
text and phrases equal to a stored value of a column. Two questions of the same shape ask the
same thing about different literals, so the verified SQL is re-bound: each old literal in it
(a value, a number, a year inside a date) becomes the new one. Nothing is reused when the
shapes differ, when a new value is not a value of the same column, when an old literal does
not appear in the SQL, or when the result names a table or column the live catalog lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from airflow_aimod.core.llm.offline.nl2sql._text import tokenize
from airflow_aimod.core.schema import Catalog

_MAX_VALUE_WORDS = 4
# Only words that never change what is asked are left out of a shape; prepositions stay ('to' ≠ 'from').
_FILLER = frozenset("a an the please our my your me us show list give tell what is are was were".split())


@dataclass(frozen=True)
class Literal:
    kind: str  # "num", "date", "value"
    text: str  # as stored (a value's spelling in the data) or as written (numbers, dates)
    column: str = ""  # table.column for values


def shape(question: str, catalog: Catalog) -> tuple[tuple[str, ...], tuple[Literal, ...]]:
    """The question's words without its literals (slots instead), and the literals in order."""
    values = _values(catalog)
    tokens = tokenize(question)
    words: list[str] = []
    literals: list[Literal] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        hit = _value_at(tokens, i, values)
        if hit:
            size, stored, column = hit
            words.append("<value>")
            literals.append(Literal("value", stored, column))
            i += size
            continue
        if token.kind in ("num", "date", "quoted"):
            words.append(f"<{token.kind}>")
            literals.append(Literal("value" if token.kind == "quoted" else token.kind, str(token.value or token.raw)))
        elif token.kind == "word" and token.text not in _FILLER:
            words.append(token.stem)
        i += 1
    return tuple(words), tuple(literals)


def rebind(example_question: str, example_sql: str, question: str, catalog: Catalog, *,
           dialect: str = "sqlite") -> str | None:
    """The example's SQL with ``question``'s literals, or None when it cannot be reused safely."""
    old_shape, old = shape(example_question, catalog)
    new_shape, new = shape(question, catalog)
    if old_shape != new_shape or len(old) != len(new):
        return None
    if any(a.kind != b.kind or (a.kind == "value" and a.column and a.column != b.column) for a, b in zip(old, new)):
        return None
    try:
        tree = sqlglot.parse_one(example_sql, read=dialect)
    except sqlglot.errors.ParseError:
        return None
    for before, after in zip(old, new):
        if before.text != after.text and not _replace(tree, before, after):
            return None
    return tree.sql(dialect=dialect) if fits(tree, catalog) else None


def fits(tree: exp.Expression, catalog: Catalog) -> bool:
    """Every table the query reads is in the catalog, and every column is in one of those tables."""
    tables = [catalog.table(t.name) for t in tree.find_all(exp.Table)]
    if not tables or any(t is None for t in tables):
        return False
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    names = {c.name.lower() for t in tables for c in t.columns} | ctes
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    return all(c.name.lower() in names or c.name.lower() in aliases or c.name == "*"
               for c in tree.find_all(exp.Column))


def _replace(tree: exp.Expression, before: Literal, after: Literal) -> bool:
    """Swap ``before`` for ``after`` in every literal of ``tree``; a year also inside ISO dates."""
    found = False
    for node in list(tree.find_all(exp.Literal)):
        text = node.this
        if node.is_string and text == before.text:
            node.replace(exp.Literal.string(after.text))
        elif not node.is_string and before.kind == "num" and text == before.text:
            node.replace(exp.Literal.number(after.text))
        elif node.is_string and _is_year(before) and _is_year(after) and text.startswith(before.text + "-"):
            node.replace(exp.Literal.string(after.text + text[len(before.text):]))
        else:
            continue
        found = True
    return found


def _is_year(literal: Literal) -> bool:
    return literal.kind == "num" and literal.text.isdigit() and len(literal.text) == 4


def _values(catalog: Catalog) -> dict[tuple[str, ...], list[tuple[str, str]]]:
    """Stored text values by their lower-case words → [(stored spelling, table.column)]."""
    found: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for table in catalog.tables:
        for column in table.columns:
            for value in column.samples:
                if isinstance(value, str):
                    key = tuple(t.text for t in tokenize(value))
                    if 0 < len(key) <= _MAX_VALUE_WORDS:
                        found.setdefault(key, []).append((value, f"{table.name}.{column.name}"))
    return found


def _value_at(tokens, i: int, values) -> tuple[int, str, str] | None:
    for size in range(min(_MAX_VALUE_WORDS, len(tokens) - i), 0, -1):
        key = tuple(t.text for t in tokens[i:i + size])
        hits = values.get(key, [])
        if size == 1 and key[0] in _FILLER:
            continue
        if len(hits) == 1:
            return size, hits[0][0], hits[0][1]
        if hits:  # the same spelling in several columns: a slot whose column is unknown
            return size, hits[0][0], ""
    return None

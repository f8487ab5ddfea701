"""Shared by the NL→SQL tests: a catalog read from a SQLite file, and answer-checking helpers."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import date
from pathlib import Path

from airflow_aimod.core.llm.offline.nl2sql.composer import SqlComposer
from airflow_aimod.core.schema import Catalog, Column, ForeignKey, Table

TODAY = date(2024, 12, 15)
COMPOSER = SqlComposer()


def catalog_from_sqlite(path: Path, max_distinct: int = 30) -> Catalog:
    """A small stand-in for the real introspector: tables, columns, keys, samples of low-cardinality text."""
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        return Catalog("sqlite", tuple(_table(con, name, max_distinct) for name in names))
    finally:
        con.close()


def _table(con: sqlite3.Connection, name: str, max_distinct: int) -> Table:
    columns = []
    for _, cname, ctype, notnull, _, pk in con.execute(f'PRAGMA table_info("{name}")'):
        column = Column(cname, ctype, not notnull, bool(pk))
        if column.kind == "text":
            distinct = con.execute(f'SELECT COUNT(DISTINCT "{cname}") FROM "{name}"').fetchone()[0]
            samples = () if distinct > max_distinct else tuple(r[0] for r in con.execute(
                f'SELECT "{cname}" FROM "{name}" WHERE "{cname}" IS NOT NULL GROUP BY 1 ORDER BY COUNT(*) DESC, 1'))
            column = Column(cname, ctype, not notnull, bool(pk), samples, distinct)
        columns.append(column)
    fks = tuple(ForeignKey(r[3], r[2], r[4]) for r in con.execute(f'PRAGMA foreign_key_list("{name}")'))
    count = con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
    return Table(name, tuple(columns), foreign_keys=fks, row_count=count)


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def same_rows(got: list, want: list, ordered: bool) -> bool:
    if not ordered:
        got, want = sorted(got, key=repr), sorted(want, key=repr)
    return len(got) == len(want) and all(len(g) == len(w) and all(map(_close, g, w)) for g, w in zip(got, want))


def answer(question: str, catalog: Catalog, **kwargs) -> dict:
    out = COMPOSER.compose(question, catalog, today=TODAY, **kwargs)
    json.dumps(out)  # JSON-safe
    return out


def check(db: sqlite3.Connection, catalog: Catalog, question: str, reference: str, ordered: bool) -> dict:
    out = answer(question, catalog)
    assert out["sql"], f"{question!r} refused: {out['refusal']}"
    got = db.execute(out["sql"]).fetchall()
    want = db.execute(reference).fetchall()
    assert want, f"reference for {question!r} returns nothing; the case tests nothing"
    assert same_rows(got, want, ordered), f"{question!r}\n  composed: {out['sql']}\n  got {got[:5]}\n  want {want[:5]}"
    return out

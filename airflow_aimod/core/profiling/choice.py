"""Which table a profiling request is about: the one named, or the best match in the live schema.

A table fits a request when one of the request's own words (not a synonym or a prefix) is a
word of the table's name; among those, ``_table_scoring.TableScorer`` ranks (``orders`` beats
``order_items`` for "profile the orders table"). No fit, a tie, or a request that reads like a
write statement gives a refusal that says what to do instead.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from airflow_aimod.core._table_scoring import TableScorer, table_key, words
from airflow_aimod.core.schema import Catalog, Table

PROFILING_WORDS = frozenset(words(
    "profile profiling table dataset data summary statistics stats quality overview look like null nulls "
    "distinct value values column columns type types describe check analyse analyze run report rows"))
_WRITE_STATEMENT = re.compile(r"^\s*(delete\s+from|drop\s+(table|view|schema)|truncate|update\s+\S+\s+set|"
                              r"insert\s+into|alter\s+table|create\s+table|grant|revoke)\b", re.I)


@dataclass(frozen=True)
class TableChoice:
    """The table chosen, or why none was (a refusal a person can act on)."""

    table: Table | None
    reason: str


def choose_table(catalog: Catalog, *, table: str | None = None, request: str = "") -> TableChoice:
    """The named ``table``, else the table ``request`` is about."""
    names = ", ".join(t.qualified_name for t in catalog.tables) or "none"
    if table is not None:
        found = catalog.table(table)
        if found is not None:
            return TableChoice(found, f"the table named: {found.qualified_name}")
        close = difflib.get_close_matches(table, [t.qualified_name for t in catalog.tables], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return TableChoice(None, f"the schema has no table {table!r}.{hint} Tables: {names}")
    if _WRITE_STATEMENT.search(request):
        return TableChoice(None, "the data profiler only reads: it never runs a statement that changes data; "
                                 "ask it to profile a table, e.g. 'profile the orders table'")
    return _from_request(catalog, request, names)


def _from_request(catalog: Catalog, request: str, names: str) -> TableChoice:
    scorer = TableScorer(catalog, request)
    direct = {t for t, weight in scorer.terms.items() if weight == 1.0} - PROFILING_WORDS
    fits = [k for k in scorer.ranked() if direct & scorer.features[k].name]
    said = request.lower().split()
    fits += [table_key(t) for t in catalog.tables if t.name.lower() in said and table_key(t) not in fits]
    if not fits:
        subject = " ".join(_subject_words(request)) or request.strip() or "(an empty request)"
        return TableChoice(None, f"the schema has no table for {subject!r}; tables: {names}")
    best = max(fits, key=lambda k: scorer.scores.get(k, 0.0))
    ties = [k for k in fits if k != best and scorer.scores.get(k, 0.0) == scorer.scores.get(best, 0.0)]
    if ties:
        options = ", ".join(scorer.tables[k].qualified_name for k in [best, *ties])
        return TableChoice(None, f"the request fits several tables equally ({options}); name the table")
    chosen = scorer.tables[best]
    return TableChoice(chosen, f"{chosen.qualified_name} matches {', '.join(sorted(direct & scorer.hits(best)))}")


def _subject_words(request: str) -> list[str]:
    """The request's words that are not about profiling itself (what the person wanted profiled)."""
    return [token for token in re.findall(r"[^\W_][\w]*", request)
            if (found := words(token)) and not set(found) <= PROFILING_WORDS]

"""The offline engine's NL→SQL skill: a deterministic semantic parser over the live catalog.

``SqlComposer.compose`` reads a question in three passes (``_scan``: phrases →
schema references and keywords; ``_reading`` and ``_roles``: roles;
``_plan``: tables, joins and query shape) and writes one SELECT. Everything it knows about the database
comes from the catalog passed in: names, types, sample values and foreign keys. When
the question needs something the schema does not have, or asks to change data, it
refuses and says why instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from airflow_aimod.core.llm.offline.nl2sql._joins import JoinGraph
from airflow_aimod.core.llm.offline.nl2sql._lexicon import Lexicon
from airflow_aimod.core.llm.offline.nl2sql._place import Infeasible
from airflow_aimod.core.llm.offline.nl2sql._plan import Planner
from airflow_aimod.core.llm.offline.nl2sql._reading import Reading, Refusal
from airflow_aimod.core.llm.offline.nl2sql._roles import interpret
from airflow_aimod.core.llm.offline.nl2sql._scan import Item, scan
from airflow_aimod.core.llm.offline.nl2sql._sql import Agg, Bucket, Col, Cond, Out, Product, Query, Renderer, Semi
from airflow_aimod.core.llm.offline.actions import requested_action
from airflow_aimod.core.llm.offline.nl2sql._text import DML_WORDS, split_identifier, stem, tokenize
from airflow_aimod.core.examples.reuse import rebind
from airflow_aimod.core.examples.vocabulary import lexicon_entries
from airflow_aimod.core.schema import Catalog

READ_ONLY = "read-only: I can only answer questions with SELECT queries"
_DIALECTS = {"postgresql": "postgres", "sqlite3": "sqlite"}
_MAX_EXAMPLES = 5  # verified examples tried for re-use, closest first
_POLITE = frozenset("please can could would will you kindly i we want need to let us lets go ahead and just now "
                    "quickly then also".split())
_MUTATING_PHRASE = re.compile(
    r"\b(delete\s+from|drop\s+(table|view|index|database|schema|column)|insert\s+into|update\s+\S+\s+set|"
    r"truncate\s+(table\s+)?\w+|alter\s+table|(create|add|replace)\s+(a\s+)?(new\s+)?"
    r"(table|view|index|database|schema|row|record|column|entry))\b", re.IGNORECASE)
_IMPERATIVE = DML_WORDS - {"create", "replace"} | {"change", "edit", "set", "reset", "destroy", "cancel"}
_ALWAYS_MUTATING = frozenset({"delete", "truncate", "insert", "alter", "grant", "revoke", "upsert", "purge"})


class SqlComposer:
    """Compose one read-only SELECT for a question, or refuse with a reason."""

    def __init__(self, *, max_tables: int | None = None) -> None:
        self.max_tables = max_tables

    def compose(self, question: str, catalog: Catalog, *, dialect: str = "sqlite", feedback: Sequence[str] = (),
                today: date | None = None, examples: Sequence[Mapping[str, Any]] = (),
                vocabulary: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        """JSON-safe answer: ``sql`` (None when refusing), ``confidence``, ``rationale``, ``refusal``…

        ``examples``: verified ``{"question", "sql"}`` pairs, closest first; one of the same shape as
        ``question`` is re-bound to its literals and answered instead of composing afresh.
        ``vocabulary``: phrases verified examples taught (``examples.vocabulary.learn``), read like the
        schema's own words; a phrase the schema reads otherwise makes the engine abstain.
        """
        learned = lexicon_entries(vocabulary)
        text = (question or "").strip()
        dialect = _DIALECTS.get(dialect.lower(), dialect.lower())
        today = today or date.today()
        feedback = [str(f) for f in feedback or () if str(f).strip()]
        try:
            _screen(text, catalog)
            if not feedback and (reused := _reuse(text, catalog, dialect, examples)) is not None:
                return reused
            if feedback:
                return self._repair(text, catalog, dialect, feedback, today, learned)
            return self._compose(text, catalog, dialect, today, self.max_tables, learned)
        except Refusal as exc:
            return _refusal(str(exc), feedback)
        except Exception as exc:  # noqa: BLE001 - a stand-in model must answer, never crash its caller
            return _refusal(f"the offline composer could not interpret this question ({type(exc).__name__}); "
                            "rephrase it or configure an LLM connection", feedback)

    def _repair(self, text: str, catalog: Catalog, dialect: str, feedback: list[str], today: date,
                learned: Sequence[Any] = ()) -> dict[str, Any]:
        """Recompose without what the validator rejected; refuse rather than repeat the same SQL."""
        restricted, max_tables = restrict(catalog, feedback)
        limits = [x for x in (max_tables, self.max_tables) if x is not None]
        try:
            previous = self._compose(text, catalog, dialect, today, self.max_tables, learned)["sql"]
        except Refusal:
            previous = None
        answer = self._compose(text, restricted, dialect, today, min(limits) if limits else None, learned)
        if answer["sql"] == previous:
            raise Refusal("the validator rejected my query and I have no different one to offer")
        answer["confidence"] = round(answer["confidence"] * 0.8, 2)
        answer["rationale"] += " Repaired after validator feedback: " + "; ".join(feedback)
        return answer

    def _compose(self, text: str, catalog: Catalog, dialect: str, today: date,
                 max_tables: int | None, learned: Sequence[Any] = ()) -> dict[str, Any]:
        lexicon = Lexicon(catalog, learned)
        items, tokens = scan(text, lexicon, today)
        graph = JoinGraph(catalog, frozenset(w for t in tokens if t.kind == "word" for w in (t.text, t.stem)))
        items = _with_learned(_roles_tolerated(items, graph), lexicon)
        reading = interpret(items, lexicon)
        planner = Planner(lexicon, graph, reading, max_tables=max_tables)
        try:
            query = planner.plan()
        except Infeasible as exc:
            raise Refusal(str(exc)) from None
        for edge in query.joins:
            if keys := graph.ambiguous_join(edge):
                named = set(split_identifier(edge.src)) | set(split_identifier(edge.dst)) | {"id"}
                roles = " / ".join(" ".join(p for p in split_identifier(k) if p not in named) or k for k in keys)
                raise Refusal(f"{edge.src} and {edge.dst} join two ways ({' or '.join(keys)}) and the question "
                              f"does not say which: name the role ({roles})")
        try:
            sql = Renderer(catalog, dialect).render(query)
        except ValueError as exc:
            raise Refusal(f"I could not write this in {dialect}: {exc}") from None
        interpretation = _interpretation(query, reading, planner, items)
        return {"sql": sql, "confidence": _confidence(items, reading, planner), "refusal": None,
                "rationale": _rationale(interpretation), "tables": query.tables(), "interpretation": interpretation}


def _roles_tolerated(items: list[Item], graph: JoinGraph) -> list[Item]:
    """A word naming the role of a role-named key picks a join and names no data: an unknown one ('origin'),
    or one the schema also spells in a column ('home' in home_goals) when it qualifies the referenced table
    ('the *home* team', 'by *destination* region')."""
    out = list(items)
    for k, item in enumerate(items):
        refs = graph.role_vocabulary.get(item.text) or graph.role_vocabulary.get(stem(item.text))
        if not refs or item.kind not in ("word", "ref"):
            continue
        nxt = items[k + 1] if k + 1 < len(items) else None
        qualifies = nxt is not None and nxt.is_ref and any(t.table in refs for t in nxt.targets)
        if item.kind == "word" or qualifies:
            out[k] = replace(item, kind="tolerated", targets=[])
    return out


def _with_learned(items: list[Item], lexicon: Lexicon) -> list[Item]:
    """Abstain on a phrase the examples and the schema read differently; a learned phrase that implies an
    aggregate ('box office' → SUM(gross_amt)) gets it when the question asks for no aggregate or ranking."""
    for item in items:
        key = tuple(t.stem for t in tokenize(item.text))
        if item.is_ref and key in lexicon.conflicts:
            taught, own = lexicon.conflicts[key]
            raise Refusal(f"{item.raw!r} may mean {taught.describe()} (taught by verified examples) or "
                          f"{' / '.join(t.describe() for t in own)} (the schema's own reading): say which")
    if any(it.kind == "mark" and it.mark.startswith(("agg:", "rank:")) for it in items):
        return items
    out: list[Item] = []
    for item in items:
        best = item.best() if item.is_ref else None
        if best is not None and best.learned and best.agg and not _has_agg(out):
            out.append(Item("mark", item.text, item.raw, mark=f"agg:{best.agg}"))
        out.append(item)
    return out


def _has_agg(items: list[Item]) -> bool:
    return any(it.kind == "mark" and it.mark.startswith("agg:") for it in items)


def _reuse(text: str, catalog: Catalog, dialect: str, examples: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The first verified example of the same shape, re-bound to this question's literals."""
    for example in list(examples)[:_MAX_EXAMPLES]:
        if not isinstance(example, Mapping) or not isinstance(example.get("sql"), str):
            continue
        sql = rebind(str(example.get("question", "")), example["sql"], text, catalog, dialect=dialect)
        if sql is not None:
            return {"sql": sql, "confidence": 0.9, "refusal": None, "tables": [],
                    "rationale": f"the same question as a verified example ({str(example['question'])[:200]!r}), "
                                 "re-bound to this question's values", "interpretation": {"example": True}}
    return None


def _screen(text: str, catalog: Catalog) -> None:
    """Refuse empty questions, requests to change data and instructions to act on the rows ('... and email
    them': an action verb that is also a column name is not a projection there) before reading anything else."""
    if not text:
        raise Refusal("the question is empty: ask something about the data")
    words = [t.text for t in tokenize(text) if t.kind == "word"]
    first = next((w for w in words if w not in _POLITE), "")
    if first in _IMPERATIVE or _ALWAYS_MUTATING & set(words) or _MUTATING_PHRASE.search(text):
        raise Refusal(READ_ONLY)
    entities = {part for table in catalog.tables for part in split_identifier(table.name)}
    if action := requested_action(text, entities):
        raise Refusal(f"the request asks me to act on the rows ({action!r}), which no read-only agent can do: "
                      "ask only for the data (a person or another tool must do the rest)")
    if not words:
        raise Refusal("this is not a question about the data: it has no words")


def restrict(catalog: Catalog, feedback: Sequence[str]) -> tuple[Catalog, int | None]:
    """The catalog without tables/columns the feedback rejects, and any table limit it states."""
    drop_tables, drop_columns, max_tables = set(), set(), None
    for message in feedback:
        head = message.split(":")[0]
        if m := re.search(r"touches (\d+) tables \(limit (\d+)\)", message):
            max_tables = int(m.group(2))
        for m in re.finditer(r"unknown table \"?([\w.]+)", head):
            drop_tables.add(m.group(1).split(".")[-1].lower())
        for m in re.finditer(r"unknown column '(\w+)'", head):
            drop_columns |= {(t.name.lower(), m.group(1).lower()) for t in catalog.tables}
        for m in re.finditer(r"\b(\w+)\.(\w+)\b", head):
            table = catalog.table(m.group(1))
            if table is not None and table.column(m.group(2)) is not None:
                drop_columns.add((table.name.lower(), m.group(2).lower()))
    tables = tuple(_without(t, drop_columns, drop_tables) for t in catalog.tables if t.name.lower() not in drop_tables)
    return replace(catalog, tables=tables), max_tables


def _without(table, drop_columns: set, drop_tables: set):
    columns = tuple(c for c in table.columns if (table.name.lower(), c.name.lower()) not in drop_columns)
    kept = {c.name.lower() for c in columns}
    fks = tuple(f for f in table.foreign_keys
                if f.column.lower() in kept and f.ref_table.split(".")[-1].lower() not in drop_tables
                and (f.ref_table.split(".")[-1].lower(), f.ref_column.lower()) not in drop_columns)
    return replace(table, columns=columns, foreign_keys=fks)


def _refusal(reason: str, feedback: Sequence[str]) -> dict[str, Any]:
    if feedback and "feedback" not in reason:
        reason += " (validator feedback: " + "; ".join(feedback) + ")"
    elif feedback:
        reason += ": " + "; ".join(feedback)
    return {"sql": None, "confidence": 0.0, "rationale": f"Refused: {reason}", "refusal": reason, "tables": [],
            "interpretation": {"shape": "refusal", "reason": reason}}


# ---- explanation ------------------------------------------------------------------------------------------
def describe(expr: Any) -> str:
    """Readable form of a query expression."""
    if isinstance(expr, Col):
        return f"{expr.table}.{expr.column}"
    if isinstance(expr, Product):
        return f"{describe(expr.left)} * {describe(expr.right)}"
    if isinstance(expr, Agg):
        inner = "*" if expr.arg is None else describe(expr.arg)
        return f"{expr.fn}({'DISTINCT ' if expr.distinct else ''}{inner})"
    if isinstance(expr, Bucket):
        return f"{expr.unit} of {describe(expr.col)}"
    return expr.name if isinstance(expr, Out) else str(expr)


def _describe_cond(cond: Cond | Semi) -> str:
    if isinstance(cond, Semi):
        inner = " AND ".join(_describe_cond(c) for c in cond.inner.where + cond.inner.having) or "any"
        return f"{describe(cond.outer)} {'NOT ' if cond.negate else ''}IN {cond.inner.base} where {inner}"
    values = ", ".join(repr(v) for v in cond.values)
    return f"{describe(cond.expr)} {cond.op} {values}".strip()


def _interpretation(query: Query, reading: Reading, planner: Planner, items: list[Item]) -> dict[str, Any]:
    grounded = [f"{it.raw} → {(it.best() or it.targets[0]).describe()}" for it in items if it.is_ref and it.targets]
    return {
        "shape": planner.shape,
        "measure": planner.chosen.label if planner.chosen else None,
        "group_by": [describe(e) for e in query.group],
        "filters": [_describe_cond(c) for c in query.where],
        "date_range": reading.dates.to_dict() if reading.dates else None,
        "order_by": [f"{describe(e)} {d}" for e, d in query.order],
        "limit": query.limit,
        "base_table": query.base,
        "joins": [f"{e.src}.{e.src_col} = {e.dst}.{e.dst_col}" for e in query.joins],
        "grounded": grounded,
        "notes": list(dict.fromkeys(reading.notes + planner.notes)),
    }


def _rationale(info: dict[str, Any]) -> str:
    parts = [f"{info['shape'].capitalize()} over {info['base_table']}"]
    if info["measure"]:
        parts.append(f"computing {info['measure']}")
    if info["group_by"]:
        parts.append("grouped by " + ", ".join(info["group_by"]))
    if info["filters"]:
        parts.append("where " + " AND ".join(info["filters"]))
    if info["joins"]:
        parts.append("joining " + ", ".join(info["joins"]))
    text = "; ".join(parts) + "."
    return text + (" Notes: " + "; ".join(info["notes"]) + "." if info["notes"] else "")


def _confidence(items: list[Item], reading: Reading, planner: Planner) -> float:
    """How much of the question was grounded, lowered for guesses and ambiguity."""
    grounded = sum(1 for it in items if it.kind in ("ref", "date", "cmp") or (it.kind == "mark" and it.role))
    tolerated = sum(1 for it in items if it.kind == "tolerated" or (it.kind == "mark" and not it.role))
    if grounded == 0:
        return 0.05
    score = 0.6 + 0.37 * grounded / (grounded + 0.5 * tolerated)
    notes = reading.notes + planner.notes
    score *= 0.8 ** sum("ambiguous" in n for n in notes)
    score *= 0.88 ** sum("ambiguous" not in n for n in notes)
    weak = [it for it in items if it.is_ref and it.role and (it.best() or it.targets[0]).score < 0.8]
    score *= 0.93 ** len(weak)
    if planner.shape == "aggregate" and reading.projection:
        score *= 0.85
    return round(max(0.05, min(0.97, score)), 2)

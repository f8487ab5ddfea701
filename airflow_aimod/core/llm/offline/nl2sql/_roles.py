"""Second pass of the offline NL→SQL composer: give every item of a question a role.

Roles: what is measured or counted, what it is grouped or ranked by, which values,
comparisons and dates filter it, and what a listing shows.
"""

from __future__ import annotations

from airflow_aimod.core.llm.offline.nl2sql._dates import Compare
from airflow_aimod.core.llm.offline.nl2sql._lexicon import Lexicon, is_date
from airflow_aimod.core.llm.offline.nl2sql._reading import (
    Reading, Refusal, column_of, is_measure, numeric_target, read_dates, read_unknown, read_values,
)
from airflow_aimod.core.llm.offline.nl2sql._scan import Item
from airflow_aimod.core.llm.offline.nl2sql._text import QUANTITY_PARTS, split_identifier, stem

_SOLD = stem("sold")


def interpret(items: list[Item], lexicon: Lexicon) -> Reading:
    """Assign roles; raise ``Refusal`` when the question cannot be grounded."""
    reading = Reading()
    reading.distinct = any(i.mark == "distinct" for i in items)
    reading.sold = any(i.kind == "tolerated" and stem(i.text) == _SOLD for i in items)
    for step in (read_values, read_unknown, read_dates, _read_groups, _read_which, _read_ranks, _read_aggs,
                 _read_absence, _read_compares, _read_rest, _read_leftovers):
        step(items, reading, lexicon)
    return reading


def _next(items: list[Item], k: int, skip_values: bool = False) -> int | None:
    """Index of the next meaningful item after ``k`` (tolerated words and 'distinct' skipped)."""
    for j in range(k + 1, len(items)):
        item = items[j]
        if item.kind == "tolerated" or item.mark == "distinct" or (skip_values and item.role == "filter"):
            continue
        return j
    return None


def _read_groups(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    for k, item in enumerate(items):
        if item.mark.startswith("unit:") and not item.role:
            reading.bucket, item.role = item.mark[5:], "used"
        if item.mark != "group":
            continue
        j = _next(items, k)
        target = items[j] if j is not None else None
        if target is None or target.role:
            continue
        if target.mark.startswith("unit:"):
            reading.bucket, target.role, item.role = target.mark[5:], "used", "used"
        elif is_measure(target, lexicon) and not _counted_by(items, k, target, lexicon):
            target.role, item.role = "measure", "used"
            reading.measure = reading.measure or target
        elif target.is_ref and not _filters_next(items, j):
            target.role, item.role = "dim", "used"
            reading.dims.append(target)


def _counted_by(items: list[Item], k: int, target: Item, lexicon: Lexicon) -> bool:
    """'students per grade level', 'number of courses by credits': an integer column after 'per' is a
    grouping when rows are being counted (a table right before 'per', or a count asked)."""
    best = target.best(("column",))
    if best is None or best.kind != "column" or best is not target.best(("table", "column", "derived")):
        return False
    column = column_of(best, lexicon)
    if "INT" not in (column.type or "").upper() or set(split_identifier(column.name)) & QUANTITY_PARTS:
        return False
    if any(i.mark.startswith(("rank:", "agg:")) and i.mark != "agg:count" for i in items):
        return False  # 'top 3 products by units', 'total sales by ...': a measure
    counting = any(i.mark == "agg:count" for i in items)
    return counting or (k > 0 and items[k - 1].is_ref and items[k - 1].top_kind == "table")


def _filters_next(items: list[Item], j: int) -> bool:
    """'placed by clients in Spain': the table is qualified by a value, so it is not a grouping."""
    nxt = items[j + 1] if j + 1 < len(items) else None
    tables = {t.table for t in items[j].targets if t.kind == "table"}
    return nxt is not None and nxt.role == "filter" and any(t.table in tables for t in nxt.targets)


def _read_which(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    asks_measure = any(i.mark.startswith(("rank:", "agg:")) for i in items)
    for k, item in enumerate(items):
        j = _next(items, k)
        if item.mark != "which" or j is None or j != k + 1:
            continue
        target = items[j]
        if asks_measure and target.is_ref and not target.role and not is_measure(target, lexicon):
            target.role = "dim"
            reading.dims.append(target)
        item.role = "used"


# Superlatives of size: they rank by a magnitude, so a non-numeric target cannot be read as a count.
SIZE_WORDS = frozenset("longest shortest heaviest lightest farthest furthest fastest slowest biggest largest "
                       "smallest tallest widest deepest".split())


def _read_ranks(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    for k, item in enumerate(items):
        if item.mark.startswith("recent:") and _year_column_next(items, k, lexicon):
            item.mark = "rank:" + item.mark[7:]  # 'the earliest publication year': rank by that year
        elif item.mark.startswith("recent:"):
            reading.recent = reading.recent or (item.mark[7:], item.n)
            item.role = "used"
        if not item.mark.startswith("rank:"):
            continue
        reading.rank = reading.rank or (item.mark[5:], item.n)
        item.role = "used"
        j = _next(items, k, skip_values=True)
        target = items[j] if j is not None else None
        if target is None or not target.is_ref or target.role:
            continue
        if is_measure(target, lexicon):
            target.role = "measure"
            reading.measure = reading.measure or target
        elif item.text in SIZE_WORDS and reading.measure is None:  # 'longest username' is a length, not a count
            # ('top 3 longest trips by distance' names its measure after 'by': the trips are ranked by it)
            raise Refusal(f"'{item.raw} {target.raw}': I can rank only by a numeric column, and {target.raw!r} "
                          "is not one")
        elif reading.dims:
            target.role, reading.measure, reading.agg = "counted", target, "count"
        elif target.top_kind == "table":
            target.role, reading.ranked = "ranked", target
        else:
            target.role = "dim"
            reading.dims.append(target)


def _year_column_next(items: list[Item], k: int, lexicon: Lexicon) -> bool:
    """The next item is a numeric year column ('pubYr', 'founded_year'), which an 'earliest'/'latest' ranks by."""
    j = _next(items, k)
    best = items[j].best(("column",)) if j is not None and items[j].is_ref and not items[j].role else None
    return best is not None and best is items[j].best() and is_measure(items[j], lexicon) \
        and bool({"yr", "year"} & set(split_identifier(best.column)))


def _limit_from_counted_table(items: list[Item], reading: Reading) -> None:
    """'which 5 admissions had the biggest bills': a number right before a table is the ranking's limit."""
    if reading.rank is None or reading.rank[1] is not None:
        return
    for k, item in enumerate(items[:-1]):
        nxt = items[k + 1]
        if item.kind == "num" and not item.role and item.text.isdigit() and nxt.is_ref and nxt.top_kind == "table":
            reading.rank, item.role = (reading.rank[0], int(item.text)), "used"
            return


def _aggregate_words_naming_columns(items: list[Item], marks: list[int], lexicon: Lexicon) -> list[int]:
    """'average invoice *total*', 'average page *count*': after a reference, an aggregate word that names a
    numeric column of the same table is that column, not a second aggregate (``marks[0] == -1``: the
    question's operation is a ranking, so every aggregate word is tried)."""
    kept = marks[:1]
    for m in marks[1:]:
        prev = items[m - 1] if m > 0 else None
        if prev is None:
            kept.append(m)
            continue
        tables = {t.table for t in prev.targets} if prev.is_ref else set()
        columns = [t for t in lexicon.word_columns(items[m].text) if t.table in tables and numeric_target(t, lexicon)]
        same = [t for t in columns if t.ident in {p.ident for p in prev.targets}]
        if columns and (marks[0] < 0 or items[m].mark != items[marks[0]].mark):
            if same:  # 'visit count' where 'visit' already named visitCnt: one reference, narrowed to it
                prev.targets, items[m] = same, Item("tolerated", items[m].text, items[m].raw)
            else:
                items[m] = Item("ref", items[m].text, items[m].raw, targets=columns)
        else:
            kept.append(m)
    return kept


def _read_aggs(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    _limit_from_counted_table(items, reading)
    marks = [k for k, it in enumerate(items) if it.mark.startswith("agg:")]
    if not marks:
        return
    if len({items[m].mark for m in marks}) > 1:
        marks = _aggregate_words_naming_columns(items, marks, lexicon)
    elif reading.rank is not None:  # 'the highest visit *count*': the ranking is the question's operation
        marks = _aggregate_words_naming_columns(items, [-1, *marks], lexicon)[1:]
        if not marks:
            return
    k = marks[0]
    kinds = list(dict.fromkeys(items[m].mark[4:] for m in marks))
    if len(kinds) > 1:
        raise Refusal(f"the question combines several aggregates ({', '.join(items[m].raw for m in marks)}); "
                      "I answer one aggregate at a time")
    for extra in marks[1:]:
        items[extra].role = "used"
    items[k].role = "used"
    agg = items[k].mark[4:]
    if agg == "count":
        _read_count(items, k, reading, lexicon)
    else:
        _read_numeric_agg(items, k, agg, reading, lexicon)


def _read_sold(items: list[Item], target: Item | None, reading: Reading, lexicon: Lexicon) -> bool:
    """'how many books were sold': units sold, when the schema has a quantity column."""
    sold = [it for it in items if it.kind == "tolerated" and stem(it.text) == _SOLD]
    if not sold or not lexicon.quantity_targets() or (target is not None and target.top_kind == "column"):
        return False
    if target is not None and target.is_ref and target.top_kind == "table":
        target.role = "related"
        reading.related.append(target)
    sold[0].role = "used"
    reading.agg = "sum"
    reading.measure = Item("ref", sold[0].text, sold[0].raw, targets=lexicon.quantity_targets(), role="measure")
    return True


def _read_count(items: list[Item], k: int, reading: Reading, lexicon: Lexicon) -> None:
    j = _next(items, k, skip_values=True)
    target = items[j] if j is not None else None
    if _read_sold(items, target, reading, lexicon):
        return
    if target is None or not target.is_ref:
        if reading.measure is not None and reading.agg == "count":
            return
        if reading.filters or reading.free:
            reading.agg = "count"
            return
        raise Refusal("I could not tell what to count: name a table or column of the schema")
    best = target.best(("table", "column", "derived"))
    if best is not None and best.kind == "column" and set(split_identifier(best.column)) & QUANTITY_PARTS:
        target.targets = [t for t in target.targets
                          if t.kind == "column" and set(split_identifier(t.column)) & QUANTITY_PARTS]
        reading.agg, reading.measure, target.role = "sum", target, "measure"
        return
    reading.agg, reading.measure = "count", target
    target.role = "counted"
    if best is not None and best.kind == "column":
        reading.distinct = True


def _read_numeric_agg(items: list[Item], k: int, agg: str, reading: Reading, lexicon: Lexicon) -> None:
    hints = []
    for j in range(k + 1, len(items)):
        item = items[j]
        if item.mark == "group" or item.kind == "cmp":
            break
        if is_measure(item, lexicon) and item.role in ("", "measure"):
            reading.agg, reading.measure, item.role = agg, item, "measure"
            for hint in hints:
                hint.role = "hint"
                reading.related.append(hint)
            return
        if item.is_ref and item.top_kind == "table" and not item.role:
            hints.append(item)
    if agg == "sum" and hints:
        reading.agg, reading.measure, hints[0].role = "count", hints[0], "counted"
        return
    if reading.measure is None:
        raise Refusal(f"no numeric column to {'average' if agg == 'avg' else agg} in this question; "
                      "name one the schema has")
    reading.agg = agg


def _read_absence(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    """'customers without orders' / 'who never ordered': fewer than one related row."""
    for k, item in enumerate(items[:-1]):
        nxt = items[k + 1]
        if item.mark == "not" and not item.role and nxt.is_ref and nxt.top_kind == "table" and not nxt.role:
            item.role, nxt.role = "used", "having"
            reading.having.append((nxt, Compare("<", (1,), f"{item.raw} {nxt.raw}")))


def _read_compares(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    for k, item in enumerate(items):
        if item.kind != "cmp":
            continue
        item.role = "used"
        prev = items[k - 1] if k > 0 else None
        nxt = items[k + 1] if k + 1 < len(items) else None
        if is_measure(nxt, lexicon) and not nxt.role:
            nxt.role = "cmp"
            reading.compares.append((nxt, None, item.cmp))
        elif nxt is not None and nxt.is_ref and nxt.top_kind == "table" and not nxt.role:
            nxt.role = "having"
            reading.having.append((nxt, item.cmp))
        elif is_measure(prev, lexicon):
            prev.role = prev.role if prev.role in ("measure", "counted") else "cmp"
            reading.compares.append((prev, None, item.cmp))
        elif prev is not None and prev.is_ref and prev.top_kind == "table":
            reading.compares.append((None, prev, item.cmp))
        else:
            reading.compares.append((None, None, item.cmp))


def _read_rest(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    for item in items:
        if not item.is_ref or item.role:
            continue
        best = item.best(("table", "column", "derived"))
        if best is None:
            continue
        if best.kind == "table":
            _read_table(item, reading)
        elif best.kind == "column" and is_date(column_of(best, lexicon)) and reading.dates is not None:
            item.role, reading.date_hint = "date", reading.date_hint or item
        elif is_measure(item, lexicon) and reading.measure is None and (
                reading.agg or reading.rank or reading.dims or reading.bucket or best.concept == "money"):
            item.role, reading.measure = "measure", item
            reading.agg = reading.agg or ("sum" if best.concept == "money" and not reading.rank else None)
        else:
            item.role = "project"
            reading.projection.append(item)


def _read_table(item: Item, reading: Reading) -> None:
    if reading.entity is None:
        item.role, reading.entity = "entity", item
    else:
        item.role = "related"
        reading.related.append(item)


def _read_leftovers(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    for item in items:
        if item.mark == "not" and not item.role:
            raise Refusal("negation is only supported on values (e.g. 'orders not cancelled'); "
                          f"I cannot apply {item.raw!r} here")
        if item.kind == "num" and not item.role:
            raise Refusal(f"I could not tell what the number {item.raw} refers to")
        if item.kind == "ref" and item.role == "ranked" and reading.dims:
            item.role, reading.measure, reading.ranked = "counted", item, None
            reading.agg = reading.agg or "count"

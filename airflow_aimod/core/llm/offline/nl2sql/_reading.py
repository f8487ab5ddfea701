"""What a question asks for (``Reading``), and the first reading steps: values, unknown words, dates.

Values found in the data become filters; a word the schema cannot ground ends the
reading with a ``Refusal`` that names it (and, for a proper noun, the column it would
belong to), instead of a guess. ``_roles`` assigns the remaining roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_aimod.core.llm.offline.nl2sql._dates import Compare, DateRange, is_iso_date
from airflow_aimod.core.llm.offline.nl2sql._joins import JoinGraph
from airflow_aimod.core.llm.offline.nl2sql._lexicon import Lexicon, Target, is_key
from airflow_aimod.core.llm.offline.nl2sql._scan import Item
from airflow_aimod.core.llm.offline.nl2sql._text import (
    DIRECTION_PARTS, DIRECTION_WORDS, GENERIC_HEADS, NON_DATA, QUANTITY_PARTS, split_identifier, stem,
)


class Refusal(Exception):
    """The question cannot be answered honestly from this schema; the message says why."""


@dataclass
class Reading:
    """What the question asks for, still in terms of items (targets are chosen by the planner)."""

    agg: str | None = None
    measure: Item | None = None
    distinct: bool = False
    sold: bool = False
    dims: list[Item] = field(default_factory=list)
    bucket: str | None = None
    entity: Item | None = None
    ranked: Item | None = None
    filters: list[Item] = field(default_factory=list)
    free: list[tuple[Item, str, bool]] = field(default_factory=list)
    keys: list[tuple[Item, int | float]] = field(default_factory=list)
    compares: list[tuple[Item | None, Item | None, Compare]] = field(default_factory=list)
    having: list[tuple[Item, Compare]] = field(default_factory=list)
    dates: DateRange | None = None
    date_hint: Item | None = None
    related: list[Item] = field(default_factory=list)
    projection: list[Item] = field(default_factory=list)
    rank: tuple[str, int | None] | None = None
    recent: tuple[str, int | None] | None = None
    notes: list[str] = field(default_factory=list)


def numeric_target(target: Target, lexicon: Lexicon) -> bool:
    if target.kind == "derived":
        return True
    if target.kind != "column":
        return False
    column = lexicon.catalog.table(target.table).column(target.column)
    return column is not None and column.kind == "number"


def is_measure(item: Item | None, lexicon: Lexicon) -> bool:
    """A reference whose best non-value meaning is a number (a column, a concept or quantity × price)."""
    if item is None or not item.is_ref:
        return False
    best = item.best(("table", "column", "derived"))
    return best is not None and numeric_target(best, lexicon)


def column_of(target: Target, lexicon: Lexicon):
    return lexicon.catalog.table(target.table).column(target.column)


def read_values(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    for k, item in enumerate(items):
        best = item.best(("table", "column", "value", "flag", "derived"))
        if item.is_ref and best is not None and best.kind in ("value", "flag"):
            item.role = "filter"
            item.negated = k > 0 and items[k - 1].mark == "not"
            if item.negated:
                items[k - 1].role = "used"
            reading.filters.append(item)
    for k, item in enumerate(items):
        if item.role == "filter" and item.best(("value", "flag")).kind == "value":
            _mark_qualifiers(items, k)
            _pick_direction(item)
    for k, item in enumerate(items):
        if item.kind in ("word", "quoted", "num") and not item.role:
            _read_free_value(items, k, reading, lexicon)


def _mark_qualifiers(items: list[Item], k: int) -> None:
    """'status cancelled' / 'books category' / 'Engineering department': the word names the value's column."""
    values = [t for t in items[k].targets if t.kind == "value"]
    for j in (k - 1, k + 1):
        if not (0 <= j < len(items) and items[j].is_ref and not items[j].role):
            continue
        named = [t for t in items[j].targets if t.kind in ("column", "table")]
        fits = [v for v in values if any(n.table == v.table and n.column in (None, v.column) for n in named)]
        if fits and (items[j].top_kind == "column" or j == k + 1):
            items[j].role = "qualifier"
            items[k].targets = fits + [t for t in items[k].targets if t.kind != "value"]


def _side(column: str) -> str | None:
    parts = set(split_identifier(column))
    sides = [side for side, names in DIRECTION_PARTS.items() if parts & names]
    return sides[0] if len(sides) == 1 else None


def _pick_direction(item: Item) -> None:
    """A value of both columns of a from/to pair ('Lyon': originCity, destinationCity) takes the side its
    preposition or verb names ('to Lyon', 'started in Lyon'); with no such word, two readings remain: refuse."""
    values = [t for t in item.targets if t.kind == "value"]
    sided = {(t.table, _side(t.column)): t for t in values if _side(t.column)}
    pairs = {table for table, side in sided if (table, "to") in sided and (table, "from") in sided}
    if not pairs:
        return
    said = next((side for word in reversed(item.before) for side, words in DIRECTION_WORDS.items()
                 if word in words), None)
    if said is None:
        table = sorted(pairs)[0]
        raise Refusal(f"{item.raw!r} could be {table}.{sided[(table, 'from')].column} or "
                      f"{table}.{sided[(table, 'to')].column}: say 'from {item.raw}' or 'to {item.raw}'")
    keep = [t for t in values if t.table not in pairs or _side(t.column) == said]
    item.targets = keep + [t for t in item.targets if t.kind != "value"]


def _read_free_value(items: list[Item], k: int, reading: Reading, lexicon: Lexicon) -> None:
    """A word or quoted text right after a text column ('city Berlin'), or a number after a table ('order 42')."""
    item, prev = items[k], items[k - 1] if k > 0 else None
    if item.kind == "quoted" and _quoted_value(items, k, reading, lexicon):
        return
    if prev is None or not prev.is_ref or prev.role:
        if item.kind == "quoted":
            raise Refusal(f"'{item.raw}' is not a value I can find in the data; name the column it belongs to")
        return
    if item.kind == "num" and prev.top_kind == "table":
        prev.role, item.role = "entity", "used"
        reading.keys.append((prev, float(item.text) if "." in item.text else int(item.text)))
        return
    if item.kind == "num" and item.text.isdigit() and _integer_column(prev, lexicon):
        prev.role, item.role = "qualifier", "used"  # 'students in grade 10': grade_level = 10
        reading.free.append((prev, int(item.text), False))
        return
    texts = [t for t in prev.targets if t.kind == "column" and column_of(t, lexicon).kind == "text"]
    if not texts or (item.kind == "word" and stem(item.text) in GENERIC_HEADS):
        return
    column = column_of(max(texts, key=lambda t: t.score), lexicon)
    if item.kind == "word" and not item.capitalized and not column.samples:
        return
    stored = {str(s).lower(): s for s in column.samples}
    if column.samples and item.raw.lower() not in stored:
        raise Refusal(f"no {_human(column.name)} named {item.raw!r} in the data "
                      f"(known values: {_listing(column.samples)})")
    prev.role, item.role = "qualifier", "used"
    negated = k > 1 and items[k - 2].mark == "not"
    reading.free.append((prev, stored.get(item.raw.lower(), item.raw), negated))
    if not column.samples:
        reading.notes.append(f"{item.raw!r} could not be checked against sampled values; used as typed")


def _integer_column(item: Item, lexicon: Lexicon) -> bool:
    """``item`` names an integer column that is not a measure of amounts ('grade_level', 'floor', not 'qty')."""
    best = item.best(("table", "column"))
    if best is None or best.kind != "column":
        return False
    column = column_of(best, lexicon)
    return "INT" in (column.type or "").upper() and not set(split_identifier(column.name)) & QUANTITY_PARTS


def _quoted_value(items: list[Item], k: int, reading: Reading, lexicon: Lexicon) -> bool:
    """A quoted value that the samples contain becomes a value filter."""
    item = items[k]
    targets = lexicon.values_equal(item.raw)
    if not targets:
        return False
    item.kind, item.targets, item.role = "ref", targets, "filter"
    item.negated = k > 0 and items[k - 1].mark == "not"
    if item.negated:
        items[k - 1].role = "used"
    reading.filters.append(item)
    _mark_qualifiers(items, k)
    return True


def _human(name: str) -> str:
    return " ".join(split_identifier(name)) or name


def _listing(values) -> str:
    shown = [str(v) for v in list(values)[:8]]
    return ", ".join(shown) + (", …" if len(values) > 8 else "")


def read_unknown(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    """Refuse when a content word matches nothing in the schema."""
    unknown = [it for k, it in enumerate(items) if it.kind == "word" and not it.role and not _generic_head(items, k)]
    quoted = [it for it in items if it.kind == "quoted" and not it.role]
    if quoted:
        raise Refusal(_value_refusal(quoted[0].raw, [it for it in items if it.is_ref], lexicon))
    if not unknown:
        if not any(it.is_ref or it.kind == "quoted" for it in items):
            raise Refusal("this is not a question about the data in this database: nothing in it matches a "
                          "table, column or value of the schema")
        return
    refs = [it for it in items if it.is_ref]
    dates = [u.raw for u in unknown if is_iso_date(u.raw)]
    if dates:
        raise Refusal(f"{dates[0]!r} is not a valid date")
    if any(it.text in NON_DATA for it in unknown):
        raise Refusal("this is not a question about the data in this database: nothing in the schema matches "
                      + " / ".join(repr(u.raw) for u in unknown))
    proper = [u for u in unknown if u.capitalized]
    if proper and refs:
        raise Refusal(_value_refusal(proper[0].raw, refs, lexicon))
    words = " / ".join(repr(u.raw) for u in unknown)
    raise Refusal(f"the schema has no table or column for {words}")


def _generic_head(items: list[Item], k: int) -> bool:
    """'email addresses', 'phone number': a generic noun right after a column reference."""
    prev = items[k - 1] if k > 0 else None
    return prev is not None and prev.is_ref and prev.top_kind == "column" and stem(items[k].text) in GENERIC_HEADS


def _value_refusal(word: str, refs: list[Item], lexicon: Lexicon) -> str:
    """Name the column a proper noun would belong to, when the data says which one it could be."""
    graph = JoinGraph(lexicon.catalog)
    mentioned = {t.table for it in refs for t in it.targets}
    tables = mentioned | {u for t in mentioned for u in graph.up_paths(t)}
    columns = [(t, c) for t in lexicon.catalog.tables if t.name in tables for c in t.columns
               if c.kind == "text" and c.samples and all(str(s)[:1].isupper() for s in c.samples)]
    loose = [(c.distinct_count or 10**9, f"{t.name}.{c.name}") for t in lexicon.catalog.tables if t.name in tables
             for c in t.columns if c.kind == "text" and not c.samples and not is_key(t, c)]
    unchecked = [name for _, name in sorted(loose, key=lambda pair: pair[0])]
    hint = (f"; if it is a value of {' or '.join(unchecked[:3])}, name that column "
            f"(e.g. '{_human(unchecked[0].split('.')[-1])} {word}')" if unchecked else "")
    if len(columns) == 1:
        table, column = columns[0]
        return (f"no {_human(column.name)} named {word!r} in the data "
                f"({table.name}.{column.name} has: {_listing(column.samples)}){hint}")
    return f"no value {word!r} in the data: it matches no table, column or known value of the schema{hint}"


def read_dates(items: list[Item], reading: Reading, lexicon: Lexicon) -> None:
    ranges = [it for it in items if it.kind == "date"]
    if len(ranges) > 1:
        raise Refusal(f"several date ranges ({', '.join(r.raw for r in ranges)}): ask about one period at a time")
    if ranges:
        reading.dates, ranges[0].role = ranges[0].dates, "used"

"""A warehouse's vocabulary for the router: table and column names split into words, and stored values.

Input is a ``Catalog.to_dict()``; output is a sorted, deduplicated list of lower-case words,
then ``column=value`` entries for the sampled values of low-cardinality text columns (absent when
the catalog carries no samples), bounded in size, so it can go into a prompt context and be
cached per schema fingerprint. A value is only ever a filter ('the *icu* ward'), never evidence
that a request is about the data: 'the weather in Leeds' still goes to a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MAX_WORDS = 400
_MAX_VALUES = 200  # column=value entries, after the name words
_VALUES_PER_COLUMN = 12
_MAX_VALUE_CHARS = 40
_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_GENERIC = frozenset({"id", "no", "nr", "num", "key", "pk", "fk", "is", "has", "at", "on", "dt", "cd", "nm", "tbl"})


def identifier_words(name: str) -> list[str]:
    """'depotName' → ['depot', 'name']; 'stay_hrs' → ['stay', 'hrs']."""
    return [p.lower() for p in _PARTS.findall(re.sub(r"[_\-\s.]+", " ", name))]


def schema_words(catalog: Mapping[str, Any]) -> list[str]:
    """Words of the table and column names of ``catalog`` (at most 400), then its ``column=value`` entries."""
    words: set[str] = set()
    for table in catalog.get("tables", ()):
        words.update(identifier_words(str(table.get("name", ""))))
        for column in table.get("columns", ()):
            words.update(identifier_words(str(column.get("name", ""))))
    names = sorted(w for w in words if len(w) > 1 and w not in _GENERIC)[:_MAX_WORDS]
    return names + schema_values(catalog)


def schema_values(catalog: Mapping[str, Any]) -> list[str]:
    """``column=value`` for the sampled values of ``catalog``'s text columns (lower-case, bounded)."""
    entries: set[str] = set()
    for table in catalog.get("tables", ()):
        for column in table.get("columns", ()):
            name = str(column.get("name", "")).casefold()
            for value in list(column.get("samples") or ())[:_VALUES_PER_COLUMN]:
                text = " ".join(str(value).casefold().split())
                if isinstance(value, str) and 0 < len(text) <= _MAX_VALUE_CHARS and "=" not in text:
                    entries.add(f"{name}={text}")
    return sorted(entries)[:_MAX_VALUES]


def schema_fingerprint(catalog: Mapping[str, Any]) -> str:
    """A short hash of the tables, columns and types of ``catalog``: it changes when the schema does."""
    import hashlib

    shape = sorted(f"{t.get('name')}.{c.get('name')}:{c.get('type')}" for t in catalog.get("tables", ())
                   for c in t.get("columns", ()))
    return hashlib.blake2b("\n".join(shape).encode(), digest_size=8).hexdigest()

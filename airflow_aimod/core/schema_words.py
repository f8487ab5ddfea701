"""A warehouse's vocabulary for the router: table and column names split into words.

Input is a ``Catalog.to_dict()``; output is a sorted, deduplicated list of lower-case words,
bounded in size, so it can go into a prompt context and be cached per schema fingerprint.
Sample values are left out on purpose: a city or a status is weak evidence that a request
is about the data, and 'the weather in Leeds' must still go to a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MAX_WORDS = 400
_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_GENERIC = frozenset({"id", "no", "nr", "num", "key", "pk", "fk", "is", "has", "at", "on", "dt", "cd", "nm", "tbl"})


def identifier_words(name: str) -> list[str]:
    """'depotName' → ['depot', 'name']; 'stay_hrs' → ['stay', 'hrs']."""
    return [p.lower() for p in _PARTS.findall(re.sub(r"[_\-\s.]+", " ", name))]


def schema_words(catalog: Mapping[str, Any]) -> list[str]:
    """Words of the table and column names of ``catalog`` (at most 400)."""
    words: set[str] = set()
    for table in catalog.get("tables", ()):
        words.update(identifier_words(str(table.get("name", ""))))
        for column in table.get("columns", ()):
            words.update(identifier_words(str(column.get("name", ""))))
    return sorted(w for w in words if len(w) > 1 and w not in _GENERIC)[:_MAX_WORDS]


def schema_fingerprint(catalog: Mapping[str, Any]) -> str:
    """A short hash of the tables, columns and types of ``catalog``: it changes when the schema does."""
    import hashlib

    shape = sorted(f"{t.get('name')}.{c.get('name')}:{c.get('type')}" for t in catalog.get("tables", ())
                   for c in t.get("columns", ()))
    return hashlib.blake2b("\n".join(shape).encode(), digest_size=8).hexdigest()

"""Size and complexity bounds the SQL guard applies BEFORE it parses anything.

Parsing is the guard's only expensive step (sqlglot is pure Python, and hostile inputs such as
thousands of chained CTEs or a megabyte of SELECT list cost seconds to minutes). ``SqlBounds``
refuses such inputs in three cheap stages, each linear in the input:

1. ``check_text``: the byte size, NUL bytes and invalid UTF-8, then a rough token count made
   with one regular expression (so the tokenizer never sees a huge input);
2. ``check_tokens``: on sqlglot's tokens, the exact token count, the nesting depth (brackets
   and CASE ... END), the number of CTEs and of query blocks (SELECTs).

Every refusal is one line that says what was too big and which policy field raises the limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

__all__ = ["SqlBounds"]


@cache
def _rough_token() -> re.Pattern[str]:
    """One match per token-like unit; quotes and comments that never close run to the end (linear time).
    Compiled on first use, not when a DAG file that builds envelopes is parsed."""
    return re.compile(r"'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?|--[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/)?|\w+|\S")


_PREFIX_OPERATORS = frozenset({"NOT", "DASH", "PLUS", "TILDA"})
_ROUGH_FACTOR = 2  # the rough count splits some tokens sqlglot keeps whole (``::``, ``1.5``)


@dataclass(frozen=True)
class SqlBounds:
    """Largest SQL the guard analyses; anything bigger is refused before parsing (fail closed)."""

    max_bytes: int = 65_536
    max_tokens: int = 5_000
    max_nesting: int = 30
    max_ctes: int = 30
    max_selects: int = 60

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if type(value) is not int or value < 1:
                raise ConfigurationError(f"SQL bound {field.name} must be an integer >= 1, got {value!r}")

    @classmethod
    def from_policy(cls, policy: Any) -> SqlBounds:
        """The bounds of a ``SqlPolicy`` (its ``max_sql_*`` fields)."""
        return cls(max_bytes=policy.max_sql_bytes, max_tokens=policy.max_sql_tokens,
                   max_nesting=policy.max_sql_nesting, max_ctes=policy.max_sql_ctes,
                   max_selects=policy.max_sql_selects)

    def check_text(self, sql: str) -> str | None:
        """Why ``sql`` is refused before tokenizing (size, NUL, UTF-8, rough token count), or None."""
        try:
            size = len(sql.encode("utf-8"))
        except UnicodeEncodeError as error:
            return (f"SQL is not valid UTF-8 (undecodable byte at character {error.start}): "
                    "send the query as UTF-8 text")
        if size > self.max_bytes:
            return (f"SQL is {size:,} bytes, more than the {self.max_bytes:,} allowed: send a shorter query "
                    "(limit: sql policy max_sql_bytes)")
        if (nul := sql.find("\x00")) >= 0:
            return f"SQL contains a NUL byte at character {nul}: remove it and send plain text"
        rough = len(_rough_token().findall(sql))
        if rough > _ROUGH_FACTOR * self.max_tokens:
            return self._too_many_tokens(f"about {rough:,}")
        return None

    def check_tokens(self, tokens: Sequence[Any]) -> str | None:
        """Why sqlglot's ``tokens`` are too many, too deeply nested or hold too many CTEs/SELECTs, or None."""
        if len(tokens) > self.max_tokens:
            return self._too_many_tokens(f"{len(tokens):,}")
        nesting, ctes, selects = _shape([(token.token_type.name, token.text.upper()) for token in tokens])
        if nesting > self.max_nesting:
            return (f"SQL is nested {nesting} levels deep (brackets, CASE, NOT), more than the {self.max_nesting} "
                    "allowed: flatten it with CTEs or joins (limit: sql policy max_sql_nesting)")
        if ctes > self.max_ctes:
            return (f"SQL defines {ctes} CTEs, more than the {self.max_ctes} allowed: split the query "
                    "(limit: sql policy max_sql_ctes)")
        if selects > self.max_selects:
            return (f"SQL has {selects} SELECT blocks, more than the {self.max_selects} allowed: split the query "
                    "(limit: sql policy max_sql_selects)")
        return None

    def _too_many_tokens(self, count: str) -> str:
        return (f"SQL has {count} tokens, more than the {self.max_tokens:,} allowed: send a shorter query "
                "(limit: sql policy max_sql_tokens)")


def _shape(kinds: Sequence[tuple[str, str]]) -> tuple[int, int, int]:
    """(deepest nesting, CTE definitions, SELECT keywords) of (token type, text) pairs.

    Nesting counts open brackets and CASE ... END, plus runs of prefix operators (``NOT NOT -x``),
    which the parser also descends into one level each.
    """
    depth = deepest = ctes = selects = run = 0
    for i, (kind, _) in enumerate(kinds):
        run = run + 1 if kind in _PREFIX_OPERATORS else 0
        deepest = max(deepest, depth + run)
        if kind in ("L_PAREN", "L_BRACKET", "CASE"):
            depth += 1
            deepest = max(deepest, depth)
        elif kind in ("R_PAREN", "R_BRACKET", "END"):
            depth = max(depth - 1, 0)
        elif kind == "SELECT":
            selects += 1
        elif kind == "ALIAS" and _opens_cte(kinds, i + 1):
            ctes += 1
    return deepest, ctes, selects


def _opens_cte(kinds: Sequence[tuple[str, str]], i: int) -> bool:
    """Whether the tokens after an ``AS`` read ``(`` or ``[NOT] MATERIALIZED (`` (a CTE body)."""
    while i < len(kinds) and kinds[i][1] in ("NOT", "MATERIALIZED"):
        i += 1
    return i < len(kinds) and kinds[i][0] == "L_PAREN"

"""``ExampleStore``: verified examples in the AiMod store (table ``aimod_examples``, migration 4).

An example is a request a person verified and what it became: SQL for ``sql_agent``, an agent
name for ``task_router``. It records who verified it, when, how (``source``), the connection and
the schema fingerprint; never result rows. Examples are deduplicated (one per agent, connection
and normalised question), capped per agent and connection, and removable.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

SOURCES = ("approved", "edited", "marked_correct", "manual", "route_review", "imported")
_COLUMNS = ("example_id", "agent", "conn_id", "schema_fingerprint", "question", "answer", "source", "verified_by",
            "verified_at")
_MAX_TEXT = 20_000


def normalise(question: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", question.casefold()))


@dataclass(frozen=True)
class Example:
    """One verified request → answer pair; ``example_id`` is derived from agent, connection and question."""

    agent: str
    question: str
    answer: str
    verified_by: str
    source: str = "manual"
    conn_id: str = ""
    schema_fingerprint: str = ""
    verified_at: float = field(default_factory=time.time)
    example_id: str = ""

    def __post_init__(self) -> None:
        if not self.agent or not self.question.strip() or not self.answer.strip():
            raise ConfigurationError("an example needs an agent, a question and an answer (SQL or an agent name)")
        if not self.verified_by.strip():
            raise ConfigurationError("an example needs verified_by: who approved or checked it")
        if self.source not in SOURCES:
            raise ConfigurationError(f"unknown example source {self.source!r}: use one of {', '.join(SOURCES)}")
        if len(self.question) > _MAX_TEXT or len(self.answer) > _MAX_TEXT:
            raise ConfigurationError(f"an example's question and answer must each be under {_MAX_TEXT} characters")
        if not self.example_id:
            key = f"{self.agent}\0{self.conn_id}\0{normalise(self.question)}".encode()
            object.__setattr__(self, "example_id", hashlib.blake2b(key, digest_size=8).hexdigest())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ExampleStore:
    """Add, list, remove, export and import examples in an ``EventStore``; ``cap`` per agent and connection."""

    def __init__(self, store: Any, *, cap: int = 500) -> None:
        if cap < 1:
            raise ConfigurationError(f"the example cap must be at least 1, got {cap}")
        self.store, self.cap = store, cap

    def add(self, example: Example) -> str:
        """Store ``example`` (a later verification of the same question replaces the earlier); return its id."""
        with self.store.locked(_scope_key(example.agent, example.conn_id)) as conn:
            existing = conn.execute(self.store.sql("SELECT COUNT(*) FROM aimod_examples WHERE agent = ? AND "
                                                   "conn_id = ? AND example_id <> ?"),
                                    (example.agent, example.conn_id, example.example_id)).fetchone()[0]
            if existing >= self.cap:
                raise ConfigurationError(
                    f"{example.agent} already has {existing} examples for connection {example.conn_id!r} (cap "
                    f"{self.cap}): remove some with 'aimod examples remove ID' before adding more")
            conn.execute(self.store.sql("DELETE FROM aimod_examples WHERE example_id = ?"), (example.example_id,))
            conn.execute(self.store.sql(f"INSERT INTO aimod_examples ({', '.join(_COLUMNS)}) VALUES "
                                        f"({', '.join('?' for _ in _COLUMNS)})"),
                         tuple(getattr(example, c) for c in _COLUMNS))
        return example.example_id

    def list(self, *, agent: str | None = None, conn_id: str | None = None) -> list[Example]:
        """Examples, oldest first, optionally for one agent and/or connection."""
        where, params = [], []
        for column, value in (("agent", agent), ("conn_id", conn_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.store.fetch(f"SELECT {', '.join(_COLUMNS)} FROM aimod_examples{clause} "
                                "ORDER BY verified_at, example_id", params)
        return [Example(**dict(zip(_COLUMNS, row))) for row in rows]

    def recent(self, agent: str, *, limit: int = 50) -> list[Example]:
        """``agent``'s newest ``limit`` examples, newest first (index ``aimod_examples_agent_time``)."""
        rows = self.store.fetch(f"SELECT {', '.join(_COLUMNS)} FROM aimod_examples WHERE agent = ? "
                                "ORDER BY verified_at DESC LIMIT ?", (agent, int(limit)))
        return [Example(**dict(zip(_COLUMNS, row))) for row in rows]

    def remove(self, example_id: str) -> bool:
        """Revoke one example; False when there was none with that id."""
        with self.store.locked(0) as conn:
            cursor = conn.execute(self.store.sql("DELETE FROM aimod_examples WHERE example_id = ?"), (example_id,))
            return cursor.rowcount > 0

    def export(self, **scope: str | None) -> str:
        """JSON lines, one example each."""
        return "".join(json.dumps(e.to_dict(), sort_keys=True) + "\n" for e in self.list(**scope))

    def import_lines(self, text: str) -> list[str]:
        """Add the examples of ``export`` output; each is validated again. Returns their ids."""
        ids = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                known = {k: data[k] for k in _COLUMNS if k in data and k != "example_id"}
                ids.append(self.add(Example(**known)))
            except (ValueError, TypeError, KeyError) as exc:
                raise ConfigurationError(f"line {number} is not an exported example: {exc}") from None
        return ids


def _scope_key(agent: str, conn_id: str) -> int:
    raw = hashlib.blake2b(f"examples\0{agent}\0{conn_id}".encode(), digest_size=8).digest()
    return int.from_bytes(raw, "big", signed=True)

"""Foreign-key paths for the offline NL→SQL composer.

Edges run both ways: *up* from the table holding a foreign key to the table it
references (many → one, joining never duplicates rows) and *down* the other way (one
→ many, joining may). Paths are shortest first, then with the fewest down edges.

Two keys from one table to the same table are named by role (``home_team_id`` /
``away_team_id``, ``origin_station_id`` / ``dest_station_id``). The question's words pick
the role ('the away side', 'journeys *to* Crossfield'); when they pick none or both, the
pair is *ambiguous* and a query joining through it is refused naming both keys.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass

from airflow_aimod.core.llm.offline.nl2sql._text import (
    DIRECTION_PARTS, DIRECTION_WORDS, singular, split_identifier, stem,
)
from airflow_aimod.core.schema import Catalog, Table


@dataclass(frozen=True)
class Edge:
    """Walk from ``src`` to ``dst`` joining ``src.src_col = dst.dst_col``; ``up`` when ``src`` holds the key."""

    src: str
    dst: str
    src_col: str
    dst_col: str
    up: bool


class JoinGraph:
    """The catalog's foreign keys as a graph of tables."""

    def __init__(self, catalog: Catalog, words: frozenset[str] = frozenset()) -> None:
        """``words``: the question's lower-case words and their stems (they pick a role-named key)."""
        self.edges: dict[str, list[Edge]] = defaultdict(list)
        self.ambiguous: dict[tuple[str, str], list[str]] = {}  # (table, ref) -> its role-named keys
        self.role_vocabulary: dict[str, set[str]] = defaultdict(set)  # role word -> the tables its keys reference
        for table in catalog.tables:
            for fk, ref in self._keys(catalog, table, words):
                self.edges[table.name].append(Edge(table.name, ref.name, fk.column, fk.ref_column, True))
                self.edges[ref.name].append(Edge(ref.name, table.name, fk.ref_column, fk.column, False))
        for table in catalog.tables:
            for column, ref, ref_column in _conventional_keys(catalog, table):
                self.edges[table.name].append(Edge(table.name, ref.name, column, ref_column, True))
                self.edges[ref.name].append(Edge(ref.name, table.name, ref_column, column, False))
        self._trees: dict[str, dict[str, list[Edge]]] = {}

    def _keys(self, catalog: Catalog, table: Table, words: frozenset[str]) -> list[tuple]:
        """The declared keys of ``table`` with their tables; of a role-named pair, the one ``words`` pick."""
        by_ref: dict[str, list[tuple]] = defaultdict(list)
        for fk in table.foreign_keys:
            ref = catalog.table(fk.ref_table) or catalog.table(fk.ref_table.split(".")[-1])
            if ref is not None and ref.name != table.name and ref.column(fk.ref_column) is not None:
                by_ref[ref.name].append((fk, ref))
        kept = []
        for ref_name, keys in by_ref.items():
            roles = {k[0].column: role_words(k[0].column, ref_name) for k in keys} if len(keys) > 1 else {}
            for word in set().union(*roles.values()):
                self.role_vocabulary[word].add(ref_name)
            picked = [k for k in keys if roles[k[0].column] & words] if roles else keys
            if len(picked) != 1:
                self.ambiguous[(table.name, ref_name)] = [fk.column for fk, _ in keys]
                picked = keys
            kept += picked
        return kept

    def ambiguous_join(self, edge: Edge) -> list[str] | None:
        """The role-named keys ``edge`` chose between without the question saying which, if it did."""
        return self.ambiguous.get((edge.src, edge.dst)) or self.ambiguous.get((edge.dst, edge.src))

    def paths(self, root: str) -> dict[str, list[Edge]]:
        """The preferred path from ``root`` to every reachable table (``root`` itself: [])."""
        if root not in self._trees:
            self._trees[root] = self._search(root)
        return self._trees[root]

    def _search(self, root: str) -> dict[str, list[Edge]]:
        best: dict[str, list[Edge]] = {root: []}
        queue: list[tuple[int, int, int, str]] = [(0, 0, 0, root)]
        order = 0
        while queue:
            hops, downs, _, table = heapq.heappop(queue)
            if (hops, downs) > _cost(best[table]):
                continue
            for edge in self.edges.get(table, ()):
                path = best[table] + [edge]
                if edge.dst not in best or _cost(path) < _cost(best[edge.dst]):
                    best[edge.dst] = path
                    order += 1
                    heapq.heappush(queue, (*_cost(path), order, edge.dst))
        return best

    def path(self, root: str, table: str) -> list[Edge] | None:
        """The up-only path when there is one (it never duplicates rows), else the preferred path."""
        return self.up_paths(root).get(table) or self.paths(root).get(table)

    def up_paths(self, root: str) -> dict[str, list[Edge]]:
        """Shortest paths from ``root`` along up edges only."""
        found: dict[str, list[Edge]] = {root: []}
        frontier = [root]
        while frontier:
            nxt = []
            for table in frontier:
                for edge in self.edges.get(table, ()):
                    if edge.up and edge.dst not in found:
                        found[edge.dst] = found[table] + [edge]
                        nxt.append(edge.dst)
            frontier = nxt
        return found

    def up_only(self, root: str, table: str) -> bool:
        """``table`` is reachable from ``root`` without duplicating ``root``'s rows."""
        return table in self.up_paths(root)


def role_words(column: str, ref: str) -> frozenset[str]:
    """Words that name the role of key ``column`` to table ``ref``: 'away_team_id' → {'away'};
    'dest_station_id' → {'dest', 'destination', 'to', 'arriving', …} (a direction's names and words)."""
    own = {p for p in split_identifier(column) if p != "id"} - set(split_identifier(ref)) \
        - {singular(p) for p in split_identifier(ref)}
    found = set(own)
    for side, parts in DIRECTION_PARTS.items():
        if own & parts:
            found |= parts | DIRECTION_WORDS[side]
    return frozenset(found | {stem(w) for w in found})


def _cost(path: list[Edge]) -> tuple[int, int]:
    return len(path), sum(not e.up for e in path)


def _conventional_keys(catalog: Catalog, table: Table) -> list[tuple[str, Table, str]]:
    """Undeclared keys named by convention: ``course_id`` → the one table ``course(s)`` with a single key.

    Only when the table declares no foreign key on that column and exactly one other table's
    name (singular or plural, any case style) matches the column's prefix.
    """
    declared = {fk.column.lower() for fk in table.foreign_keys}
    found = []
    for column in table.columns:
        parts = split_identifier(column.name)
        if column.name.lower() in declared or len(parts) < 2 or parts[-1] != "id" or column.kind != "number":
            continue
        wanted = singular("_".join(parts[:-1]))
        refs = [t for t in catalog.tables if t.name != table.name
                and singular("_".join(split_identifier(t.name))) == wanted and _single_key(t)]
        if len(refs) == 1:
            found.append((column.name, refs[0], _single_key(refs[0])))
    return found


def _single_key(table: Table) -> str | None:
    keys = [c.name for c in table.columns if c.primary_key]
    if len(keys) == 1:
        return keys[0]
    return next((c.name for c in table.columns if c.name.lower() == "id"), None) if not keys else None

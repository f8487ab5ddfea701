"""Run the offline NL→SQL composer over unseen warehouses and score it by result set.

A composed query is right when it returns the reference's rows: same row count, and every
reference column equals (as a multiset, or in order when the case is ordered) some distinct
column of the result, so an extra label or id column is not an error. A must-refuse case is
right when the composer refuses. ``python -m tests.unseen.harness [dev|heldout|library|gigs] [-v [--taught]]``.
"""

from __future__ import annotations

import math
import sqlite3
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from airflow_aimod.core.examples import Example, closest
from airflow_aimod.core.examples.vocabulary import learn
from tests.unit.nl2sql_support import answer, catalog_from_sqlite
from tests.unseen.cases import DEV, Case
from tests.unseen.warehouses import BUILDERS


def _norm(value):
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else value
    return value


def _columns(rows: list[tuple]) -> list[list]:
    return [[_norm(r[i]) for r in rows] for i in range(len(rows[0]))] if rows else []


def same_result(got: list[tuple], want: list[tuple], ordered: bool) -> bool:
    """Every reference column matches a distinct result column; extra result columns are allowed."""
    if len(got) != len(want):
        return False
    if not want:
        return True
    key = (lambda c: c) if ordered else (lambda c: Counter(map(repr, c)))
    pool = [key(c) for c in _columns(got)]
    if not ordered:  # rows must line up: compare sorted row tuples restricted to matched columns
        return _match_rows(got, want)
    for column in map(key, _columns(want)):
        if column not in pool:
            return False
        pool.remove(column)
    return True


def _match_rows(got: list[tuple], want: list[tuple]) -> bool:
    gcols, wcols = _columns(got), _columns(want)
    chosen: list[int] = []
    for wc in wcols:
        wanted = Counter(map(repr, wc))
        options = [i for i, gc in enumerate(gcols) if i not in chosen and Counter(map(repr, gc)) == wanted]
        if not options:
            return False
        chosen.append(options[0])
    projected = Counter(repr(tuple(_norm(r[i]) for i in chosen)) for r in got)
    return projected == Counter(repr(tuple(_norm(v) for v in r)) for r in want)


@dataclass
class Score:
    answered_right: int = 0
    answered_wrong: int = 0
    refused_answerable: int = 0
    refused_right: int = 0
    answered_must_refuse: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> int:
        return self.answered_right + self.answered_wrong + self.refused_answerable

    @property
    def accuracy(self) -> float:
        return self.answered_right / self.answerable if self.answerable else 0.0

    @property
    def abstention(self) -> float:
        total = self.refused_right + self.answered_must_refuse
        return self.refused_right / total if total else 1.0

    def summary(self) -> str:
        return (f"accuracy {self.answered_right}/{self.answerable} = {self.accuracy:.2f} "
                f"(wrong {self.answered_wrong}, refused {self.refused_answerable}); "
                f"must-refuse refused {self.refused_right}/{self.refused_right + self.answered_must_refuse}")


def build(directory: Path, names: set[str]) -> dict[str, Path]:
    paths = {}
    for name in sorted(names):
        paths[name] = directory / f"{name}.db"
        if not paths[name].exists():
            BUILDERS[name](paths[name])
    return paths


def evaluate(cases: list[Case], directory: Path, compose=answer,
             verified: dict[str, list[tuple[str, str]]] | None = None) -> Score:
    """Score ``cases``; with ``verified`` examples, each question gets the 3 closest of its warehouse and
    the vocabulary all of that warehouse's examples teach."""
    paths = build(directory, {c.warehouse for c in cases})
    catalogs = {name: catalog_from_sqlite(path) for name, path in paths.items()}
    taught = {name: learn(pairs, catalogs[name]).to_list() for name, pairs in (verified or {}).items()
              if name in catalogs}
    score = Score()
    for case in cases:
        examples = _examples((verified or {}).get(case.warehouse, []), case.question)
        out = compose(case.question, catalogs[case.warehouse], examples=examples,
                      vocabulary=taught.get(case.warehouse, []))
        _grade(score, case, out, paths[case.warehouse])
    return score


def _examples(pairs: list[tuple[str, str]], question: str) -> list[dict[str, str]]:
    stored = [Example(agent="sql_agent", question=q, answer=sql, verified_by="harness") for q, sql in pairs]
    return [{"question": e.question, "sql": e.answer} for e in closest(stored, question)]


def _grade(score: Score, case: Case, out: dict, path: Path) -> None:
    tag = f"[{case.warehouse}] {case.question!r}"
    if case.sql is None:
        if out.get("sql"):
            score.answered_must_refuse += 1
            score.misses.append(f"{tag} must refuse, composed {out['sql']}")
        else:
            score.refused_right += 1
        return
    if not out.get("sql"):
        score.refused_answerable += 1
        score.misses.append(f"{tag} refused: {out.get('refusal')}")
        return
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        want = con.execute(case.sql).fetchall()
        try:
            got = con.execute(out["sql"]).fetchall()
        except sqlite3.Error as exc:
            got, out = None, {**out, "error": str(exc)}
    finally:
        con.close()
    if got is not None and same_result(got, want, case.ordered):
        score.answered_right += 1
    else:
        score.answered_wrong += 1
        score.misses.append(f"{tag} wrong: {out['sql']}  got {(got or [])[:3]} want {want[:3]}")


def main(argv: list[str]) -> int:
    split = argv[0] if argv else "dev"
    if split == "heldout":
        from tests.unseen.heldout import HELDOUT as cases
    elif split == "library":
        from tests.unseen.library import LIBRARY as cases
    elif split == "gigs":
        from tests.unseen.gigs import GIGS as cases
    else:
        cases = DEV
    from tests.unseen.verified import VERIFIED

    with tempfile.TemporaryDirectory() as tmp:
        score = evaluate(cases, Path(tmp))
        taught = evaluate(cases, Path(tmp), verified=VERIFIED)
    print(f"{split} cold: {score.summary()}")
    used = sum(len(VERIFIED.get(name, ())) for name in {c.warehouse for c in cases})
    print(f"{split} with {used} verified examples: {taught.summary()}")
    if "-v" in argv:
        score = taught if "--taught" in argv else score
    if "-v" in argv:
        print("\n".join(score.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

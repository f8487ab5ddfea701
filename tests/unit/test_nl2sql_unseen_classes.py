"""Classes of unseen wording the offline composer reads on a schema built here (a climbing gym, camelCase).

Each question is composed, run on the same SQLite file and compared by result with hand-written SQL:
a number after an integer column filters it, a number before a table is a ranking's limit, an
aggregate word that names a column of the table before it is that column, a truncated name part
('reg' for registration), 'earliest/latest <year column>', a size superlative ranked 'by' a measure,
'combined' as a sum, and a '<table> <date column>' phrase that names the listing's table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.unit.nl2sql_support import answer, catalog_from_sqlite
from tests.unseen.harness import same_result


def _build(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE Climber (climberId INTEGER PRIMARY KEY, fullName TEXT NOT NULL, gradeLevel INTEGER,
                              homeWall TEXT, regYr INTEGER, visitCnt INTEGER, joinedOn DATE);
        CREATE TABLE Ascent (ascentId INTEGER PRIMARY KEY, climberId INTEGER REFERENCES Climber(climberId),
                             routeName TEXT, heightM REAL, durationMin INTEGER);
    """)
    walls = ["north", "cave", "slab"]
    con.executemany("INSERT INTO Climber VALUES (?, ?, ?, ?, ?, ?, ?)", [
        (i, f"Climber {i}", i % 5 + 1, walls[i % 3], 2015 + i % 9, 10 + i * 3, f"20{18 + i % 6}-0{1 + i % 9}-1{i % 9}")
        for i in range(1, 41)])
    con.executemany("INSERT INTO Ascent VALUES (?, ?, ?, ?, ?)", [
        (i, 1 + i * 7 % 40, f"Route {i % 12}", round(8 + (i * 37 % 100) / 10, 1), 5 + i * 13 % 97)
        for i in range(1, 121)])
    con.commit()
    con.close()


@pytest.fixture(scope="module")
def gym(tmp_path_factory):
    path = tmp_path_factory.mktemp("gym") / "gym.db"
    _build(path)
    return path, catalog_from_sqlite(path)


@pytest.mark.parametrize("question, reference, ordered", [
    ("how many climbers are at grade level 3", "SELECT COUNT(*) FROM Climber WHERE gradeLevel = 3", False),
    ("which 4 climbers have the highest visit count",
     "SELECT fullName, visitCnt FROM Climber ORDER BY visitCnt DESC LIMIT 4", True),
    ("average visit count by home wall", "SELECT homeWall, AVG(visitCnt) FROM Climber GROUP BY homeWall", False),
    ("the earliest registration year", "SELECT MIN(regYr) FROM Climber", False),
    ("top 3 longest ascents by duration",
     "SELECT ascentId, durationMin FROM Ascent ORDER BY durationMin DESC LIMIT 3", True),
    ("combined height of all ascents", "SELECT SUM(heightM) FROM Ascent", False),
    ("list the climbers joined after 2021", "SELECT fullName FROM Climber WHERE joinedOn >= '2022-01-01'", False),
])
def test_unseen_wording_classes_give_the_reference_result(gym, question, reference, ordered):
    path, catalog = gym
    out = answer(question, catalog)
    assert out["sql"], out["refusal"]
    con = sqlite3.connect(path)
    try:
        got, want = con.execute(out["sql"]).fetchall(), con.execute(reference).fetchall()
    finally:
        con.close()
    assert same_result(got, want, ordered), (out["sql"], got[:5], want[:5])


@pytest.mark.parametrize("question", [
    "how many climbers are at grade level",  # no number: nothing to filter, it is a count of climbers
    "what is the average salary of climbers",
    "how many instructors work at the cave wall",
])
def test_what_the_schema_cannot_answer_is_still_refused(gym, question):
    out = answer(question, gym[1])
    if question.endswith("grade level"):
        assert out["sql"] is None or "gradeLevel" not in out["sql"].split("WHERE")[-1]
    else:
        assert out["sql"] is None and out["refusal"]

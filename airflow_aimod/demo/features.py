"""A shipments table whose target depends on a ratio of two columns, for the feature engineer's demo and tests."""

from __future__ import annotations

import math
import random
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

CARRIERS = ("acme", "globex", "initech", "umbrella")


def with_shipments_table(source: Path, target: Path, *, rows: int = 1200, seed: int = 0) -> Path:
    """Copy the warehouse at ``source`` to ``target`` and add ``shipments``.

    Columns: ``id``, ``shipped_on`` (2024 dates), ``weight_kg`` (right-skewed), ``volume_l``, ``carrier`` (four
    values), ``handling_score`` (with NULLs), ``cost``. ``cost`` is 8 × the density ``weight_kg / volume_l``
    plus a little noise: neither column alone explains it, their ratio does. ``carrier`` and
    ``handling_score`` are pure noise, and whether ``handling_score`` is NULL says nothing either.
    """
    shutil.copyfile(source, target)
    rng = random.Random(seed)
    data = []
    for i in range(1, rows + 1):
        weight = round(math.exp(rng.gauss(2.5, 0.8)), 2)
        volume = round(rng.uniform(5, 60), 1)
        score = None if rng.random() < 0.1 else round(rng.uniform(0, 10), 1)
        shipped = (date(2024, 1, 1) + timedelta(days=rng.randrange(366))).isoformat()
        cost = round(8 * weight / volume + rng.gauss(0, 0.3), 3)
        data.append((i, shipped, weight, volume, rng.choice(CARRIERS), score, cost))
    with sqlite3.connect(target) as con:
        con.execute("CREATE TABLE shipments (id INTEGER PRIMARY KEY, shipped_on TEXT NOT NULL, weight_kg REAL NOT NULL, "
                    "volume_l REAL NOT NULL, carrier TEXT NOT NULL, handling_score REAL, cost REAL NOT NULL)")
        con.executemany("INSERT INTO shipments VALUES (?, ?, ?, ?, ?, ?, ?)", data)
    con.close()
    return target

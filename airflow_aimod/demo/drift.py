"""Inject a known drift into a copy of the demo warehouse, for the drift detector's demo and tests."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def with_drifted_orders(source: Path, target: Path, *, since: str = "2024-10-01", factor: float = 1.6) -> Path:
    """Copy the warehouse at ``source`` to ``target``; orders on or after ``since`` get ``total_amount``
    multiplied by ``factor`` and every other ``web`` order moves to a new channel, ``partner``.

    Status, dates and customers are untouched, so a detector should flag ``total_amount`` and
    ``channel`` (with ``partner`` as a new category) and nothing else.
    """
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    shutil.copyfile(source, target)
    with sqlite3.connect(target) as con:
        con.execute("UPDATE orders SET total_amount = ROUND(total_amount * ?, 2) WHERE order_date >= ?", (factor, since))
        con.execute("UPDATE orders SET channel = 'partner' WHERE order_date >= ? AND channel = 'web' AND id % 2 = 0",
                    (since,))
    con.close()
    return target

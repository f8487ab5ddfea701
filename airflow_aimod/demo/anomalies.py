"""Inject a known anomaly into a copy of the demo warehouse, for the anomaly detector's demo and tests."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def with_order_spike(source: Path, target: Path, *, day: str = "2024-06-15", extra_orders: int = 300) -> Path:
    """Copy the warehouse at ``source`` to ``target`` and add ``extra_orders`` orders on ``day``.

    The new orders copy the first existing order's customer, status, channel and amount, so only
    the daily count changes — a spike a detector should find and explain.
    """
    if extra_orders < 1:
        raise ValueError(f"extra_orders must be at least 1, got {extra_orders}")
    shutil.copyfile(source, target)
    with sqlite3.connect(target) as con:
        start = con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM orders").fetchone()[0]
        customer, status, channel, amount = con.execute(
            "SELECT customer_id, status, channel, total_amount FROM orders ORDER BY id LIMIT 1").fetchone()
        con.executemany("INSERT INTO orders (id, customer_id, order_date, status, channel, total_amount) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [(start + i, customer, day, status, channel, amount) for i in range(extra_orders)])
    con.close()
    return target

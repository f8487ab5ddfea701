"""A churn table with a known, partly non-linear relationship, for the ML agents' demo and tests."""

from __future__ import annotations

import math
import random
import shutil
import sqlite3
from pathlib import Path

PLANS = ("basic", "pro", "enterprise")
REGIONS = ("north", "south", "east", "west")


def with_churn_table(source: Path, target: Path, *, rows: int = 2000, seed: int = 0,
                     drift_since: str | None = None) -> Path:
    """Copy the warehouse at ``source`` to ``target`` and add ``customer_churn``.

    Columns: ``id``, ``snapshot_month`` (2024-01 … 2024-12), ``tenure_months``, ``monthly_spend``,
    ``support_tickets``, ``plan``, ``region``, ``churned`` (0/1). Churn risk rises with tickets mostly for
    short tenures (an interaction a linear model only half sees) and with spend on the basic plan; region
    is noise. Some ``monthly_spend`` values are NULL. With ``drift_since`` (a month, ``2024-10``) the rows of
    that month and later get three more support tickets and twice the spend: inputs drift, and the
    churn label follows the same rule.
    """
    shutil.copyfile(source, target)
    rng = random.Random(seed)
    data = []
    for i in range(1, rows + 1):
        tenure, tickets = rng.randint(1, 72), min(12, int(rng.expovariate(0.5)))
        plan, region = rng.choice(PLANS), rng.choice(REGIONS)
        spend = round(rng.uniform(10, 200), 2)
        month = f"2024-{1 + (i - 1) * 12 // rows:02d}"
        if drift_since and month >= drift_since:
            tickets, spend = min(12, tickets + 3), spend * 2
        logit = -2.0 + 1.2 * tickets * (tenure < 12) - 0.02 * tenure + 0.015 * spend * (plan == "basic")
        churned = int(rng.random() < 1 / (1 + math.exp(-logit)))
        data.append((i, month, tenure, None if rng.random() < 0.03 else spend, tickets, plan, region, churned))
    with sqlite3.connect(target) as con:
        con.execute("CREATE TABLE customer_churn (id INTEGER PRIMARY KEY, snapshot_month TEXT NOT NULL, "
                    "tenure_months INTEGER NOT NULL, monthly_spend NUMERIC(10,2), support_tickets INTEGER NOT NULL, "
                    "plan TEXT NOT NULL, region TEXT NOT NULL, churned INTEGER NOT NULL)")
        con.executemany("INSERT INTO customer_churn VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
    con.close()
    return target

"""Held-out (source, summary, label) pairs for the faithfulness checker.

Written once against sources the checker was not tuned on: faithful paraphrases, roundings and
selections (label ``True``) and deliberately unfaithful summaries (label ``False``), each of
one kind: a changed number, date, name, count, unit, direction, or an invented fact.
"""

from __future__ import annotations

import json

INCIDENT = (
    "On 2025-03-04 the payments_ingest DAG failed at 02:17 UTC after 3 retries. The task fetch_stripe_events "
    "raised a ReadTimeout from api.stripe.com. Kenji Watanabe restarted the task at 03:05 UTC and it succeeded. "
    "The backlog peaked at 48,915 events and was cleared in 37 minutes. Data in the payments mart was late by "
    "2 hours for the Lisbon office."
)
EVALUATION = (
    "Model churn_v7 was evaluated on the holdout set of 20,488 customers. AUC rose from 0.812 to 0.847 compared "
    "with production model churn_v6. Precision at the top decile fell to 0.61 from 0.64. Recall improved to "
    "0.733. The calibration error was 0.042, below the 0.05 limit. Priya Raman approved promotion on "
    "March 12, 2025."
)
QUALITY = (
    "The customers table has 1,284,311 rows. The email column is 2.4% null and 97.1% distinct. The country "
    "column has 41 distinct values; Germany is the most frequent with 318,220 rows. Duplicate customer_id "
    "values dropped from 1,207 to 88 after the dedup job on 2025-02-27. The signup_date column has no nulls."
)
OUTCOME = json.dumps({
    "status": "answered", "reason": "2 anomalous point(s) in orders per day",
    "result": {"subject": "orders per day", "detection": {"method": "seasonal", "verdict": "anomalous", "flags": [
        {"ts": "2024-06-15T00:00:00", "value": 327, "direction": "spike", "expected_low": 101, "expected_high": 149},
        {"ts": "2024-06-22T00:00:00", "value": 12, "direction": "drop", "expected_low": 98, "expected_high": 151},
    ]}}, "token_usage": {"total_tokens": 1840}})

CASES: list[tuple[str, str, bool, str]] = [
    # --- incident -------------------------------------------------------------------------------------------
    (INCIDENT, "The payments_ingest DAG failed on March 4, 2025 after three retries.", True, "paraphrase"),
    (INCIDENT, "Kenji Watanabe restarted fetch_stripe_events, which then succeeded.", True, "selection"),
    (INCIDENT, "The backlog peaked at about 49,000 events and took 37 minutes to clear.", True, "rounding"),
    (INCIDENT, "Payments data reached the Lisbon office 2 hours late.", True, "paraphrase"),
    (INCIDENT, "fetch_stripe_events timed out reading api.stripe.com (ReadTimeout).", True, "paraphrase"),
    (INCIDENT, "The payments_ingest DAG failed on 2025-03-05 after 3 retries.", False, "date"),
    (INCIDENT, "The payments_ingest DAG failed after 5 retries.", False, "number"),
    (INCIDENT, "Maria Lopez restarted the task and it succeeded.", False, "name"),
    (INCIDENT, "The backlog peaked at 48,951 events.", False, "number"),
    (INCIDENT, "The backlog was cleared in 37 hours.", False, "unit"),
    (INCIDENT, "Data in the payments mart was late by 2 days for the Lisbon office.", False, "unit"),
    (INCIDENT, "Data in the payments mart was late for the Madrid office.", False, "name"),
    (INCIDENT, "The failure was caused by an expired certificate on the load balancer.", False, "invented"),
    (INCIDENT, "The DAG failed after 3 tasks crashed.", False, "count"),
    # --- evaluation -----------------------------------------------------------------------------------------
    (EVALUATION, "churn_v7 improved AUC to 0.847 from 0.812 versus churn_v6.", True, "paraphrase"),
    (EVALUATION, "On the 20,488-customer holdout, AUC rose to about 0.85.", True, "rounding"),
    (EVALUATION, "Precision at the top decile dropped from 0.64 to 0.61.", True, "paraphrase"),
    (EVALUATION, "Calibration error of 0.042 stayed below the 0.05 limit.", True, "paraphrase"),
    (EVALUATION, "Priya Raman approved promotion of churn_v7 on March 12, 2025.", True, "selection"),
    (EVALUATION, "AUC fell from 0.812 to 0.847.", False, "direction"),
    (EVALUATION, "Precision at the top decile rose to 0.61.", False, "direction"),
    (EVALUATION, "Recall improved to 0.773.", False, "number"),
    (EVALUATION, "The calibration error was 0.042, above the 0.05 limit.", False, "direction"),
    (EVALUATION, "Priya Raman approved promotion on March 21, 2025.", False, "date"),
    (EVALUATION, "Tomas Berg approved promotion of churn_v7.", False, "name"),
    (EVALUATION, "churn_v8 was evaluated on the holdout set.", False, "name"),
    (EVALUATION, "Model churn_v7 was evaluated on the holdout set of 20,488 transactions.", False, "count"),
    (EVALUATION, "The model also reduced inference latency by half on GPU servers.", False, "invented"),
    # --- data quality ---------------------------------------------------------------------------------------
    (QUALITY, "customers holds about 1.28 million rows.", True, "rounding"),
    (QUALITY, "Email is 2.4% null; Germany leads the 41 countries with 318,220 rows.", True, "selection"),
    (QUALITY, "After the dedup job on February 27, 2025, duplicate customer_id values fell to 88.", True,
     "paraphrase"),
    (QUALITY, "signup_date has no nulls and email is about 97% distinct.", True, "rounding"),
    (QUALITY, "customers holds about 1.29 million rows.", False, "number"),
    (QUALITY, "The email column is 2.4% distinct.", False, "count"),
    (QUALITY, "Duplicate customer_id values rose from 1,207 to 88.", False, "direction"),
    (QUALITY, "France is the most frequent country.", False, "name"),
    (QUALITY, "The country column has 14 distinct values.", False, "number"),
    (QUALITY, "The email column has 2.4 million nulls.", False, "unit"),
    (QUALITY, "The dedup job ran on 2025-02-28.", False, "date"),
    (QUALITY, "The phone column is mostly empty and should be dropped before export.", False, "invented"),
    # --- agent outcome (JSON) -------------------------------------------------------------------------------
    (OUTCOME, "The seasonal detector flagged 2 anomalous points in orders per day.", True, "paraphrase"),
    (OUTCOME, "Orders spiked to 327 on 2024-06-15, above the expected 101 to 149.", True, "selection"),
    (OUTCOME, "On June 22, 2024 orders dropped to 12.", True, "paraphrase"),
    (OUTCOME, "The run used 1,840 tokens.", True, "selection"),
    (OUTCOME, "Orders spiked to 372 on 2024-06-15.", False, "number"),
    (OUTCOME, "Orders spiked to 327 on 2024-06-16.", False, "date"),
    (OUTCOME, "The robust_z detector flagged the series.", False, "name"),
    (OUTCOME, "The detector flagged 3 anomalous points.", False, "count"),
    (OUTCOME, "On June 22, 2024 orders dropped to 12%.", False, "unit"),
]

# --- a second set, written after the checker's last change and measured once, untuned -----------------------
SALES = (
    "Weekly sales report for the EMEA region, week ending 2025-05-18. Net revenue was EUR 2,931,450, up 6.8% "
    "on the previous week. Orders fell to 18,204 from 19,377. The average basket grew from 142.10 to 161.03. "
    "Returns stayed at 3.1% of orders. The Madrid store had the highest revenue; the Oslo store the lowest."
)
DRIFT = (
    "Drift check for feature_store.scoring_daily on 2025-06-02: 2 of 14 features drifted. tenure_months has a "
    "PSI of 0.31, above the 0.2 threshold. avg_ticket_value has a PSI of 0.24. The remaining 12 features stayed "
    "below 0.1. The check compared 50,000 scoring rows with 200,000 training rows. Owner: Lena Fischer."
)
ETL = json.dumps({"window": "24h", "failures": [
    {"dag_id": "crm_sync", "task_id": "pull_accounts", "try_number": 2, "classification": "transient",
     "evidence": "ConnectionResetError from crm.internal"},
    {"dag_id": "finance_close", "task_id": "post_journal", "try_number": 4, "classification": "permanent",
     "evidence": "KeyError: 'ledger_code'"}], "blocked": 1})

HELD_OUT: list[tuple[str, str, bool, str]] = [
    (SALES, "EMEA net revenue reached about EUR 2.93 million in the week ending May 18, 2025, up 6.8%.", True,
     "rounding"),
    (SALES, "Orders dropped from 19,377 to 18,204 while the average basket rose to 161.03.", True, "paraphrase"),
    (SALES, "Madrid led on revenue and Oslo trailed.", True, "selection"),
    (SALES, "Returns held at 3.1% of orders.", True, "paraphrase"),
    (SALES, "Net revenue was EUR 2,931,450, down 6.8% on the previous week.", False, "direction"),
    (SALES, "Orders rose to 18,204.", False, "direction"),
    (SALES, "The average basket grew to 116.03.", False, "number"),
    (SALES, "Returns stayed at 3.1% of revenue.", False, "count"),
    (SALES, "The Lisbon store had the highest revenue.", False, "name"),
    (SALES, "Weekly sales report for the week ending 2025-05-11.", False, "date"),
    (SALES, "Net revenue was USD 2,931,450.", False, "name"),
    (SALES, "A new loyalty programme drove repeat purchases among younger shoppers.", False, "invented"),
    (DRIFT, "2 of the 14 features in feature_store.scoring_daily drifted on June 2, 2025.", True, "paraphrase"),
    (DRIFT, "tenure_months drifted most (PSI 0.31, above the 0.2 threshold).", True, "selection"),
    (DRIFT, "The check used 50,000 scoring rows against 200,000 training rows.", True, "paraphrase"),
    (DRIFT, "Lena Fischer owns the check; the other 12 features stayed below 0.1.", True, "selection"),
    (DRIFT, "tenure_months has a PSI of 0.13, above the 0.2 threshold.", False, "number"),
    (DRIFT, "avg_ticket_value has a PSI of 0.24, below the 0.2 threshold.", False, "direction"),
    (DRIFT, "3 of 14 features drifted.", False, "count"),
    (DRIFT, "The check compared 50,000 training rows with 200,000 scoring rows.", False, "count"),
    (DRIFT, "Owner: Marco Rossi.", False, "name"),
    (DRIFT, "The drift check ran on 2025-06-03.", False, "date"),
    (DRIFT, "The drift was caused by a marketing campaign targeting new subscribers.", False, "invented"),
    (ETL, "In the last 24h, crm_sync.pull_accounts failed transiently on try 2.", True, "paraphrase"),
    (ETL, "finance_close.post_journal failed permanently with KeyError: 'ledger_code' after 4 tries.", True,
     "paraphrase"),
    (ETL, "One task was blocked.", True, "paraphrase"),
    (ETL, "crm_sync.pull_accounts failed on try 3.", False, "number"),
    (ETL, "finance_close.post_journal failed with a transient error.", False, "direction"),
    (ETL, "billing_export.post_invoice failed permanently.", False, "name"),
    (ETL, "In the last 48h, two tasks failed.", False, "unit"),
]

# --- a third set (number words, contradictory category words), written before the checker was changed for
# them and measured before and after; other domains than the sets above ----------------------------------------
BUILD = (
    "CI report for the checkout-service repository, pipeline 8812 on 2025-09-09. The build job succeeded in "
    "14 minutes. Unit tests: 1,412 passed, 3 failed, 12 skipped. The integration suite was disabled for this "
    "pipeline. The deploy to staging was approved by Ines Duarte and the canary stayed healthy. The flaky test "
    "test_refund_rounding was retried twice before it passed."
)
SHIPPING = (
    "Fulfilment summary for the Rotterdam warehouse on 2025-10-21: 12 outbound trucks left on time and 1 truck "
    "was delayed by 3 hours. 4,870 parcels were shipped; 0 parcels were lost. The sorter line B was offline "
    "for 40 minutes for planned maintenance; line A stayed online. Carrier DHL handled the domestic routes and "
    "carrier Maersk the international ones. Returns were received from 9 customers."
)
SLO = json.dumps({"service": "search-api", "window": "7d", "availability": 0.9987, "objective": 0.999,
                  "status": "breached", "incidents": [
                      {"id": "INC-2291", "severity": "major", "cause": "internal", "component": "index_shard_4",
                       "resolved": True},
                      {"id": "INC-2304", "severity": "minor", "cause": "external", "component": "cdn_edge",
                       "resolved": False}], "pages": 2, "rollbacks": 0})

NEW_HELD_OUT: list[tuple[str, str, bool, str]] = [
    # --- CI build -------------------------------------------------------------------------------------------
    (BUILD, "Pipeline 8812 of checkout-service built successfully in 14 minutes.", True, "paraphrase"),
    (BUILD, "Three unit tests failed, twelve were skipped and 1,412 passed.", True, "number words"),
    (BUILD, "test_refund_rounding passed after being retried twice.", True, "paraphrase"),
    (BUILD, "Ines Duarte approved the staging deploy; the canary remained healthy.", True, "paraphrase"),
    (BUILD, "The integration suite was disabled for this pipeline.", True, "selection"),
    (BUILD, "The build job failed after 14 minutes.", False, "contradiction"),
    (BUILD, "The integration suite was enabled for this pipeline.", False, "contradiction"),
    (BUILD, "Four unit tests failed.", False, "number words"),
    (BUILD, "test_refund_rounding was retried three times.", False, "number words"),
    (BUILD, "Ines Duarte rejected the deploy to staging.", False, "contradiction"),
    (BUILD, "The canary became unhealthy after the staging deploy.", False, "contradiction"),
    # --- warehouse ------------------------------------------------------------------------------------------
    (SHIPPING, "A dozen trucks left Rotterdam on time; a single truck was delayed by 3 hours.", True,
     "number words"),
    (SHIPPING, "No parcels were lost out of about 4,900 shipped.", True, "number words"),
    (SHIPPING, "Sorter line B went offline for 40 minutes of planned maintenance while line A stayed online.", True,
     "paraphrase"),
    (SHIPPING, "DHL carried the domestic routes and Maersk the international ones.", True, "selection"),
    (SHIPPING, "Nine customers sent returns.", True, "number words"),
    (SHIPPING, "Two trucks were delayed by 3 hours.", False, "number words"),
    (SHIPPING, "Sorter line A was offline for 40 minutes.", False, "contradiction"),
    (SHIPPING, "Carrier DHL handled the international routes.", False, "contradiction"),
    (SHIPPING, "The maintenance on line B was unplanned.", False, "contradiction"),
    (SHIPPING, "Eleven outbound trucks left on time.", False, "number words"),
    # --- SLO (JSON) -----------------------------------------------------------------------------------------
    (SLO, "search-api breached its 99.9% availability objective over 7d, reaching 99.87%.", True, "rounding"),
    (SLO, "INC-2291 had an internal cause and is resolved; INC-2304 had an external cause.", True, "paraphrase"),
    (SLO, "There were no rollbacks and two pages.", True, "number words"),
    (SLO, "INC-2291 was a major incident in index_shard_4.", True, "selection"),
    (SLO, "INC-2304 had an internal cause.", False, "contradiction"),
    (SLO, "INC-2291 was a minor incident.", False, "contradiction"),
    (SLO, "There was a single page during the window.", False, "number words"),
    (SLO, "search-api met its availability objective.", False, "contradiction"),
]

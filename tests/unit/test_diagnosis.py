"""Failure diagnosis from task logs: real Airflow 3.3.2 logs, and excerpts in the same shape, classified.

``flaky_connection_refused.json`` and ``broken_key_error.json`` are the ``content`` of
``GET /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}/logs/1`` captured from a real
Airflow 3.3.2 run of ``dags/aimod_etl_examples.py``. The other excerpts reuse that shape (the
``Task failed with exception`` record with ``error_detail``) with the exceptions real drivers raise.
"""

from __future__ import annotations

import pytest

from airflow_aimod.core.diagnosis import PERMANENT, TRANSIENT, UNKNOWN, RetryBudget, diagnose, read_records
from tests.support.airflow_api_server import real_log

USER_FRAME = {"filename": "/opt/airflow/dags/load.py", "lineno": 31, "name": "load"}


def failed_with(exc_type: str, exc_value: str, *, causes=(), before=()) -> list[dict]:
    """A 3.3-shaped log: a few info records, then the failure record with its exception chain."""
    chain = [{"exc_type": exc_type, "exc_value": exc_value, "exc_notes": [], "syntax_error": None,
              "is_cause": False, "frames": [{"filename": "/venv/airflow/sdk/execution_time/task_runner.py",
                                             "lineno": 1579, "name": "_run_task_and_map_outcome"}, USER_FRAME],
              "is_group": False, "exceptions": []}]
    chain += [{"exc_type": t, "exc_value": v, "exc_notes": [], "is_cause": True, "frames": [USER_FRAME]}
              for t, v in causes]
    return [{"timestamp": "2026-12-01T21:14:31.213096Z", "event": "::group::Pre Execute", "level": "info"},
            *({"timestamp": "2026-12-01T21:14:51.5Z", "event": e, "level": "error"} for e in before),
            {"timestamp": "2026-12-01T21:14:51.570938Z", "event": "Task failed with exception", "level": "error",
             "logger": "task", "error_detail": chain},
            {"timestamp": "2026-12-01T21:14:51.609334Z", "event": "::endgroup::", "level": "info"}]


def test_the_real_connection_refused_log_is_transient_with_its_evidence():
    d = diagnose(real_log("flaky_connection_refused"))
    assert (d.classification, d.rule, d.retryable) == (TRANSIENT, "connection", True)
    assert d.failure.exc_type == "ConnectionError"
    assert d.failure.message == "connection refused: could not reach the source database at 10.0.0.7:5432"
    assert d.failure.last_frame["name"] == "load_orders" and d.failure.last_frame["lineno"] == 24
    assert d.evidence[0] == "ConnectionError: connection refused: could not reach the source database at 10.0.0.7:5432"
    assert d.evidence[1].endswith("aimod_etl_examples.py:24 in load_orders")


def test_the_real_key_error_log_is_a_permanent_bug_in_user_code():
    d = diagnose(real_log("broken_key_error"))
    assert (d.classification, d.rule, d.retryable) == (PERMANENT, "code_bug", False)
    assert d.failure.headline == "KeyError: 'customer_id'"
    assert d.failure.last_frame["name"] == "transform_orders" and d.failure.last_frame["lineno"] == 36


@pytest.mark.parametrize(("exc_type", "exc_value", "expected", "rule"), [
    ("psycopg.OperationalError", 'connection failed: connection to server at "10.0.0.7", port 5432 failed: '
     "Connection refused", TRANSIENT, "connection"),
    ("ConnectionResetError", "[Errno 104] Connection reset by peer", TRANSIENT, "connection"),
    ("requests.exceptions.HTTPError", "503 Server Error: Service Unavailable for url: https://api.example.com/v1",
     TRANSIENT, "rate_limited_or_unavailable"),
    ("requests.exceptions.HTTPError", "429 Client Error: Too Many Requests for url: https://api.example.com/v1",
     TRANSIENT, "rate_limited_or_unavailable"),
    ("psycopg.errors.DeadlockDetected", "deadlock detected\nDETAIL:  Process 81 waits for ShareLock on transaction",
     TRANSIENT, "deadlock"),
    ("sqlite3.OperationalError", "database is locked", TRANSIENT, "database_locked"),
    ("httpx.ReadTimeout", "timed out", TRANSIENT, "timeout"),
    ("airflow.sdk.exceptions.AirflowTaskTimeout", "Timeout, PID: 4242", TRANSIENT, "timeout"),
    ("psycopg.errors.UndefinedTable", 'relation "staging.orders" does not exist\nLINE 1: SELECT * FROM staging.orders',
     PERMANENT, "missing_table_or_column"),
    ("sqlite3.OperationalError", "no such column: customer_id", PERMANENT, "missing_table_or_column"),
    ("psycopg.errors.InsufficientPrivilege", "permission denied for table orders", PERMANENT, "permission_denied"),
    ("PermissionError", "[Errno 13] Permission denied: '/data/export.csv'", PERMANENT, "permission_denied"),
    ("OSError", "[Errno 28] No space left on device", PERMANENT, "out_of_disk"),
    ("psycopg.errors.SyntaxError", 'syntax error at or near "FORM"', PERMANENT, "sql_syntax"),
    ("SyntaxError", "invalid syntax", PERMANENT, "python_syntax"),
    ("TypeError", "load() got an unexpected keyword argument 'timeout'", PERMANENT, "code_bug"),
    ("ValueError", "the upstream file has 0 rows", UNKNOWN, None),
])
def test_declared_patterns_classify_failures(exc_type, exc_value, expected, rule):
    d = diagnose(failed_with(exc_type, exc_value))
    assert (d.classification, d.rule) == (expected, rule)
    assert d.evidence[0] == f"{exc_type}: {exc_value}"[:500]
    assert d.evidence[1] == "at /opt/airflow/dags/load.py:31 in load"


def test_a_cause_in_the_chain_and_error_lines_count_as_evidence():
    d = diagnose(failed_with("airflow.exceptions.AirflowException", "load failed",
                             causes=[("psycopg.OperationalError", "server closed the connection unexpectedly")]))
    assert (d.classification, d.rule) == (TRANSIENT, "connection")
    assert "psycopg.OperationalError: server closed the connection unexpectedly" in d.evidence
    bash = diagnose(failed_with("airflow.exceptions.AirflowException", "Bash command failed. The command returned "
                                "a non-zero exit code 2.", before=["psql: error: could not connect to server"]))
    assert bash.rule == "connection" and "psql: error: could not connect to server" in bash.evidence


def test_a_log_without_an_error_is_unknown_and_says_so():
    d = diagnose([{"event": "::group::Pre Execute", "level": "info"}, {"event": "Task was killed", "level": "info"}])
    assert d.classification == UNKNOWN and d.retryable is None and d.evidence == ()
    assert "a person should look" in d.why


def test_plain_text_tracebacks_are_read_too():
    log = ["[2024-05-01, 03:00:01 UTC] {taskinstance.py:2905} ERROR - Task failed with exception",
           "Traceback (most recent call last):",
           '  File "/opt/airflow/dags/load.py", line 12, in extract',
           "    rows = cursor.execute(sql)",
           "sqlite3.OperationalError: database is locked",
           "[2024-05-01, 03:00:01 UTC] {taskinstance.py:1206} INFO - Marking task as FAILED."]
    d = diagnose(log)
    assert (d.classification, d.rule) == (TRANSIENT, "database_locked")
    assert d.failure.last_frame == {"filename": "/opt/airflow/dags/load.py", "lineno": 12, "name": "extract"}
    assert [r.level for r in read_records(log)][:2] == ["error", ""]


@pytest.mark.parametrize(("try_number", "used", "remaining", "allows"), [
    (1, 0, 3, True), (2, 1, 2, True), (3, 2, 1, True), (4, 3, 0, False), (9, 8, 0, False), (0, 0, 3, True)])
def test_the_retry_budget_counts_every_try_after_the_first(try_number, used, remaining, allows):
    budget = RetryBudget(max_auto_retries=3, try_number=try_number)
    assert (budget.used, budget.remaining, budget.allows_clear) == (used, remaining, allows)


def test_a_zero_budget_never_allows_a_clear():
    assert not RetryBudget(max_auto_retries=0, try_number=1).allows_clear

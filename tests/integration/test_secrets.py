"""A gateway that answers 401 quoting the Authorization header: the API key must appear nowhere.

Real Airflow (``dag.test`` of dags/aimod_guarded.py), a real ChatOpenAI built by the hook from an
``AIRFLOW_CONN_*`` connection whose password is the key, and the local OpenAI-compatible server of
tests/support/openai_server.py echoing that key in its error body. Afterwards the key is searched
for in the outcome (XCom), every event, every log record and everything printed, and in the raw
bytes of every file under AIRFLOW_HOME: the metadata DB, the AiMod store, the checkpoints.
The same holds for the CLI (``aimod sql ask --llm``) in a fresh process.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, example_dag
from tests.support.openai_server import OpenAIServer, echo_auth

pytestmark = pytest.mark.airflow

KEY = "sk-live-" + secrets.token_hex(24)


@pytest.fixture(scope="module")
def guarded_dag(airflow_db):
    return example_dag("aimod_guarded")


@pytest.fixture
def leaky_gateway(monkeypatch):
    with OpenAIServer(default=echo_auth(401)) as server:
        conn = {"conn_type": "aimod_llm", "host": server.url + "/v1", "password": KEY,
                "extra": {"model": "gpt-test", "timeout": 10, "max_retries": 2}}
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_LEAKY", json.dumps(conn))
        yield server


_SCAN = ("import json, sys\nfrom pathlib import Path\n"
         "print(json.dumps([str(p) for p in Path(sys.argv[1]).rglob('*') if p.is_file() "
         "and sys.argv[2].encode() in p.read_bytes()]))")


def files_holding(root: Path, needle: str) -> list[str]:
    """Files under ``root`` whose raw bytes hold ``needle``, read by a separate process.

    Not from this process: it holds SQLite connections to those files, and closing any other descriptor of a
    file drops every POSIX lock the process holds on it; the next process to close the store then takes it for
    the last user, checkpoints and deletes the WAL under this process's open connections ("disk I/O error"
    in whichever test touches the store next).
    """
    proc = subprocess.run([sys.executable, "-c", _SCAN, str(root), needle], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def xcom_values(dag_id: str, run_id: str) -> list:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return [row.value for row in session.query(XComModel).filter(XComModel.dag_id == dag_id,
                                                                     XComModel.run_id == run_id)]


def stored_rows(run_id: str) -> list:
    """Every outcome and event row of the AiMod store for ``run_id`` (and all events: they carry no run id)."""
    from airflow_aimod.observability.sinks import shared_store, store_url

    store = shared_store(store_url())
    outcomes = store.fetch(store.sql("SELECT * FROM aimod_outcomes WHERE run_id = ?"), (run_id,))
    assert outcomes, "the run's outcome was not stored"
    return outcomes + store.fetch("SELECT * FROM aimod_events")


def test_a_gateway_echoing_the_key_leaks_it_nowhere(guarded_dag, leaky_gateway, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    dag_run = guarded_dag.test(run_conf={"llm": "aimod_leaky", "question": "How many orders in 2024?"})
    printed = capsys.readouterr()

    requests = leaky_gateway.chat_requests()
    assert requests and requests[0].headers["authorization"] == f"Bearer {KEY}", "the gateway never saw the key"
    values = xcom_values(guarded_dag.dag_id, dag_run.run_id)
    outcome = next(v for v in values if isinstance(v, dict) and v.get("status"))
    assert "AuthenticationError" in outcome["reason"] and "***" in outcome["reason"], outcome["reason"]

    assert KEY not in json.dumps(values, default=str), "the key reached XCom"
    records = [f"{r.getMessage()} {r.args!r} {getattr(r, 'exc_text', '') or ''}" for r in caplog.records]
    assert not [r for r in records if KEY in r], "the key reached a log record"
    assert KEY not in printed.out + printed.err, "the key was printed"
    assert KEY not in json.dumps(stored_rows(dag_run.run_id), default=str), "the key reached the AiMod store"
    home = Path(os.environ["AIRFLOW_HOME"])
    assert files_holding(home, KEY) == [], "the key was written to a file under AIRFLOW_HOME"


def test_the_hook_registers_the_key_with_airflow_s_masker(leaky_gateway):
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact

    from airflow_aimod.core.redaction import scrub
    from airflow_aimod.hooks.llm import AimodLLMHook

    assert AimodLLMHook(llm_conn_id="aimod_leaky").llm_config().api_key == KEY
    assert KEY not in str(redact(f"the key is {KEY}")) and KEY not in scrub(f"the key is {KEY}")


def test_the_cli_prints_no_key(leaky_gateway, warehouse):
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    proc = subprocess.run([sys.executable, "-m", "airflow_aimod.cli", "sql", "ask", "--conn-id", "aimod_warehouse",
                           "--llm", "aimod_leaky", "How many orders were placed in 2024?"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=180)
    assert leaky_gateway.chat_requests(), proc.stderr[-2000:]
    assert KEY not in proc.stdout and KEY not in proc.stderr
    assert "AuthenticationError" in proc.stdout + proc.stderr

"""hooks/mlflow.py: the embedded SQLite store, a tracking URI by connection, and a Postgres backend store."""

from __future__ import annotations

import json

import pytest

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.hooks.mlflow import AimodMlflowHook
from tests.pg import airflow_connection, throwaway_database

pytestmark = pytest.mark.airflow


def test_no_connection_means_the_embedded_sqlite_store_under_the_airflow_home(airflow_db):
    tracker = AimodMlflowHook().get_tracker()
    assert tracker.tracking_uri == f"sqlite:///{airflow_db}/aimod/mlflow.db"
    assert tracker.artifact_root == f"{airflow_db}/aimod/mlartifacts"


def test_a_tracking_uri_by_connection_is_a_real_store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/m.db"
    monkeypatch.setenv("AIRFLOW_CONN_ML", json.dumps({"conn_type": "aimod_mlflow",
                                                      "extra": {"tracking_uri": uri, "artifact_root": str(tmp_path)}}))
    hook = AimodMlflowHook(mlflow_conn_id="ml")
    assert hook.test_connection() == (True, "MLflow tracking store reachable")
    tracker = hook.get_tracker()
    assert tracker.tracking_uri == uri and tracker.experiment_id("e") == tracker.experiment_id("e", create=False)


@pytest.mark.parametrize("conn, message", [
    ({"conn_type": "aimod_mlflow", "extra": {"trackin_uri": "x"}}, "unknown extra keys"),
    ({"conn_type": "aimod_mlflow", "host": "http://h", "extra": {"tracking_uri": "sqlite:///x"}}, "exactly one"),
    ({"conn_type": "http", "host": "h"}, "conn type 'http'"),
])
def test_a_misconfigured_connection_says_how_to_fix_it(conn, message, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ML", json.dumps(conn))
    with pytest.raises(ConfigurationError, match=message):
        AimodMlflowHook(mlflow_conn_id="ml").get_tracker()
    ok, text = AimodMlflowHook(mlflow_conn_id="ml").test_connection()
    assert not ok and message.split()[0] in text


@pytest.mark.postgres
def test_a_postgres_backend_store_by_connection_holds_the_runs(tmp_path, monkeypatch):
    import psycopg

    with throwaway_database("aimod_test_mlflow") as url:
        monkeypatch.setenv("AIRFLOW_CONN_MLPG", airflow_connection(url))
        monkeypatch.setenv("AIRFLOW_CONN_ML", json.dumps({"conn_type": "aimod_mlflow", "extra": {
            "backend_conn_id": "mlpg", "artifact_root": str(tmp_path)}}))
        tracker = AimodMlflowHook(mlflow_conn_id="ml").get_tracker()
        assert tracker.tracking_uri.startswith("postgresql+psycopg://postgres@127.0.0.1:5432/")
        experiment = tracker.experiment_id("churn")
        with psycopg.connect(url) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM experiments ORDER BY experiment_id")]
        assert "churn" in names and experiment == tracker.experiment_id("churn", create=False)


def test_a_tracking_token_goes_with_its_own_trackers_calls_only(monkeypatch):
    """A local HTTP server stands in for a tracking server: the real MLflow client sends the connection's token
    as a bearer header, the process environment keeps no token, and a tokenless tracker sends none."""
    import os
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class TrackingServer(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.headers.get("Authorization"))
            body = b'{"experiments": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), TrackingServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
        monkeypatch.setenv("AIRFLOW_CONN_MLTOKEN", json.dumps({"conn_type": "aimod_mlflow", "host": url,
                                                               "password": "s3cret-token"}))
        monkeypatch.setenv("AIRFLOW_CONN_MLOPEN", json.dumps({"conn_type": "aimod_mlflow", "host": url}))
        assert AimodMlflowHook(mlflow_conn_id="mltoken").test_connection() == (True, "MLflow tracking store reachable")
        with_token, seen[:] = list(seen), []
        assert "MLFLOW_TRACKING_TOKEN" not in os.environ
        assert AimodMlflowHook(mlflow_conn_id="mlopen").test_connection()[0]
    finally:
        server.shutdown()
    assert with_token and set(with_token) == {"Bearer s3cret-token"}
    assert seen and set(seen) == {None}

"""A tiny local HTTP server speaking the few Airflow REST API v2 endpoints the ETL monitor uses.

Not Airflow: a stand-in for unit tests of the graph (the real API server is exercised by
tests/e2e/test_etl_monitor.py). Task instances live in memory; a clear starts a new try at
once and the task's ``outcomes`` script decides how that try ends. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

LOGS = Path(__file__).resolve().parents[1] / "unit" / "etl_logs"


def real_log(name: str) -> list[dict[str, Any]]:
    """A log as Airflow 3.3.2's API served it (``content``), captured from a real run."""
    return json.loads((LOGS / f"{name}.json").read_text())["content"]


@dataclass
class FakeTask:
    """One task instance; ``outcomes[i]`` is how try ``i + 2`` ends after a clear ("success"/"failed")."""

    dag_id: str
    run_id: str
    task_id: str
    log: list[Any]
    outcomes: list[str] = field(default_factory=list)
    state: str = "failed"
    try_number: int = 1
    end_date: str = "2026-01-10T09:00:00+00:00"

    def to_api(self) -> dict[str, Any]:
        return {"dag_id": self.dag_id, "dag_run_id": self.run_id, "task_id": self.task_id, "map_index": -1,
                "state": self.state, "try_number": self.try_number, "end_date": self.end_date}


class FakeAirflowApi:
    """Start with ``with FakeAirflowApi(tasks, users) as api:``; ``api.url`` is the base URL."""

    def __init__(self, tasks: list[FakeTask], users: dict[str, str]) -> None:
        self.tasks, self.users, self.requests = tasks, users, []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeAirflowApi:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str, pattern: str = "") -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[0] == method and re.search(pattern, r[1])]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length)) if length else None

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _dispatch(self, method: str) -> None:
                url = urlparse(self.path)
                body = self._body()
                with api.lock:
                    api.requests.append((method, url.path, body))
                    status, out = api.route(method, url.path, parse_qs(url.query), body,
                                            self.headers.get("Authorization", ""))
                self._send(status, out)

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_PATCH(self) -> None:
                self._dispatch("PATCH")

        return Handler

    def route(self, method: str, path: str, query: dict, body: Any, auth: str) -> tuple[int, Any]:
        if path == "/auth/token" and method == "POST":
            ok = self.users.get(body.get("username")) == body.get("password")
            return (201, {"access_token": f"jwt-{body['username']}"}) if ok else (401, {"detail": "bad login"})
        if not auth.startswith("Bearer jwt-"):
            return 401, {"detail": "Not authenticated"}
        parts = [unquote(p) for p in path.removeprefix("/api/v2/").split("/")]
        if parts[0] != "dags":
            return 404, {"detail": "no such route"}
        return self._dags(method, parts[1:], query, body)

    def _dags(self, method: str, parts: list[str], query: dict, body: Any) -> tuple[int, Any]:
        dag_id, rest = parts[0], parts[1:]
        mine = [t for t in self.tasks if t.dag_id == dag_id]
        if method == "GET" and rest == ["dagRuns"]:
            since = query.get("end_date_gte", [""])[0]
            runs = {t.run_id for t in mine if t.state == "failed" and t.end_date >= since}
            return 200, {"dag_runs": [{"dag_id": dag_id, "dag_run_id": r, "state": "failed"} for r in sorted(runs)]}
        if method == "GET" and len(rest) >= 3 and rest[0] == "dagRuns" and rest[2] == "taskInstances":
            tis = [t for t in mine if t.run_id == rest[1]]
            return self._task_instances(rest[3:], tis, query)
        if method == "POST" and rest == ["clearTaskInstances"]:
            return self._clear(mine, body)
        return 405, {"detail": f"{method} /dags/{dag_id}/{'/'.join(rest)} is not served here"}

    def _task_instances(self, rest: list[str], tis: list[FakeTask], query: dict) -> tuple[int, Any]:
        if not rest:
            state = query.get("state", [None])[0]
            return 200, {"task_instances": [t.to_api() for t in tis if state in (None, t.state)]}
        task = next((t for t in tis if t.task_id == rest[0]), None)
        if task is None:
            return 404, {"detail": "no such task instance"}
        if len(rest) == 3 and rest[1] == "logs":
            return 200, {"content": task.log, "continuation_token": None}
        return 200, task.to_api()

    def _clear(self, tasks: list[FakeTask], body: dict) -> tuple[int, Any]:
        assert body["dry_run"] is False and body["only_failed"] is True
        cleared = []
        for task in tasks:
            if task.run_id == body["dag_run_id"] and task.task_id in body["task_ids"] and task.state == "failed":
                task.try_number += 1
                task.state = task.outcomes.pop(0) if task.outcomes else "failed"
                cleared.append(task.to_api())
        return 200, {"task_instances": cleared, "total_entries": len(cleared)}

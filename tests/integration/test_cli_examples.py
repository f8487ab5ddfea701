"""``aimod examples`` and the commands that use stored examples, on a warehouse the package never saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unseen.warehouses import build_fleet


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli_examples")
    build_fleet(root / "fleet.db")
    return {**os.environ, "AIRFLOW__AIMOD__STORE_URL": f"sqlite:///{root / 'store.sqlite'}",
            "AIRFLOW_CONN_FLEET": json.dumps({"conn_type": "sqlite", "host": str(root / "fleet.db")})}


def aimod(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "airflow_aimod.cli", *args], capture_output=True, text=True,
                          timeout=180, env=env, input=stdin)
    return proc.returncode, proc.stdout, proc.stderr


def test_examples_add_list_export_import_remove_and_reuse(env: dict[str, str], tmp_path: Path):
    sql = "SELECT COUNT(*) FROM Trip WHERE destinationCity = 'Lyon'"
    code, out, err = aimod(env, "examples", "add", "--agent", "sql_agent", "--conn-id", "fleet",
                           "--question", "how many trips arrived in Lyon", "--sql", sql, "--verified-by", "ana")
    assert code == 0, err
    added = json.loads(out)
    assert added["agent"] == "sql_agent" and added["id"]

    code, out, _ = aimod(env, "sql", "ask", "--conn-id", "fleet", "how many trips arrived in Graz")
    answer = json.loads(out)
    assert code == 0 and "destinationCity = 'Graz'" in answer["sql"], answer

    code, out, _ = aimod(env, "examples", "add", "--agent", "task_router", "--request",
                         "tonnage moved last week per depot", "--route", "sql_agent")
    assert code == 0 and json.loads(out)["agent"] == "task_router"
    code, out, _ = aimod(env, "route", "--conn-id", "fleet", "tonnage moved last week per depot")
    assert json.loads(out)["decision"] == "dispatch" and json.loads(out)["agent"] == "sql_agent"

    code, exported, _ = aimod(env, "examples", "export")
    assert code == 0 and len(exported.splitlines()) == 2
    code, out, _ = aimod(env, "examples", "remove", added["id"])
    assert code == 0 and json.loads(out)["removed"]
    listed = json.loads(aimod(env, "examples", "list", "--agent", "sql_agent")[1])
    assert listed == []
    (tmp_path / "x.jsonl").write_text(exported)
    code, out, _ = aimod(env, "examples", "import", str(tmp_path / "x.jsonl"))
    assert code == 0 and json.loads(out) == {"imported": 2}


@pytest.mark.parametrize("sql, message", [
    ("DELETE FROM Trip", "SQL guard refuses"),
    ("SELECT COUNT(*) FROM Voyage", "does not have"),
])
def test_an_example_the_guard_or_the_live_schema_refuses_is_not_stored(env: dict[str, str], sql: str, message: str):
    code, out, err = aimod(env, "examples", "add", "--agent", "sql_agent", "--conn-id", "fleet",
                           "--question", "q", "--sql", sql)
    assert code == 2 and message in err and "Traceback" not in err and out == ""

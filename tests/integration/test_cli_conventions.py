"""``aimod`` as Airflow users expect a CLI: --version, help on every flag, -o json|table|yaml, progress on
stderr, documented exit codes, one-line errors; ``trace`` and ``health`` read a real store written by a
real ``dag.test`` run. Every command runs the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import pty
import subprocess

import pytest
import yaml

from airflow_aimod import __version__
from airflow_aimod.cli import build_parser
from airflow_aimod.cli.output import EXIT_CODES
from tests.integration.test_cli import AIMOD, aimod


def test_version():
    code, out, _ = aimod("--version")
    assert code == 0 and __version__ in out


def _actions(parser):
    for action in parser._actions:
        if getattr(action, "choices", None) and isinstance(action.choices, dict):
            for child in action.choices.values():
                yield from _actions(child)
        elif action.dest not in ("help", "version"):
            yield parser.prog, action


def test_every_flag_and_argument_has_help_and_list_flags_show_their_format():
    undocumented = [f"{prog} {action.dest}" for prog, action in _actions(build_parser()) if not action.help]
    assert undocumented == []
    out = " ".join(aimod("sql", "check", "--help")[1].split())
    assert "comma-separated (e.g. customers,employees)" in out and "table.column" in out


def test_help_lists_the_exit_codes():
    out = aimod("--help")[1]
    for code, meaning in EXIT_CODES:
        assert f"  {code:<4} {meaning}" in out


def test_output_formats_and_json_when_piped():
    sql = "SELECT count(*) FROM orders"
    assert json.loads(aimod("sql", "check", sql)[1])["tables"] == ["orders"]  # stdout is a pipe: JSON
    assert yaml.safe_load(aimod("sql", "check", "-o", "yaml", sql)[1])["tables"] == ["orders"]
    table = aimod("sql", "check", "-o", "table", sql)[1]
    assert table.splitlines()[0].split() == ["field", "value"] and "orders" in table


def test_a_terminal_gets_a_table_by_default():
    leader, follower = pty.openpty()
    proc = subprocess.Popen([AIMOD, "agents"], stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    out = b"".join(chunks).decode()
    assert proc.returncode == 0 and out.split()[:4] == ["name", "tier", "timeout_s", "description"]
    assert "sql_agent" in out and not out.lstrip().startswith("[")


def test_long_text_from_stdin():
    code, out, _ = aimod("sql", "check", "-", stdin="SELECT count(*)\nFROM orders")
    assert code == 0 and json.loads(out)["tables"] == ["orders"]


def test_slow_commands_say_what_they_do_on_stderr(warehouse):
    code, out, err = aimod("sql", "ask", "--conn-id", "aimod_warehouse", "how many orders are there?")
    assert code == 0 and json.loads(out)["status"] == "answered"  # stdout stays clean JSON
    # loading LangChain and Airflow takes seconds: the first step says so, then how long it took
    assert "aimod: loading the SQL agent and connection 'aimod_warehouse' ...\n" in err
    assert all(line.startswith("aimod: ") for line in err.splitlines()) and " done in " in err


@pytest.fixture(scope="module")
def finished_run(quickstart_dag):
    """One real quickstart run (router + SQL agent) whose events went to the embedded store."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    run = quickstart_dag.test(run_conf={"request": "How many orders were placed in 2024?"})
    with create_session() as session:
        row = session.query(XComModel).filter(XComModel.dag_id == quickstart_dag.dag_id, XComModel.run_id == run.run_id,
                                              XComModel.task_id == "sql_agent", XComModel.key == "return_value").one()
    return row.value["trace_id"]


@pytest.mark.airflow
def test_trace_prints_the_timeline_of_a_real_run(finished_run):
    code, out, err = aimod("trace", finished_run)
    assert code == 0, err
    trace = json.loads(out)
    agents = [e["agent"] for e in trace["events"]]
    assert agents[0] == "task_router" and "sql_agent" in agents
    assert {"llm_call", "tool_call"} <= {e["kind"] for e in trace["events"]}
    offsets = [e["t_s"] for e in trace["events"]]
    assert offsets[0] == 0 and offsets == sorted(offsets)
    assert {o["agent"]: o["status"] for o in trace["outcomes"]}["sql_agent"] == "answered"
    code, table, _ = aimod("trace", finished_run, "-o", "table")
    assert code == 0 and f"trace {finished_run}: {len(trace['events'])} event(s)" in table
    assert table.splitlines()[1].split()[:5] == ["t_s", "agent", "task_id", "kind", "name"]


@pytest.mark.airflow
def test_health_is_a_per_agent_table(finished_run):
    code, out, err = aimod("health", "--window", "1h")
    assert code == 0, err
    rows = {row["agent"]: row for row in json.loads(out)}
    assert rows["sql_agent"]["runs"] >= 1 and rows["sql_agent"]["succeeded"] >= 1
    assert rows["task_router"]["runs"] >= 1
    code, table, _ = aimod("health", "-o", "table")
    assert code == 0 and table.split()[:3] == ["agent", "runs", "succeeded"] and "sql_agent" in table


@pytest.mark.parametrize("args, code, says", [
    (["trace", "0123456789abcdef0123456789abcdef"], 1, "no events for trace 0123456789abcdef0123456789abcdef"),
    (["trace", "not a trace; drop table"], 2, "is not a trace id"),
    (["health", "--window", "yesterday"], 2, "use a positive number with a unit"),
    (["trace", "--store-url", "sqlite:////nonexistent/aimod/store.sqlite", "abc123"], 2, "no AiMod store at"),
    (["health", "--store-url", "mysql://x"], 2, "unsupported AiMod store URL"),
])
def test_bad_input_is_one_line_with_a_documented_exit_code(finished_run, args, code, says):
    got, out, err = aimod(*args)
    assert got == code and got in dict(EXIT_CODES) and out == ""
    errors = [line for line in err.splitlines() if not (line.endswith(" ...") or ": done in " in line)]
    assert len(errors) == 1 and says in errors[0] and "Traceback" not in err  # besides progress lines

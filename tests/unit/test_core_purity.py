"""The pure core never imports Airflow; DAG-file imports stay cheap."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import airflow_aimod.core as core

BLOCK_AIRFLOW = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ImportError(f"the pure core imported {name}")
sys.meta_path.insert(0, Block())
"""


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_every_core_module_imports_with_airflow_blocked():
    modules = [m.name for m in pkgutil.walk_packages(core.__path__, "airflow_aimod.core.")]
    assert len(modules) > 15
    code = BLOCK_AIRFLOW + "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr


def test_package_root_imports_nothing_heavy():
    proc = _run("import sys, json, airflow_aimod, airflow_aimod.exceptions; "
                "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
                "('airflow','langchain_core','langgraph','openai','great_expectations','sqlglot'))))")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


HEAVY = ("langchain", "langchain_core", "langchain_openai", "langgraph", "openai", "great_expectations")


def test_operator_and_dag_imports_load_no_llm_sdk():
    code = (
        "import sys, json, runpy\n"
        "import airflow_aimod.operators.router, airflow_aimod.operators.sql, airflow_aimod.operators.base\n"
        "import airflow_aimod.hooks.llm, airflow_aimod.hooks.warehouse\n"
        "runpy.run_path('dags/aimod_quickstart.py')\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))\n"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_cli_fast_paths_load_only_the_core():
    code = (
        "import sys, json, io, contextlib\n"
        "from airflow_aimod.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['sql', 'check', 'SELECT 1'])\n"
        "    main(['route', 'how many orders were placed last month'])\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'airflow', 'langchain_core', 'langgraph', 'openai', 'great_expectations'})))\n"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []

"""The agent contract, checked for every agent that has an operator (docs/contributing/new_agent.md).

Operators are found by importing every module of ``airflow_aimod.operators``, so an agent whose
operator is missing from the provider info, its docs page or an example DAG fails here by name.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.airflow

ACTION_LITERAL = re.compile(r"""Action\(\s*["']([a-z_]+\.[a-z_]+|handoff)["']""")


def agent_operators() -> dict[str, type]:
    """agent name → its operator class, for every concrete AgentOperator subclass in the package."""
    import airflow_aimod.operators as package
    from airflow_aimod.operators.base import AgentOperator

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    found: dict[str, type] = {}
    stack = list(AgentOperator.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "agent_name" in vars(cls):
            assert cls.agent_name not in found, f"two operators for {cls.agent_name}: {found[cls.agent_name]}, {cls}"
            found[cls.agent_name] = cls
    return found


OPERATORS = agent_operators()


def test_the_agents_with_behaviour_all_have_an_operator():
    assert {"task_router", "sql_agent", "data_profiler", "schema_validator", "etl_monitor",
            "anomaly_detector"} <= set(OPERATORS)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_the_registry_entry_declares_task_types_with_offline_skills_and_result_keys(name):
    from airflow_aimod.core.llm.engine import SKILLS
    from airflow_aimod.core.registry import get_agent

    spec = get_agent(name)
    assert spec.task_types, f"{name}: declare the task types of its LLM calls in the registry"
    assert set(spec.task_types) <= set(SKILLS), f"{name}: no offline skill for {set(spec.task_types) - set(SKILLS)}"
    assert spec.result_keys, f"{name}: declare the keys of its outcome's result in the registry"
    assert spec.check_envelope(spec.envelope) is spec.envelope


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_the_graph_module_builds_a_graph_and_acts_only_inside_its_envelope(name):
    from airflow_aimod.core.registry import get_agent

    module = importlib.import_module(f"airflow_aimod.core.agents.{name}")
    assert callable(getattr(module, "build_graph", None)), f"core/agents/{name}.py needs build_graph(runtime, ...)"
    source = inspect.getsource(module)
    used = set(ACTION_LITERAL.findall(source))
    allowed = get_agent(name).envelope.allow
    assert used <= allowed, f"{name} acts with {sorted(used - allowed)}, which its envelope never allows"
    assert "import interrupt" not in source, f"{name}: pause with runtime.ask_person(ApprovalRequest), not interrupt()"
    if "ask_person(" in source:
        assert callable(getattr(module, "approval_request", None)), \
            f"{name} pauses: give it approval_request(...) -> ApprovalRequest (what a person sees)"


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_the_operator_follows_the_provider_conventions(name):
    from airflow_aimod.get_provider_info import get_provider_info
    from airflow_aimod.operators.base import AgentOperator

    cls = OPERATORS[name]
    modules = {m for group in get_provider_info()["operators"] for m in group["python-modules"]}
    assert cls.__module__ in modules, f"{cls.__module__} is missing from get_provider_info()['operators']"
    fields = tuple(cls.template_fields)
    assert fields[:len(AgentOperator.template_fields)] == tuple(AgentOperator.template_fields), \
        f"{cls.__name__}.template_fields must extend AgentOperator.template_fields"
    params = inspect.signature(cls.__init__).parameters.values()
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params if p.name != "self"), \
        f"{cls.__name__}.__init__ takes keyword-only arguments"
    assert cls.inherits_from_skipmixin, "agent operators can branch: Airflow must know it"


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_the_operator_has_a_docs_page_and_an_example_dag_that_parses(name):
    from airflow.dag_processing.dagbag import DagBag

    cls = OPERATORS[name]
    page = REPO / "docs" / "agents" / f"{name}.md"
    assert page.exists() and cls.__name__ in page.read_text(), f"docs/agents/{name}.md must document {cls.__name__}"
    examples = [p for p in (REPO / "dags").glob("*.py") if re.search(rf"\b{cls.__name__}\(", p.read_text())]
    assert examples, f"no example DAG in dags/ uses {cls.__name__}"
    bag = DagBag(dag_folder=str(examples[0]))
    assert not bag.import_errors and bag.dags, bag.import_errors


def test_an_operator_with_an_undeclared_task_type_budget_fails_the_parse():
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.sql import SQLAgentOperator

    with pytest.raises(ConfigurationError, match=r"unknown task type 'route' in the token_budget of sql_agent"):
        SQLAgentOperator(task_id="q", question="q", conn_id="w", token_budget={"route": 100})


def test_new_agent_recipe_names_every_file_the_contract_checks():
    text = (REPO / "docs" / "contributing" / "new_agent.md").read_text()
    for part in ("core/registry.py", "core/agents/", "ApprovalRequest", "task_types", "result_keys",
                 "core/prompts.py", "SKILLS", "operators/", "get_provider_info.py", "dags/", "docs/agents/"):
        assert part in text, f"new_agent.md does not mention {part}"
    assert Path(__file__).name in text

"""The offline engine's brain, free of LangChain: prompt context in, JSON answer out.

``OfflineChatModel`` wraps it for graphs; the CLI calls it directly so ``aimod route``
answers without loading LangChain. Both paths give the same answer for the same prompt.
Each prompt task (the context block's ``"task"``) maps to one skill module exposing
``answer(context) -> dict``; skills are imported only when a prompt needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

SKILLS: dict[str, str] = {
    "route": "airflow_aimod.core.llm.skill_route",
    "nl2sql": "airflow_aimod.core.llm.skill_nl2sql",
    "explain_anomalies": "airflow_aimod.core.llm.skill_anomaly",
    "explain_profile": "airflow_aimod.core.llm.skill_profile",
    "explain_etl_failures": "airflow_aimod.core.llm.skill_etl",
    "explain_validation": "airflow_aimod.core.llm.skill_validation",
    "summarize": "airflow_aimod.core.llm.skill_summarize",
    "compose_alert": "airflow_aimod.core.llm.skill_alert",
    "write_narrative": "airflow_aimod.core.llm.skill_narrative",
    "explain_drift": "airflow_aimod.core.llm.skill_drift",
    "explain_evaluation": "airflow_aimod.core.llm.skill_evaluation",
    "plan_experiment_query": "airflow_aimod.core.llm.skill_experiments",
    "explain_experiments": "airflow_aimod.core.llm.skill_experiments_answer",
    "explain_training": "airflow_aimod.core.llm.skill_training",
    "plan_workflow": "airflow_aimod.core.llm.skill_plan",
    "propose_features": "airflow_aimod.core.llm.skill_features",
}


def answer_context(context: dict[str, Any] | None) -> dict[str, Any]:
    """Answer one prompt context (see ``airflow_aimod.core.prompts``)."""
    task = (context or {}).get("task")
    module = SKILLS.get(task) if isinstance(task, str) else None
    if module is None:
        return {"refusal": f"the offline engine has no skill for task {task!r}; configure an LLM connection",
                "confidence": 0.0}
    return importlib.import_module(module).answer(context)

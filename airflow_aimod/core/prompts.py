"""Prompts every backend receives, the offline engine included.

Each prompt carries its inputs twice over: as readable text for a language model, and
as one JSON block between ``<aimod-context>`` tags. The offline engine reads only that
block, so it knows exactly what a hosted model would know, and nothing more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_BLOCK = re.compile(r"<aimod-context>\s*(\{.*?\})\s*</aimod-context>", re.S)


@dataclass(frozen=True)
class Prompt:
    """The messages of one LLM call and the task type it names (budgets and traces count by task type)."""

    task: str
    messages: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, context: Mapping[str, Any], system: str, human: str) -> Prompt:
        """A prompt whose task is its context block's ``task``: the one place the two are tied."""
        return cls(task=str(context["task"]), messages=(("system", system), ("human", human)))

ROUTE_SYSTEM = (
    "You route data-platform requests to exactly one specialist agent. Read the agents' descriptions. "
    "Reply with one JSON object only: {\"scores\": {agent_name: probability, ...}, \"rationale\": \"...\"}. "
    "Probabilities are your calibrated belief that each agent is the right one; they may sum to less than 1 "
    "when no agent fits. Vague, off-topic, multi-intent or unsafe requests get low probabilities everywhere."
)

SQL_SYSTEM = (
    "You translate a question into ONE read-only {dialect} SQL query over the schema given. Use only tables and "
    "columns that exist in it; filter only on values that exist (see samples). Never modify data. If the schema "
    "cannot answer the question, refuse. Reply with one JSON object only: "
    "{{\"sql\": \"...\" or null, \"confidence\": 0..1, \"rationale\": \"...\", \"refusal\": null or \"why\"}}."
)


def context_block(context: Mapping[str, Any]) -> str:
    """The context as JSON between tags; ``<``/``>`` are escaped so data can never close the block."""
    text = json.dumps(context, separators=(",", ":"), sort_keys=True, default=str)
    return "<aimod-context>" + text.replace("<", "\\u003c").replace(">", "\\u003e") + "</aimod-context>"


PLAN_SYSTEM = (
    "You plan multi-step data-platform work. Split the request into the smallest ordered steps, each one thing "
    "ONE agent from the list can do, in the request's own words. A step that needs another step's result depends "
    "on it. Never invent a step the request does not ask for; a step no agent can do gets agent null. Reply with "
    "one JSON object only: {\"steps\": [{\"id\": \"s1\", \"agent\": name or null, \"request\": \"...\", "
    "\"depends_on\": [ids], \"confidence\": 0..1}], \"rationale\": \"...\"}."
)


def plan_messages(request: str, agents: Sequence[Mapping[str, Any]], *, max_steps: int,
                  schema: Sequence[str] = ()) -> Prompt:
    """Messages asking for a plan of at most ``max_steps`` steps over ``agents`` for ``request``."""
    catalog = [{"name": a["name"], "description": a["description"], "examples": list(a.get("examples", ()))}
               for a in agents]
    context: dict[str, Any] = {"task": "plan_workflow", "request": request, "agents": catalog, "max_steps": max_steps}
    if schema:
        context["schema"] = list(schema)
    human = (f"Request:\n{request}\n\nAt most {max_steps} steps. Agents (name, description, examples) are in this "
             f"JSON:\n{context_block(context)}")
    return Prompt.of(context, PLAN_SYSTEM, human)


def route_messages(request: str, agents: Sequence[Mapping[str, Any]], *, schema: Sequence[str] = ()) -> Prompt:
    """Messages asking which agent should take ``request``; ``schema``: the warehouse's words (bounded)."""
    catalog = [{"name": a["name"], "description": a["description"], "examples": list(a.get("examples", ()))}
               for a in agents]
    context = {"task": "route", "request": request, "agents": catalog}
    if schema:
        context["schema"] = list(schema)
    human = f"Request:\n{request}\n\nAgents (name, description, examples) are in this JSON:\n{context_block(context)}"
    if schema:
        human += "\nThe \"schema\" list holds words of the connected warehouse's table and column names: a request " \
                 "naming them is about that data. Entries \"column=value\" are stored values: filters, never by " \
                 "themselves evidence that a request is about the data."
    return Prompt.of(context, ROUTE_SYSTEM, human)


def sql_messages(question: str, catalog: Mapping[str, Any], *, dialect: str, today: str,
                 feedback: Sequence[str] = (), examples: Sequence[Mapping[str, str]] = (),
                 vocabulary: Sequence[Mapping[str, Any]] = ()) -> Prompt:
    """Messages asking for SQL answering ``question`` over ``catalog`` (a ``Catalog.to_dict()``);
    ``examples``: verified ``{"question", "sql"}`` pairs, closest first (at most 3 go in, each bounded);
    ``vocabulary``: the question's words that verified examples taught (``Learned.to_dict()``, at most 20)."""
    context = {"task": "nl2sql", "question": question, "dialect": dialect, "today": today,
               "catalog": catalog, "feedback": list(feedback)}
    if examples:
        context["examples"] = [{"question": str(e["question"])[:500], "sql": str(e["sql"])[:2000]}
                               for e in list(examples)[:3]]
    if vocabulary:
        context["vocabulary"] = [{k: e.get(k) for k in ("phrase", "table", "column", "agg")}
                                 for e in list(vocabulary)[:20]]
    human = f"Today is {today}.\nQuestion:\n{question}\n\nSchema (tables, columns, types, samples, foreign keys):\n"
    if vocabulary:
        human = ("Words of this warehouse that verified examples taught (phrase → table/column, and the aggregate "
                 "they imply) are in the JSON under \"vocabulary\".\n" + human)
    if examples:
        human = ("Verified examples (question and the SQL a person approved) are in the JSON under "
                 "\"examples\".\n" + human)
    human += context_block(context)
    if feedback:
        human += "\n\nYour previous query was rejected:\n- " + "\n- ".join(feedback) + "\nFix it or refuse."
    return Prompt.of(context, SQL_SYSTEM.format(dialect=dialect), human)


ANOMALY_SYSTEM = (
    "You explain anomalies that a statistical detector found in a metric series. The detector has decided which "
    "points are anomalous; do not add or remove any. Explain the flagged points from the numbers given (value, "
    "expected band, season, direction) for an on-call data engineer. Reply with one JSON object only: "
    "{\"summary\": \"...\", \"confidence\": 0..1}."
)


def anomaly_messages(request: str, subject: str, detection: Mapping[str, Any]) -> Prompt:
    """Messages asking for an explanation of ``detection`` (an ``anomaly.Detection.to_dict()``)."""
    context = {"task": "explain_anomalies", "request": request, "subject": subject, "detection": detection}
    human = f"Request:\n{request}\n\nMetric: {subject}\nDetector output:\n{context_block(context)}"
    return Prompt.of(context, ANOMALY_SYSTEM, human)


ETL_SYSTEM = (
    "You are an ETL on-call assistant. Failed Airflow task instances were diagnosed from their logs by declared "
    "rules (transient: may succeed on a retry; permanent: will fail again; unknown: a person must look). Explain "
    "each failure from its evidence lines for a data engineer, and decide which ones to clear for a retry: only "
    "failures marked clear_candidate may be cleared; never change schedules or pause DAGs. Reply with one JSON "
    "object only: {\"summary\": \"...\", \"confidence\": 0..1, \"actions\": [{\"kind\": \"airflow.clear_task\", "
    "\"failure_id\": \"...\", \"reason\": \"...\"}]}."
)


def etl_messages(request: str, failures: Sequence[Mapping[str, Any]], *, allow_clear: bool) -> Prompt:
    """Messages asking to explain diagnosed task failures and pick the ones to clear."""
    context = {"task": "explain_etl_failures", "request": request, "allow_clear": allow_clear,
               "failures": [dict(f) for f in failures]}
    human = f"Request:\n{request}\n\nDiagnosed failures (evidence lines from the task logs):\n{context_block(context)}"
    return Prompt.of(context, ETL_SYSTEM, human)


PROFILE_SYSTEM = (
    "You explain a table profile computed in the database (row count, null rates, distinct counts, ranges, "
    "quantiles, top values, inferred types) and the data-quality verdict declared thresholds gave. The numbers "
    "and the verdict are decided; do not change them. Say what matters to a data engineer, from the numbers "
    "only. Reply with one JSON object only: {\"summary\": \"...\", \"confidence\": 0..1}."
)


def profile_messages(request: str, profile: Mapping[str, Any], assessment: Mapping[str, Any]) -> Prompt:
    """Messages asking for an explanation of ``profile`` (a ``TableProfile.to_dict()``) and its ``assessment``."""
    context = {"task": "explain_profile", "request": request, "profile": profile, "assessment": assessment}
    human = f"Request:\n{request}\n\nProfile and quality verdict:\n{context_block(context)}"
    return Prompt.of(context, PROFILE_SYSTEM, human)


VALIDATION_SYSTEM = (
    "You explain the result of a Great Expectations validation of a table or query. Which expectations passed "
    "or failed is decided; do not change it. For each failed expectation say what was expected and what was "
    "found (unexpected count, share, example values) for a data engineer, from the numbers only. Reply with one "
    "JSON object only: {\"summary\": \"...\", \"confidence\": 0..1}."
)


def validation_messages(request: str, subject: str, validation: Mapping[str, Any]) -> Prompt:
    """Messages asking for an explanation of ``validation`` (a ``GxRunner.validate`` summary)."""
    context = {"task": "explain_validation", "request": request, "subject": subject, "validation": validation}
    human = f"Request:\n{request}\n\nValidated: {subject}\nValidation result:\n{context_block(context)}"
    return Prompt.of(context, VALIDATION_SYSTEM, human)


SUMMARY_SYSTEM = (
    "You summarize a source text for a {audience} in at most {max_words} words. Use only facts the source states: "
    "every number (with its unit and what it counts), date, name and direction word must be in the source; round "
    "only sensibly (1,284,311 -> about 1.28 million). Never add causes or facts the source does not give. Reply "
    "with one JSON object only: {{\"summary\": \"...\", \"confidence\": 0..1}}."
)


def summary_messages(request: str, source: str, *, max_words: int, audience: str,
                     unsupported: Sequence[Mapping[str, Any]] = ()) -> Prompt:
    """Messages asking for a summary of ``source``; ``unsupported`` lists claims a first draft made up."""
    context = {"task": "summarize", "request": request, "source": source, "max_words": max_words,
               "audience": audience, "unsupported": [dict(u) for u in unsupported]}
    human = f"Request:\n{request}\n\nSource and limits:\n{context_block(context)}"
    if unsupported:
        human += ("\n\nYour previous summary made claims the source does not support; leave them out:\n- "
                  + "\n- ".join(f"{u.get('text')} ({u.get('reason')})" for u in unsupported))
    return Prompt.of(context, SUMMARY_SYSTEM.format(audience=audience, max_words=max_words), human)

ALERT_SYSTEM = (
    "You write the headline of each alert notification an on-call engineer receives. Which alerts are sent, "
    "their severities and counts are decided; do not add, drop or change any. One short line per message, "
    "from the alerts given only. Reply with one JSON object only: {\"headlines\": {\"<id>\": \"...\"}, "
    "\"confidence\": 0..1}."
)


def alert_messages(request: str, batches: Sequence[Mapping[str, Any]]) -> Prompt:
    """Messages asking for one headline per batch of alerts (``{"id", "kind", "group", "alerts"}``)."""
    context = {"task": "compose_alert", "request": request, "batches": [dict(b) for b in batches]}
    human = f"Request:\n{request}\n\nMessages to write (alerts per message):\n{context_block(context)}"
    return Prompt.of(context, ALERT_SYSTEM, human)

NARRATIVE_SYSTEM = (
    "You write the narrative paragraph of a {kind} report, at most {max_words} words, from the report's facts "
    "only. The tables and charts carry the numbers; any number, name or change you mention must be in the facts. "
    "Reply with one JSON object only: {{\"narrative\": \"...\", \"confidence\": 0..1}}."
)


def narrative_messages(request: str, kind: str, facts: str, *, max_words: int,
                       unsupported: Sequence[Mapping[str, Any]] = ()) -> Prompt:
    """Messages asking for a report's narrative from ``facts`` (the sections as text)."""
    context = {"task": "write_narrative", "request": request, "kind": kind, "source": facts,
               "max_words": max_words, "audience": "stakeholder", "unsupported": [dict(u) for u in unsupported]}
    human = f"Request:\n{request}\n\nReport facts:\n{context_block(context)}"
    if unsupported:
        human += "\n\nYour previous narrative made unsupported claims; leave them out:\n- " + "\n- ".join(
            f"{u.get('text')} ({u.get('reason')})" for u in unsupported)
    return Prompt.of(context, NARRATIVE_SYSTEM.format(kind=kind, max_words=max_words), human)

def read_context(text: str) -> dict[str, Any] | None:
    """The JSON context block of a prompt, or ``None`` when it has none."""
    match = _BLOCK.search(text)
    if not match:
        return None
    try:
        value = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


DRIFT_SYSTEM = (
    "You explain a data-drift report computed per column between a reference and a current sample (KS or "
    "Wasserstein tests for numbers, chi-square or Jensen-Shannon for categories, PSI, p-values adjusted across "
    "columns, an effect-size threshold, a minimum sample size). The verdict and the drifted columns are decided; "
    "do not change them. Say what moved and by how much, from the numbers only, for a data scientist. Reply with "
    "one JSON object only: {\"summary\": \"...\", \"confidence\": 0..1}."
)


def drift_messages(request: str, subject: str, drift: Mapping[str, Any], truncated: Sequence[str] = ()) -> Prompt:
    """Messages asking for an explanation of ``drift`` (a ``ml.drift.DriftReport.to_dict()``)."""
    context = {"task": "explain_drift", "request": request, "subject": subject, "drift": drift,
               "truncated": list(truncated)}
    human = f"Request:\n{request}\n\nData: {subject}\nDrift report:\n{context_block(context)}"
    return Prompt.of(context, DRIFT_SYSTEM, human)


EVALUATION_SYSTEM = (
    "You explain a model evaluation: a challenger model version and the current champion scored on the same "
    "holdout (classification: ROC AUC, PR AUC, F1, precision, recall, calibration; regression: RMSE, MAE, R2) "
    "and the verdict a declared champion/challenger rule gave (minimum lift on the primary metric, "
    "non-inferiority on guard metrics, minimum sample size). The metrics and the verdict are decided; do not "
    "change them. Say why, from the numbers only. Reply with one JSON object only: {\"summary\": \"...\", "
    "\"confidence\": 0..1}."
)


def evaluation_messages(request: str, model: str, evaluation: Mapping[str, Any]) -> Prompt:
    """Messages asking for an explanation of a champion/challenger evaluation."""
    context = {"task": "explain_evaluation", "request": request, "model": model, "evaluation": evaluation}
    human = f"Request:\n{request}\n\nModel: {model}\nEvaluation:\n{context_block(context)}"
    return Prompt.of(context, EVALUATION_SYSTEM, human)


EXPERIMENT_PLAN_SYSTEM = (
    "You turn a question about MLflow runs into one query over the runs listed (their ids, names, metric and "
    "parameter names). Kinds: best (rank by one metric that exists; order max or min, or null for the metric's "
    "own direction; since_days for a time window), compare (exactly two runs by id or name), latest. Never name "
    "a metric or run that is not listed; if the question cannot be answered from these runs, refuse. Reply with "
    "one JSON object only: {\"query\": {\"kind\", \"metric\", \"order\", \"since_days\", \"run_ids\", \"limit\"}, "
    "\"confidence\": 0..1, \"rationale\": \"...\", \"refusal\": null or \"why\"}."
)

EXPERIMENT_ANSWER_SYSTEM = (
    "You answer a question about MLflow runs from a computed result (a ranking, or the parameters and metrics "
    "that differ between two runs). The numbers are decided; do not change them. Reply with one JSON object "
    "only: {\"summary\": \"...\", \"confidence\": 0..1}."
)


def experiment_plan_messages(request: str, runs: Sequence[Mapping[str, Any]], *, shown: int = 200) -> Prompt:
    """Messages asking which ``RunQuery`` answers ``request``, given the runs (ids, names) and their metric names."""
    context = {"task": "plan_experiment_query", "request": request,
               "runs": [{"run_id": r["run_id"], "run_name": r.get("run_name")} for r in runs[:shown]],
               "metrics": sorted({m for r in runs for m in r.get("metrics", {})}),
               "params": sorted({p for r in runs for p in r.get("params", {})})}
    human = f"Question:\n{request}\n\nRuns, metric and parameter names:\n{context_block(context)}"
    return Prompt.of(context, EXPERIMENT_PLAN_SYSTEM, human)


def experiment_answer_messages(request: str, query: Mapping[str, Any], answer: Mapping[str, Any]) -> Prompt:
    """Messages asking to state the computed ``answer`` to ``request``."""
    context = {"task": "explain_experiments", "request": request, "query": dict(query), "answer": dict(answer)}
    human = f"Question:\n{request}\n\nComputed answer:\n{context_block(context)}"
    return Prompt.of(context, EXPERIMENT_ANSWER_SYSTEM, human)


TRAINING_SYSTEM = (
    "You explain a training run: the estimators cross-validated, the one chosen, its holdout metrics next to "
    "a trivial baseline's on the same split, the columns dropped as identifiers or constants. The numbers are "
    "decided; do not change them. Say whether the model is useful and why, from the numbers only. Reply with "
    "one JSON object only: {\"summary\": \"...\", \"confidence\": 0..1}."
)


def training_messages(request: str, training: Mapping[str, Any]) -> Prompt:
    """Messages asking for an explanation of a training run (``TrainingResult.to_dict()`` plus run and version)."""
    context = {"task": "explain_training", "request": request, "training": dict(training)}
    human = f"Request:\n{request}\n\nTraining run:\n{context_block(context)}"
    return Prompt.of(context, TRAINING_SYSTEM, human)


FEATURES_SYSTEM = (
    "You propose features for a model that predicts the target column of a table, from the table's profile "
    "(each column's inferred type, null rate, distinct count, range, quantiles, top values). Each feature is ONE "
    "read-only SQL expression in the given dialect over that table's columns only (a ratio, a log, a date part, "
    "an encoding, a null indicator, ...): never a statement, never another table, never the target itself. "
    "Every proposal is checked and measured before anyone sees it. Reply with one JSON object only: "
    "{\"proposals\": [{\"name\": \"...\", \"sql\": \"...\", \"kind\": \"ratio|log|date_part|one_hot|frequency|"
    "null_indicator|other\", \"columns\": [...], \"rationale\": \"...\"}], \"confidence\": 0..1}."
)


def feature_messages(request: str, *, table: str, target: str, dialect: str, columns: Sequence[Mapping[str, Any]],
                     max_proposals: int) -> Prompt:
    """Messages asking for at most ``max_proposals`` feature expressions over ``table`` for ``target``."""
    context = {"task": "propose_features", "request": request, "table": table, "target": target,
               "dialect": dialect, "columns": [dict(c) for c in columns], "max_proposals": max_proposals}
    human = (f"Request:\n{request}\n\nTable {table} ({dialect}), target {target}, at most {max_proposals} "
             f"proposals. Profile:\n{context_block(context)}")
    return Prompt.of(context, FEATURES_SYSTEM, human)

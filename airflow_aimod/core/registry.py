"""The fifteen agents: tier, timeouts, error strategy, default envelope, and what they do.

Descriptions and examples are what a router (the LLM, or the offline classifier that
reads the same prompt) compares a request with, so they say what each agent does in
the words a data engineer would use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from airflow_aimod.core.permissions import Envelope, SqlPolicy
from airflow_aimod.core.token_limits import check_task_keys
from airflow_aimod.exceptions import ConfigurationError

TIER_NAMES = {1: "orchestration", 2: "data operations", 3: "intelligence", 4: "communication"}
TIER_TIMEOUTS = {1: 60.0, 2: 30.0, 3: 900.0, 4: 120.0}
ERROR_HANDLERS = frozenset({"fallback", "human", "fail"})


@dataclass(frozen=True)
class ErrorStrategy:
    """What happens when an agent fails: on a timeout, and on any other error."""

    on_timeout: str = "fallback"
    on_error: str = "human"
    fallback_agent: str | None = "workflow_coordinator"

    def __post_init__(self) -> None:
        for name in (self.on_timeout, self.on_error):
            if name not in ERROR_HANDLERS:
                raise ConfigurationError(f"unknown error handler {name!r}; use one of {sorted(ERROR_HANDLERS)}")
        if "fallback" in (self.on_timeout, self.on_error) and not self.fallback_agent:
            raise ConfigurationError("an error strategy that falls back needs a fallback_agent")


@dataclass(frozen=True)
class AgentSpec:
    """One agent as the registry declares it.

    ``task_types``: the prompt tasks its LLM calls name (``nl2sql``, ``explain_profile``, ...): every
    call names one, and per-task-type token budgets are validated against them. ``result_keys``: the
    keys of its outcome's ``result``, present for every status (``None`` when the run produced none).
    """

    name: str
    tier: int
    description: str
    examples: tuple[str, ...]
    envelope: Envelope
    error_strategy: ErrorStrategy = ErrorStrategy()
    timeout_s: float | None = None
    task_types: tuple[str, ...] = ()
    result_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.tier not in TIER_NAMES:
            raise ConfigurationError(f"agent {self.name!r}: tier must be one of {sorted(TIER_NAMES)}")
        self.check_envelope(self.envelope)

    def check_envelope(self, envelope: Envelope) -> Envelope:
        """``envelope`` if its per-task-type token budget names only this agent's task types."""
        if isinstance(envelope.token_budget, Mapping):
            check_task_keys(envelope.token_budget, self.task_types, agent=self.name)
        return envelope

    def envelope_with(self, overrides: Mapping[str, object]) -> Envelope:
        """The default envelope with a task's ``overrides`` applied, validated (a typo fails the DAG parse)."""
        return self.check_envelope(self.envelope.override(overrides)) if overrides else self.envelope

    @property
    def call_timeout_s(self) -> float:
        """Deadline for each LLM or database call this agent makes."""
        return self.timeout_s if self.timeout_s is not None else TIER_TIMEOUTS[self.tier]

    def to_dict(self) -> dict:
        return {
            "name": self.name, "tier": self.tier, "tier_name": TIER_NAMES[self.tier],
            "description": self.description, "timeout_s": self.call_timeout_s,
            "error_strategy": {"on_timeout": self.error_strategy.on_timeout, "on_error": self.error_strategy.on_error,
                               "fallback_agent": self.error_strategy.fallback_agent},
            "envelope": self.envelope.to_dict(), "task_types": list(self.task_types),
        }


_READ_SQL = SqlPolicy()
_NO_DATA = frozenset({"sql.read", "sql.write", "db.introspect"})
_TO_HUMAN = ErrorStrategy(on_timeout="human", on_error="human", fallback_agent=None)


def _env(*allow: str, approval: tuple[str, ...] = (), deny: tuple[str, ...] = ("sql.write",), **kw) -> Envelope:
    sql = _READ_SQL if "sql.read" in allow else None
    return Envelope(allow=frozenset(allow), deny=frozenset(deny), require_approval=frozenset(approval), sql=sql, **kw)


_SPECS = (
    AgentSpec("task_router", 1, "Reads a request and decides which specialist agent should handle it.",
              ("which agent should handle this request", "route this task to the right specialist"),
              Envelope(allow=frozenset({"llm.call", "handoff"}), deny=_NO_DATA, token_budget=4_000), _TO_HUMAN, task_types=('route',), result_keys=('agent', 'confidence', 'decision', 'scores', 'rationale', 'threshold')),
    AgentSpec("workflow_coordinator", 1,
              "Plans multi-step work across several agents and pipelines: breaks a goal into steps, "
              "sequences them, and triggers or coordinates DAG runs.",
              ("plan the steps to rebuild the sales mart and coordinate the agents",
               "orchestrate a multi step workflow: profile then validate then report",
               "trigger the nightly pipeline after the upstream load finishes"),
              Envelope(allow=frozenset({"llm.call", "handoff", "airflow.read", "airflow.trigger_dag"}),
                       deny=_NO_DATA, require_approval=frozenset({"airflow.trigger_dag"}), token_budget=8_000),
              _TO_HUMAN, task_types=("plan_workflow",),
              result_keys=("decision", "steps", "reason", "token_budget", "reviewed_by")),
    AgentSpec("sql_agent", 2,
              "Answers questions about data in the warehouse by writing and running read-only SQL: "
              "counts, totals, sums, averages, top N, breakdowns by group, filters, date ranges, joins.",
              ("how many orders were placed last month", "what is the total revenue by country",
               "show the top 5 products by sales", "average order value per customer segment in 2024",
               "list customers from Germany", "count of orders by status"),
              _env("llm.call", "db.introspect", "sql.read"), task_types=('nl2sql',), result_keys=('sql', 'tables', 'columns', 'rows', 'row_count', 'truncated', 'elapsed_ms')),
    AgentSpec("data_profiler", 2,
              "Profiles a table or dataset: row counts, null rates, distinct counts, min, max, mean, "
              "quantiles, top values and inferred column types.",
              ("profile the orders table", "what does the customers data look like: nulls, distinct values",
               "summary statistics and data quality overview of the products table"),
              _env("llm.call", "db.introspect", "sql.read"), task_types=('explain_profile',), result_keys=('table', 'profile', 'assessment', 'thresholds', 'explanation', 'choice')),
    AgentSpec("schema_validator", 2,
              "Validates a table's schema and data against expectations with Great Expectations: "
              "column types, not-null, uniqueness, allowed values, ranges; proposes expectation suites.",
              ("validate the orders table against its expectation suite",
               "check that customer emails are unique and not null", "run data quality checks and expectations"),
              _env("llm.call", "db.introspect", "sql.read", "gx.validate", "gx.update_suite",
                   approval=("gx.update_suite",)), task_types=('explain_validation',), result_keys=('subject', 'sql', 'validation', 'suite', 'proposals', 'proposals_decision', 'truncated', 'assessment', 'explanation')),
    AgentSpec("etl_monitor", 2,
              "Monitors ETL pipelines and DAG runs: finds failed or late tasks, reads task logs to "
              "diagnose failures, and may clear failed tasks for a retry.",
              ("why did last night's load DAG fail", "which pipelines failed today",
               "restart the failed task in the ingestion DAG", "diagnose the error in the task logs"),
              _env("llm.call", "airflow.read", "airflow.clear_task", approval=("airflow.clear_task",),
                   deny=("sql.write", "airflow.modify_schedule"), max_auto_retries=3), task_types=('explain_etl_failures',), result_keys=('window', 'failures', 'blocked', 'explanation')),
    AgentSpec("anomaly_detector", 2,
              "Detects anomalies, outliers, spikes and drops in metrics and time series using robust "
              "statistics and seasonal baselines, and explains them.",
              ("are there anomalies in daily revenue", "detect unusual spikes in order volume",
               "find outliers in yesterday's sales metrics"),
              _env("llm.call", "db.introspect", "sql.read"), task_types=('explain_anomalies',), result_keys=('subject', 'sql', 'detection', 'assessment', 'explanation', 'truncated')),
    AgentSpec("training_orchestrator", 3,
              "Launches and manages machine learning model training runs and hyperparameter searches.",
              ("train a churn model on the latest data", "retrain the forecasting model with new features",
               "start a hyperparameter tuning job"),
              _env("llm.call", "db.introspect", "sql.read", "model.read", "model.train", "model.log", "model.register",
                   "model.deploy", approval=("model.deploy",)),
              task_types=("explain_training",),
              result_keys=("run_id", "model_uri", "estimator", "task", "metrics", "baseline", "cv", "dropped",
                           "model_name", "version", "alias", "alias_before", "promotion", "explanation", "truncated")),
    AgentSpec("feature_engineer", 3,
              "Designs and computes features for machine learning models from warehouse tables: "
              "ratios, transforms, date parts, encodings, each kept only when it measurably helps.",
              ("create features for the churn model", "which ratios or encodings would help predict the order value",
               "suggest feature transformations for this dataset"),
              _env("llm.call", "db.introspect", "sql.read"), task_types=("propose_features",),
              result_keys=("table", "target", "task", "scoring", "baseline", "features", "rejected", "blocked", "rule",
                           "rows", "sql", "truncated")),
    AgentSpec("experiment_tracker", 3,
              "Records and compares machine learning experiments: runs, their parameters and hyperparameters, and metrics.",
              ("compare the last three experiment runs", "what parameters and metrics did the last run log",
               "which run had the best validation accuracy"),
              _env("llm.call", "model.read", deny=("sql.write", "model.log", "model.train", "model.register",
                                                   "model.deploy")),
              task_types=("plan_experiment_query", "explain_experiments"),
              result_keys=("experiments", "query", "answer", "runs_read", "explanation")),
    AgentSpec("model_evaluator", 3,
              "Evaluates model quality: accuracy, precision, recall, AUC, calibration, fairness, and "
              "decides whether a model is fit to promote to production.",
              ("evaluate the new churn model on the holdout set", "is model v7 better than production",
               "compute precision and recall for the classifier"),
              _env("llm.call", "model.read", "db.introspect", "sql.read", "model.log",
                   deny=("sql.write", "model.deploy", "model.train")), task_types=("explain_evaluation",),
              result_keys=("model", "challenger_version", "champion_version", "challenger", "champion", "verdict",
                           "evaluation_run_id", "assessment", "explanation", "truncated")),
    AgentSpec("drift_detector", 3,
              "Detects data drift and model drift: distribution shift between training and live data, "
              "population stability, feature drift over time.",
              ("has the input data drifted since training", "check feature distribution shift this week",
               "population stability index for the scoring data"),
              _env("llm.call", "model.read", "db.introspect", "sql.read"), task_types=("explain_drift",),
              result_keys=("subject", "reference_sql", "current_sql", "drift", "assessment", "explanation", "truncated")),
    AgentSpec("report_generator", 4,
              "Writes reports and documents for stakeholders from data and agent results: weekly "
              "business reports, KPI write-ups, dashboard narratives.",
              ("write the weekly sales report", "generate a KPI report for the leadership meeting",
               "create a monthly business review document"),
              _env("llm.call", "db.introspect", "sql.read", "report.write"), task_types=("write_narrative",),
              result_keys=("kind", "title", "files", "uris", "sections", "narrative", "faithful", "unsupported",
                           "trace_ids")),
    AgentSpec("summarizer", 4,
              "Summarizes long text: logs, incident threads, documents, agent outputs, into a short brief.",
              ("summarize this incident thread", "give me a short summary of these logs",
               "tl;dr of the pipeline run results"),
              _env("llm.call"), task_types=("summarize",),
              result_keys=("summary", "faithful", "unsupported", "draft", "audience", "max_words", "words",
                           "claims_checked", "attempts")),
    AgentSpec("alert_manager", 4,
              "Manages alerts and notifications: decides who to notify, deduplicates and routes alerts, "
              "sends messages to on-call channels.",
              ("alert the on-call engineer about the failed load", "notify the data team channel",
               "deduplicate and route these alerts"),
              _env("llm.call", "airflow.read", "notify.send", channels=frozenset({"log"})),
              task_types=("compose_alert",),
              result_keys=("received", "sent", "suppressed", "digested", "resolved", "ignored", "escalated",
                           "blocked", "failed", "unrouted", "acknowledged")),
)

REGISTRY: Mapping[str, AgentSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})


def get_agent(name: str) -> AgentSpec:
    """Return the spec for ``name``, or fail with the closest known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        import difflib  # only on a typo: difflib is not loaded when a DAG file parses

        close = difflib.get_close_matches(name, REGISTRY, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigurationError(f"unknown agent {name!r}.{hint} Known agents: {', '.join(REGISTRY)}") from None


def specialists() -> tuple[AgentSpec, ...]:
    """Every agent a router may dispatch to (all but the router itself)."""
    return tuple(spec for spec in _SPECS if spec.name != "task_router")


def routing_catalog(names: Iterable[str] | None = None) -> list[dict]:
    """The specialists a router may choose from, in the shape its prompt carries."""
    wanted = None if names is None else set(names)
    return [{"name": s.name, "description": s.description, "examples": list(s.examples)}
            for s in specialists() if wanted is None or s.name in wanted]

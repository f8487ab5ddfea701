"""ReportGeneratorOperator: an HTML/Markdown (PDF) report of upstream agent outcomes, written to object storage."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.links import REPORT_XCOM_KEY, AimodReportLink
from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime

KINDS = ("pipeline_health", "data_quality", "model_evaluation")
FORMATS = ("html", "md", "pdf")


class ReportGeneratorOperator(AgentOperator):
    """Write a ``kind`` report (``pipeline_health``, ``data_quality``, ``model_evaluation``) of the outcomes of
    ``source_task_ids`` — and, with ``store_window``, the AiMod store's agent success rates — to ``output_url``.

    Every number is read from the outcomes; the model writes only the narrative, which must pass the
    summarizer's faithfulness check (else it is left out). Files go through Airflow's ``ObjectStoragePath``
    (``file://`` by default, ``s3://``/``gs://``/... with ``output_conn_id``) under
    ``<output_url>/<dag_id>/<run_id>/``; the task's "AiMod report" extra link opens the HTML report through the
    AiMod app (reports under ``[aimod] report_url``), and each of the task's ``outlets`` gets an asset event
    whose extra names the report.

    :param kind: the report kind (its declared sections). :param source_task_ids: upstream agent tasks.
    :param output_url: where reports go (templated; default ``[aimod] report_url``, else
        ``file://$AIRFLOW_HOME/aimod/reports``). :param output_conn_id: the object store's connection.
    :param formats: any of ``html``, ``md``, ``pdf`` (PDF needs the ``pdf`` extra: WeasyPrint).
    :param store_window: include the store's per-agent success over this window (``pipeline_health``).
    :param narrative_words: the narrative's length budget.
    """

    agent_name = "report_generator"
    template_fields: Sequence[str] = (*AgentOperator.template_fields, "source_task_ids", "output_url")
    operator_extra_links = (*AgentOperator.operator_extra_links, AimodReportLink())

    def __init__(self, *, kind: str = "pipeline_health", source_task_ids: Sequence[str] = (),
                 output_url: str | None = None, output_conn_id: str | None = None,
                 formats: Sequence[str] = ("html", "md"), store_window: timedelta | None = None,
                 narrative_words: int = 80, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ConfigurationError(f"kind must be one of {list(KINDS)}, got {kind!r}")
        if isinstance(formats, str) or not formats or set(formats) - set(FORMATS):
            raise ConfigurationError(f"formats must be a list of {list(FORMATS)}, got {formats!r}")
        if not 5 <= narrative_words <= 500:
            raise ConfigurationError(f"narrative_words must be between 5 and 500, got {narrative_words}")
        self.kind, self.source_task_ids = kind, [source_task_ids] if isinstance(source_task_ids, str) else list(
            source_task_ids)
        self.output_url, self.output_conn_id, self.formats = output_url, output_conn_id, tuple(formats)
        self.store_window, self.narrative_words = store_window, narrative_words

    def request_text(self) -> str:
        return f"Write the {self.kind} report of {', '.join(self.source_task_ids) or 'this run'}"

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[dict[str, Any]]:
        """The report's inputs (upstream outcomes, store metrics) and the directory it is written to."""
        from airflow.sdk import ObjectStoragePath

        inputs = {}
        for task_id in self.source_task_ids:
            value = context["ti"].xcom_pull(task_ids=task_id)
            if isinstance(value, dict):
                inputs[task_id] = value
        run_dir = re.sub(r"[^A-Za-z0-9_.+-]", "_", str(context["run_id"]))
        base = ObjectStoragePath(self._base_url(), conn_id=self.output_conn_id) / context["dag"].dag_id / run_dir
        yield {"inputs": inputs, "metrics": self._metrics(), "dir": base}

    def build_graph(self, runtime: AgentRuntime, resources: dict[str, Any], context: Context) -> StateGraph:
        from airflow_aimod.core.agents.report_generator import ReportTools, build_graph
        from airflow_aimod.core.reporting import ReportRenderer

        directory = resources["dir"]

        def write(name: str, data: bytes) -> str:
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / name
            target.write_bytes(data)
            return str(target)

        tools = ReportTools(kind=self.kind, inputs=resources["inputs"], metrics=resources["metrics"],
                            renderer=ReportRenderer(formats=self.formats, basename=self.kind), write=write,
                            meta={"dag_id": context["dag"].dag_id, "run_id": context["run_id"]},
                            narrative_words=self.narrative_words)
        return build_graph(runtime, tools)

    def finish(self, result: Any, context: Context) -> dict[str, Any]:
        out = super().finish(result, context)
        uris = (out.get("result") or {}).get("uris") or {}
        if uris:
            context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=uris.get("html") or next(iter(uris.values())))
            for outlet in self.outlets or ():
                try:
                    context["outlet_events"][outlet].extra = {"report": uris, "kind": self.kind}
                except Exception as exc:  # an outlet that is not an asset: nothing to annotate
                    self.log.info("outlet %r takes no report extra: %s", outlet, exc)
        return out

    def _base_url(self) -> str:
        from airflow_aimod.settings import report_base_url

        return str(self.output_url or report_base_url())

    def _metrics(self) -> dict[str, Any]:
        if self.store_window is None:
            return {}
        from airflow_aimod.core.store.queries import DashboardQueries
        from airflow_aimod.observability.sinks import shared_store, store_url

        url = store_url()
        if url is None:
            raise ConfigurationError("store_window reads the AiMod store, which is off: set [aimod] store_url")
        rows = DashboardQueries(shared_store(url)).agent_health(window=self.store_window.total_seconds(),
                                                                now=time.time())
        return {"agents": rows}

"""Validate a pandas DataFrame against expectation specs with Great Expectations 1.x.

GX runs in an ephemeral context on a pandas data source: it never gets a database
connection of its own (the agent reads the rows through a read-only executor first).
``import great_expectations`` is slow and chatty, so it happens here, once, on first use,
with its INFO logging and stdout silenced; importing this module loads neither GX nor pandas.

Frame dtypes (``frame_from_rows``), which type expectations see: whole numbers ``int64``
(``Int64`` when there are nulls), other numbers ``float64``, everything else ``object``
holding the Python values (strings, booleans, ISO date strings).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_aimod.core.executors.base import json_safe
from airflow_aimod.core.validation.expectations import ExpectationSpec
from airflow_aimod.exceptions import ConfigurationError

UNEXPECTED_SHOWN = 5
"""Distinct unexpected values shown per failed expectation (from GX's partial list)."""
_INT64 = 2**63 - 1
_GX_LOCK = threading.Lock()


def load_gx() -> Any:
    """``great_expectations``, imported once with its start-up noise silenced."""
    with _GX_LOCK:
        if "great_expectations" not in sys.modules:
            logging.getLogger("great_expectations").setLevel(logging.WARNING)
            with contextlib.redirect_stdout(io.StringIO()):
                import great_expectations  # noqa: F401
        return sys.modules["great_expectations"]


def frame_from_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """A DataFrame of JSON-safe ``rows`` with one predictable dtype per column (see the module doc)."""
    import pandas as pd

    if duplicated := sorted({c for c in columns if list(columns).count(c) > 1}):
        raise ConfigurationError(f"the query returns column(s) {duplicated} more than once; give each an alias")
    data = {}
    for index, name in enumerate(columns):
        values = [row[index] for row in rows]
        data[name] = pd.Series(values, dtype=_dtype(values))
    return pd.DataFrame(data, columns=list(columns))


def _dtype(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present or any(isinstance(v, bool) for v in present):
        return "object"
    if all(isinstance(v, int) and abs(v) <= _INT64 for v in present):
        return "int64" if len(present) == len(values) else "Int64"
    if all(isinstance(v, (int, float)) for v in present):
        return "float64"
    return "object"


class GxRunner:
    """Builds a GX suite from specs, validates a frame, and summarises the result as JSON.

    :param withheld_columns: columns whose unexpected values are never reported (PII).
    """

    def __init__(self, *, withheld_columns: Iterable[str] = (), shown: int = UNEXPECTED_SHOWN) -> None:
        self.withheld = {c.lower() for c in withheld_columns}
        self.shown = shown

    def validate(self, frame: Any, specs: Sequence[ExpectationSpec], *, suite_name: str = "aimod") -> dict[str, Any]:
        """``{"success", "evaluated", "successful", "failed", "success_percent", "rows", "results", "failures"}``."""
        gx = load_gx()
        context = gx.get_context(mode="ephemeral")
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        asset = context.data_sources.add_pandas("aimod").add_dataframe_asset("data")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name=suite_name)
        for index, spec in enumerate(specs):
            suite.add_expectation(_gx_expectation(spec, index))
        with contextlib.redirect_stdout(io.StringIO()):
            outcome = batch.validate(suite, result_format={"result_format": "SUMMARY",
                                                           "partial_unexpected_count": 20})
        return self._summary(outcome.to_json_dict(), specs, rows=len(frame))

    def _summary(self, raw: Mapping[str, Any], specs: Sequence[ExpectationSpec], *, rows: int) -> dict[str, Any]:
        by_index = {int(r["expectation_config"]["meta"]["aimod_index"]): r for r in raw.get("results") or ()}
        results, failures = [], []
        for index, spec in enumerate(specs):
            result = by_index.get(index) or {"success": False, "result": {},
                                             "exception_info": {"exception_message": "GX returned no result"}}
            results.append({"type": spec.type, "column": spec.column, "success": bool(result.get("success"))})
            if not result.get("success"):
                failures.append(self._failure(index, spec, result))
        passed = sum(r["success"] for r in results)
        return {"success": passed == len(results), "evaluated": len(results), "successful": passed,
                "failed": len(results) - passed,
                "success_percent": round(100.0 * passed / len(results), 2) if results else 100.0,
                "rows": rows, "results": results, "failures": failures}

    def _failure(self, index: int, spec: ExpectationSpec, result: Mapping[str, Any]) -> dict[str, Any]:
        detail = result.get("result") or {}
        withheld = bool(spec.column and spec.column.lower() in self.withheld)
        failure = {"index": index, "number": index + 1, **spec.to_dict(), "column": spec.column,
                   "element_count": detail.get("element_count"), "unexpected_count": detail.get("unexpected_count"),
                   "unexpected_percent": _rounded(detail.get("unexpected_percent")),
                   "unexpected_values": [] if withheld else self._examples(detail.get("partial_unexpected_list")),
                   "observed_value": None if withheld else json_safe(detail.get("observed_value")),
                   "error": _error(result.get("exception_info"))}
        if withheld:
            failure["values_withheld"] = True
        return failure

    def _examples(self, values: Any) -> list[Any]:
        shown: list[Any] = []
        for value in values or ():
            value = json_safe(value)
            if value not in shown:
                shown.append(value)
            if len(shown) == self.shown:
                break
        return shown


def _gx_expectation(spec: ExpectationSpec, index: int) -> Any:
    import great_expectations.expectations as gxe

    try:
        return getattr(gxe, spec.gx_class_name)(**spec.to_dict()["kwargs"], meta={"aimod_index": index})
    except Exception as exc:  # pydantic validation in GX: still the user's input
        raise ConfigurationError(f"Great Expectations refused {spec.type} {spec.to_dict()['kwargs']}: {exc}") from None


def _error(info: Any) -> str | None:
    """The exception message GX recorded, whether flat or keyed by metric."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception") or info.get("exception_message"):
        return str(info.get("exception_message") or "an exception was raised")[:500]
    for nested in info.values():
        if message := _error(nested):
            return message
    return None


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value

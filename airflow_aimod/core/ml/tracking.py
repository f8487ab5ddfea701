"""MLflow tracking and the model registry behind one small class: log a training run (the scikit-learn
flavor, the whole pipeline, its signature), register a version, read and move aliases, search runs.

Pure: it takes a tracking URI (``hooks.mlflow`` turns an Airflow connection into one) and imports
MLflow only when a method runs. Runs are logged with an explicit ``MlflowClient``-bound run, so two
trackers in one process never share MLflow's global "active run".
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from airflow_aimod.core.redaction import scrub
from airflow_aimod.exceptions import ConfigurationError, ModelRegistryError

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_VARIABLE = "MLFLOW_TRACKING_TOKEN"
_CREDENTIALS = threading.RLock()


def registry_errors(method: F) -> F:
    """MLflow's own errors (and an unreachable store) become ``ModelRegistryError`` with a scrubbed one-line message;
    the call runs with the tracker's ``credentials``."""

    @functools.wraps(method)
    def wrapper(self: MlflowTracker, *args: Any, **kwargs: Any) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            with self.credentials():
                return method(self, *args, **kwargs)
        except (MlflowException, OSError) as exc:
            message = str(getattr(exc, "message", None) or exc).strip().splitlines()[0][:300]
            raise ModelRegistryError(scrub(f"MLflow: {message}")) from None

    return wrapper  # type: ignore[return-value]


class MlflowTracker:
    """``tracking_uri``: ``sqlite:///…``, ``postgresql://…``, ``http(s)://…`` or a ``file:`` directory;
    ``artifact_root``: where new experiments keep artifacts (a directory or any MLflow artifact URI);
    ``token``: the tracking server's bearer token, sent only by this tracker's calls (``credentials``)."""

    def __init__(self, *, tracking_uri: str, artifact_root: str | None = None, token: str | None = None) -> None:
        if not tracking_uri:
            raise ConfigurationError("an MLflow tracking URI is needed, e.g. sqlite:////path/mlflow.db")
        self.tracking_uri, self.artifact_root, self._token = tracking_uri, artifact_root, token or None

    @contextmanager
    def credentials(self) -> Iterator[None]:
        """While a call runs: ``MLFLOW_TRACKING_TOKEN`` is this tracker's token (MLflow reads it per request),
        then the previous value is restored. One call at a time per process holds the variable, so another
        tracker's concurrent call never sends this token to its server."""
        with _CREDENTIALS:
            if self._token is None:
                yield
                return
            previous = os.environ.get(TOKEN_VARIABLE)
            os.environ[TOKEN_VARIABLE] = self._token
            try:
                yield
            finally:
                if previous is None:
                    os.environ.pop(TOKEN_VARIABLE, None)
                else:
                    os.environ[TOKEN_VARIABLE] = previous

    @registry_errors
    def ping(self) -> None:
        """List one experiment: the store answers (and its schema is migrated), or a ``ModelRegistryError``."""
        self.client.search_experiments(max_results=1)

    @property
    def client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    @registry_errors
    def experiment_id(self, name: str, *, create: bool = True) -> str | None:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        if not create:
            return None
        location = None
        if self.artifact_root:
            location = self.artifact_root if "://" in self.artifact_root else \
                Path(self.artifact_root, name).resolve().as_uri()
        return self.client.create_experiment(name, artifact_location=location)

    @registry_errors
    def log_training(self, result: Any, *, experiment: str, params: Mapping[str, Any],
                     registered_name: str | None = None, tags: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Log a ``training.TrainingResult``: params, metrics (``holdout_*``, ``baseline_*``, ``cv_*``), the
        pipeline with the scikit-learn flavor and its signature; optionally register it as a new version."""
        import mlflow
        from mlflow.models import infer_signature

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        experiment_id = self.experiment_id(experiment)
        with mlflow.start_run(experiment_id=experiment_id, tags=dict(tags or {})) as run:
            mlflow.log_params({**params, "estimator": result.estimator, "features": ",".join(result.features)[:5000]})
            mlflow.log_metrics(flat_metrics(result))
            mlflow.log_dict(result.to_dict(), "training.json")
            sample = result.sample
            signature = infer_signature(sample, result.pipeline.predict(sample)) if sample is not None else None
            info = mlflow.sklearn.log_model(result.pipeline, name="model", signature=signature,
                                            input_example=sample, registered_model_name=registered_name,
                                            serialization_format="cloudpickle", pip_requirements=_requirements())
            mlflow.set_tag("aimod.logged_model_uri", info.model_uri)  # what a later task registers
        version = getattr(info, "registered_model_version", None)
        return {"run_id": run.info.run_id, "experiment_id": experiment_id, "model_uri": f"runs:/{run.info.run_id}/model",
                "logged_model_uri": info.model_uri, "registered_name": registered_name,
                "version": str(version) if version is not None else None}

    @registry_errors
    def training_run(self, run_id: str, *, agent: str | None = None) -> dict[str, Any]:
        """A finished training run read back from the store: ``{"training"`` (its ``training.json``), ``"logged"``
        (run id, model URIs), ``"truncated"}``; with ``agent``, the run must carry that ``aimod.agent`` tag."""
        import json
        import tempfile

        run = self.client.get_run(run_id)
        tags = run.data.tags
        if agent and tags.get("aimod.agent") != agent:
            raise ModelRegistryError(f"MLflow run {run_id} was not logged by {agent} (tag aimod.agent is "
                                     f"{tags.get('aimod.agent')!r}): only its own fits are registered")
        if run.info.status != "FINISHED":
            raise ModelRegistryError(f"MLflow run {run_id} is {run.info.status}, not FINISHED: nothing to register")
        with tempfile.TemporaryDirectory() as tmp:
            with open(self.client.download_artifacts(run_id, "training.json", tmp), encoding="utf-8") as fh:
                training = json.load(fh)
        model_uri = f"runs:/{run_id}/model"
        return {"training": training, "truncated": tags.get("aimod.truncated") == "True",
                "logged": {"run_id": run_id, "experiment_id": run.info.experiment_id, "model_uri": model_uri,
                           "logged_model_uri": tags.get("aimod.logged_model_uri") or model_uri}}

    def alias_version(self, name: str, alias: str) -> str | None:
        """The version ``alias`` points at, or None."""
        from mlflow.exceptions import MlflowException

        try:
            with self.credentials():
                return str(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException:
            return None

    @registry_errors
    def register(self, model_uri: str, name: str) -> str:
        """Register ``model_uri`` (``runs:/<id>/model``) as a new version of ``name``; the version number."""
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        return str(mlflow.register_model(model_uri, name).version)

    @registry_errors
    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, str(version))

    @registry_errors
    def load_model(self, uri: str) -> Any:
        """The scikit-learn pipeline at ``uri`` (``models:/name/3``, ``models:/name@champion``, ``runs:/…``)."""
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        return mlflow.sklearn.load_model(uri)

    @registry_errors
    def search_runs(self, experiments: Sequence[str], *, filter_string: str = "", order_by: Sequence[str] = (),
                    max_results: int = 100) -> list[dict[str, Any]]:
        """Runs as plain dicts: id, name, status, start/end (ms), params, metrics, tags (``mlflow.*`` left out)."""
        ids = [i for i in (self.experiment_id(n, create=False) for n in experiments) if i is not None]
        if not ids:
            return []
        runs = self.client.search_runs(ids, filter_string=filter_string, order_by=list(order_by),
                                       max_results=max_results)
        return [{"run_id": r.info.run_id, "run_name": r.info.run_name, "experiment_id": r.info.experiment_id,
                 "status": r.info.status, "start_time": r.info.start_time, "end_time": r.info.end_time,
                 "params": dict(r.data.params), "metrics": dict(r.data.metrics),
                 "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")}} for r in runs]

    @registry_errors
    def log_evaluation(self, *, experiment: str, evaluation: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        """Log an evaluation (metrics as ``challenger_*``/``champion_*``, the verdict as a tag and JSON); its run id."""
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        with mlflow.start_run(experiment_id=self.experiment_id(experiment), tags=dict(tags)) as run:
            for role in ("challenger", "champion"):
                numbers = {f"{role}_{k}": v for k, v in (evaluation.get(role) or {}).items()
                           if isinstance(v, (int, float)) and not isinstance(v, bool)}
                mlflow.log_metrics(numbers)
            mlflow.set_tag("aimod.verdict", evaluation["verdict"]["verdict"])
            mlflow.log_dict(dict(evaluation), "evaluation.json")
        return run.info.run_id


def flat_metrics(result: Any) -> dict[str, float]:
    """Numeric metrics of a training result, prefixed ``holdout_``, ``baseline_`` and ``cv_<estimator>_``."""
    out = {}
    for prefix, metrics in (("holdout", result.metrics), ("baseline", result.baseline)):
        out.update({f"{prefix}_{k}": float(v) for k, v in metrics.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)})
    for name, cv in result.cv.items():
        if "mean" in cv:
            out[f"cv_{name}_mean"], out[f"cv_{name}_std"] = cv["mean"], cv["std"]
    return out


def _requirements() -> list[str]:
    """The pipeline's runtime requirements, pinned to what fitted it. Given explicitly, MLflow skips inferring
    them (a subprocess that imports the model's modules: seconds per logged model)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "cloudpickle", "numpy", "pandas", "scipy")]

"""``aimod ml``: drift and training from CSV files, without Airflow.

  aimod ml drift --reference REF.csv --current CUR.csv [--categorical a,b] [--prediction COL] [--exclude a,b]
  aimod ml train --csv FILE --target COLUMN [--task classification|regression] [--tracking-uri URI]
                 [--experiment NAME] [--max-seconds N] [--estimators linear,gradient_boosting,random_forest]
                 [--register NAME]

Both print JSON. ``train`` logs the run (params, metrics, the whole pipeline with the scikit-learn flavor
and its signature) to MLflow at ``--tracking-uri`` (default: ``sqlite:///./mlflow.db``, artifacts in
``./mlartifacts``). pandas, scipy, scikit-learn and MLflow load only when a command runs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from airflow_aimod.cli.args import positive_int
from airflow_aimod.cli.output import NO, OK, add_output_flag, csv_list, emit
from airflow_aimod.exceptions import AimodError, ConfigurationError

DEFAULT_TRACKING = "sqlite:///mlflow.db"


def register(sub: Any) -> None:
    """Register ``aimod ml drift`` and ``aimod ml train`` under the top-level subparsers."""
    ml = sub.add_parser("ml", help="drift and training from CSV files").add_subparsers(dest="ml_command", required=True)
    drift = ml.add_parser("drift", help="per-column drift between two CSV files")
    drift.add_argument("--reference", required=True, metavar="CSV", help="the reference sample (CSV with a header)")
    drift.add_argument("--current", required=True, metavar="CSV", help="the current sample (CSV with a header)")
    drift.add_argument("--categorical", type=csv_list, default=[], metavar="A,B", help="columns to treat as categories")
    drift.add_argument("--prediction", default=None, metavar="COL", help="the model's prediction column, if any")
    drift.add_argument("--exclude", type=csv_list, default=[], metavar="A,B", help="columns to leave out (ids, keys)")
    drift.add_argument("--alpha", type=float, default=0.05, help="false discovery rate across columns (default 0.05)")
    drift.add_argument("--min-effect", type=float, default=0.1,
                       help="smallest effect size counted as drift (default 0.1)")
    drift.add_argument("--min-samples", type=positive_int, default=30,
                       help="fewer rows than this in either sample gives 'unknown' (default 30)")
    add_output_flag(drift)
    drift.set_defaults(func=lambda args: _guarded(cmd_drift, args))

    train = ml.add_parser("train", help="train a model on a CSV file and log it to MLflow")
    train.add_argument("--csv", required=True, metavar="FILE", help="training data (CSV with a header)")
    train.add_argument("--target", required=True, metavar="COLUMN", help="the column to predict")
    train.add_argument("--task", default="auto", choices=("auto", "classification", "regression"),
                       help="auto (default) infers it from the target")
    train.add_argument("--tracking-uri", default=DEFAULT_TRACKING, help=f"MLflow tracking URI (default {DEFAULT_TRACKING})")
    train.add_argument("--experiment", default="aimod", help="MLflow experiment name (default aimod)")
    train.add_argument("--max-seconds", type=float, default=300.0, help="time budget for the search (default 300)")
    train.add_argument("--estimators", type=csv_list, default=["linear", "gradient_boosting", "random_forest"],
                       metavar="A,B", help="candidates, comma-separated (default linear,gradient_boosting,random_forest)")
    train.add_argument("--cv-folds", type=positive_int, default=3, help="cross-validation folds (default 3)")
    train.add_argument("--n-jobs", type=positive_int, default=1, help="parallel jobs for fitting (default 1)")
    train.add_argument("--register", default=None, metavar="NAME", help="register the model under this name")
    add_output_flag(train)
    train.set_defaults(func=lambda args: _guarded(cmd_train, args))


def cmd_drift(args: argparse.Namespace) -> dict[str, Any]:
    from airflow_aimod.core.ml import DriftPolicy
    from airflow_aimod.core.ml.drift import DriftDetector

    policy = DriftPolicy(alpha=args.alpha, min_effect=args.min_effect, min_samples=args.min_samples)
    reference, current = _columns(args.reference), _columns(args.current)
    report = DriftDetector(policy).compare(reference, current, categorical=args.categorical,
                                           prediction=args.prediction, exclude=args.exclude)
    return report.to_dict()


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from airflow_aimod.core.ml.tracking import MlflowTracker
    from airflow_aimod.core.ml.training import Trainer, TrainingPlan, frame_from_columns

    plan = TrainingPlan(target=args.target, task=args.task, estimators=tuple(args.estimators),
                        max_seconds=args.max_seconds, cv_folds=args.cv_folds, n_jobs=args.n_jobs)
    result = Trainer(plan).fit(frame_from_columns(_columns(args.csv)))
    uri = args.tracking_uri
    tracker = MlflowTracker(tracking_uri=uri, artifact_root=_artifact_root(uri))
    logged = tracker.log_training(result, experiment=args.experiment, params=plan.params(),
                                  registered_name=args.register, tags={"aimod.source": "cli"})
    return {"run_id": logged["run_id"], "model_uri": logged["model_uri"], "estimator": result.estimator,
            "task": result.task, "metrics": result.metrics, "baseline": result.baseline, "cv": result.cv,
            "dropped": result.dropped, "registered_version": logged["version"], "tracking_uri": uri}


def _guarded(command: Any, args: argparse.Namespace) -> int:
    """Run ``command``; a bad input or a refusal is one line on stderr (exit 2 or 1), never a traceback."""
    import sys

    from airflow_aimod.core.redaction import scrub

    try:
        emit(args, command(args))
    except ConfigurationError:
        raise
    except AimodError as exc:
        print(f"aimod: {scrub(str(exc))}", file=sys.stderr)
        return NO
    return OK


def _columns(path: str) -> dict[str, list[Any]]:
    """Column name → values of a CSV file (types inferred by pandas; empty cells are None)."""
    import pandas as pd

    if not Path(path).is_file():
        raise ConfigurationError(f"no such CSV file: {path}")
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigurationError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from None
    if frame.empty:
        raise ConfigurationError(f"{path} has no rows")
    return {str(c): [None if v is None or v != v else v for v in frame[c].tolist()] for c in frame.columns}


def _artifact_root(uri: str) -> str | None:
    """Artifacts beside a SQLite store (``<db dir>/mlartifacts``); the store decides for other URIs."""
    if not uri.startswith("sqlite:///"):
        return None
    return os.path.join(os.path.dirname(os.path.abspath(uri[len("sqlite:///"):])), "mlartifacts")

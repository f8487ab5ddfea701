"""Declared thresholds for the ML verdicts: drift (per feature, with sample-size floors) and promotion.

Frozen, validated at construction, cheap to build at DAG-parse time (no numpy, no scipy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from airflow_aimod.exceptions import ConfigurationError

NUMERIC_METHODS = ("ks", "wasserstein")
CATEGORICAL_METHODS = ("chi2", "jensenshannon")
LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss", "brier", "ece", "mse"})
"""Metrics where a smaller value is better; every other metric is higher-is-better."""


@dataclass(frozen=True)
class DriftPolicy:
    """When a feature has drifted: a significant test (after Benjamini–Hochberg across features, so many
    undrifted columns do not raise false alarms) **and** an effect at least ``min_effect`` (normed
    Wasserstein distance for numeric columns, Jensen–Shannon distance for categorical ones), so a huge
    sample cannot flag a trivial shift. Fewer than ``min_samples`` non-null values on either side: the
    feature's verdict is ``unknown``, never ``drift`` or ``no_drift``.

    ``numeric_method``: ``ks`` (two-sample Kolmogorov–Smirnov) or ``wasserstein`` (a permutation test of
    the Wasserstein distance); ``categorical_method``: ``chi2`` (chi-square on the contingency table) or
    ``jensenshannon`` (a permutation test of the JS distance). PSI is reported for every feature."""

    alpha: float = 0.05
    min_effect: float = 0.1
    min_samples: int = 30
    numeric_method: str = "ks"
    categorical_method: str = "chi2"
    psi_bins: int = 10
    permutations: int = 200
    max_categories: int = 50

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ConfigurationError(f"alpha must be between 0 and 1 (exclusive), got {self.alpha}")
        if self.min_effect < 0:
            raise ConfigurationError(f"min_effect must be 0 or more, got {self.min_effect}")
        if self.min_samples < 2:
            raise ConfigurationError(f"min_samples must be at least 2, got {self.min_samples}")
        if self.numeric_method not in NUMERIC_METHODS:
            raise ConfigurationError(f"unknown numeric_method {self.numeric_method!r}; use {' or '.join(NUMERIC_METHODS)}")
        if self.categorical_method not in CATEGORICAL_METHODS:
            raise ConfigurationError(f"unknown categorical_method {self.categorical_method!r}; "
                                     f"use {' or '.join(CATEGORICAL_METHODS)}")
        if not 2 <= self.psi_bins <= 100:
            raise ConfigurationError(f"psi_bins must be between 2 and 100, got {self.psi_bins}")
        if not 20 <= self.permutations <= 10_000:
            raise ConfigurationError(f"permutations must be between 20 and 10000, got {self.permutations}")


@dataclass(frozen=True)
class PromotionRule:
    """Champion/challenger: the challenger wins when its ``primary`` metric beats the champion's by at least
    ``min_lift`` (absolute), no ``guard`` metric is worse by more than its margin (non-inferiority), and the
    holdout has at least ``min_samples`` rows. Too few rows: the verdict is ``unknown``."""

    primary: str = "roc_auc"
    min_lift: float = 0.0
    guards: Mapping[str, float] = field(default_factory=dict)
    min_samples: int = 100

    def __post_init__(self) -> None:
        if not self.primary:
            raise ConfigurationError("the promotion rule needs a primary metric, e.g. primary='roc_auc'")
        if self.min_lift < 0 or any(m < 0 for m in self.guards.values()):
            raise ConfigurationError("min_lift and guard margins are amounts a metric may move: give 0 or more")
        if self.min_samples < 1:
            raise ConfigurationError(f"min_samples must be at least 1, got {self.min_samples}")
        object.__setattr__(self, "guards", MappingProxyType({str(k): float(v) for k, v in self.guards.items()}))

    @staticmethod
    def better(metric: str, new: float, old: float) -> float:
        """How much ``new`` improves on ``old`` (positive is better), whichever way the metric points."""
        return old - new if metric in LOWER_IS_BETTER else new - old

    def to_dict(self) -> dict:
        return {"primary": self.primary, "min_lift": self.min_lift, "guards": dict(self.guards),
                "min_samples": self.min_samples}

"""Data and prediction drift between a reference and a current sample, per feature, with scipy.

Numeric features: two-sample Kolmogorov–Smirnov (or a permutation test of the Wasserstein distance),
effect = Wasserstein distance in units of the reference's standard deviation. Categorical features:
chi-square on the 2×k contingency table (or a permutation test of the Jensen–Shannon distance),
effect = Jensen–Shannon distance (base 2, in [0, 1]). PSI is reported for both. P-values are
adjusted across features with Benjamini–Hochberg; a feature drifts only when its adjusted p-value is
below ``alpha`` *and* its effect reaches ``min_effect`` (see ``DriftPolicy``). numpy and scipy are
imported when a comparison runs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_aimod.core.ml.policy import DriftPolicy
from airflow_aimod.exceptions import ConfigurationError

VERDICTS = ("drift", "no_drift", "unknown")
ASSESSMENT = {"drift": "anomalous", "no_drift": "normal", "unknown": "unknown"}
EPS = 1e-4
"""Floor of a bin's share in PSI, so an empty bin does not make it infinite."""


@dataclass(frozen=True)
class DriftReport:
    """The verdict (``drift``, ``no_drift``, ``unknown``), the drifted columns and every feature's numbers."""

    verdict: str
    drifted: list[str]
    features: dict[str, dict[str, Any]]
    reason: str
    reference_rows: int
    current_rows: int
    prediction: str | None = None

    def to_dict(self) -> dict[str, Any]:
        pred = self.features.get(self.prediction) if self.prediction else None
        return {"verdict": self.verdict, "drifted": list(self.drifted), "features": dict(self.features),
                "reason": self.reason, "reference_rows": self.reference_rows, "current_rows": self.current_rows,
                "prediction_drift": None if pred is None else pred["drifted"]}

    def assessment(self, subject: str) -> dict[str, Any]:
        """The shape other agents' verdicts are compared in (``core.disagreement``): drift is ``anomalous``."""
        n = min(self.reference_rows, self.current_rows)
        confidence = 0.0 if self.verdict == "unknown" else min(1.0, 0.5 + n / 1000)
        findings = [{"column": c, **{k: self.features[c][k] for k in ("method", "effect", "p_adjusted", "psi")}}
                    for c in self.drifted]
        return {"subject": subject, "verdict": ASSESSMENT[self.verdict], "confidence": round(confidence, 2),
                "summary": self.reason, "findings": findings}


class DriftDetector:
    """Compare ``current`` with ``reference`` (column name → values) under a ``DriftPolicy``."""

    def __init__(self, policy: DriftPolicy | None = None) -> None:
        self.policy = policy or DriftPolicy()

    def compare(self, reference: Mapping[str, Sequence[Any]], current: Mapping[str, Sequence[Any]], *,
                categorical: Collection[str] = (), prediction: str | None = None,
                exclude: Collection[str] = ()) -> DriftReport:
        columns = [c for c in reference if c in current and c not in exclude]
        if missing := sorted(set(categorical) - set(columns)):
            raise ConfigurationError(f"categorical columns {missing} are not in both samples; "
                                     f"the shared columns are: {', '.join(columns) or 'none'}")
        if prediction is not None and prediction not in columns:
            raise ConfigurationError(f"prediction column {prediction!r} is not in both samples")
        features = {c: self._feature(reference[c], current[c], c in categorical) for c in columns}
        for name in features:
            features[name]["role"] = "prediction" if name == prediction else "feature"
        self._adjust(features)
        n_ref = max((len(reference[c]) for c in columns), default=0)
        n_cur = max((len(current[c]) for c in columns), default=0)
        verdict, reason = _verdict(features, self.policy)
        drifted = [c for c, f in features.items() if f["drifted"]]
        return DriftReport(verdict, drifted, features, reason, n_ref, n_cur, prediction)

    def _feature(self, ref_values: Sequence[Any], cur_values: Sequence[Any], categorical: bool) -> dict[str, Any]:
        ref, cur = _present(ref_values), _present(cur_values)
        numeric = not categorical and all(_is_number(v) for v in (*ref, *cur)) and bool(ref or cur)
        base = {"kind": "numeric" if numeric else "categorical", "n_reference": len(ref), "n_current": len(cur),
                "statistic": None, "p_value": None, "p_adjusted": None, "effect": None, "psi": None,
                "new_categories": [], "drifted": None, "note": None}
        if not numeric and _identifier_like(ref, self.policy.max_categories):
            return {**base, "method": "skipped", "note": "identifier-like: almost every value is distinct"}
        if len(ref) < 2 or len(cur) < 2:
            return {**base, "method": "none", "note": f"too few values to compare ({len(ref)} vs {len(cur)})"}
        stats = _numeric(ref, cur, self.policy) if numeric else _categorical(ref, cur, self.policy)
        if min(len(ref), len(cur)) < self.policy.min_samples:
            stats.update(p_value=None, note=f"fewer than {self.policy.min_samples} values on one side "
                                            f"({len(ref)} reference, {len(cur)} current): cannot judge")
        return {**base, **stats}

    def _adjust(self, features: dict[str, dict[str, Any]]) -> None:
        from scipy.stats import false_discovery_control

        tested = [c for c, f in features.items() if f["p_value"] is not None]
        if not tested:
            return
        adjusted = false_discovery_control([features[c]["p_value"] for c in tested], method="bh")
        for name, p_adj in zip(tested, adjusted):
            f = features[name]
            f["p_adjusted"] = _round(float(p_adj))
            f["drifted"] = bool(p_adj < self.policy.alpha and f["effect"] >= self.policy.min_effect)


def columns_from_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    """Column name → values, from a query's columns and rows."""
    return {name: [row[i] for row in rows] for i, name in enumerate(columns)}


def _verdict(features: Mapping[str, dict[str, Any]], policy: DriftPolicy) -> tuple[str, str]:
    drifted = [c for c, f in features.items() if f["drifted"]]
    unknown = [c for c, f in features.items() if f["drifted"] is None and f["method"] != "skipped"]
    if drifted:
        return "drift", f"{len(drifted)} of {len(features)} column(s) drifted: {', '.join(drifted)}"
    if unknown or not features:
        why = "; ".join(f"{c}: {features[c]['note']}" for c in unknown[:5]) or "no column to compare"
        return "unknown", f"cannot judge {len(unknown)} column(s) — {why}"
    return "no_drift", (f"no drift in {len(features)} column(s) (BH-adjusted p < {policy.alpha} and effect "
                        f">= {policy.min_effect} needed)")


def _numeric(ref: list[Any], cur: list[Any], policy: DriftPolicy) -> dict[str, Any]:
    import numpy as np
    from scipy import stats

    a, b = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    distance = float(stats.wasserstein_distance(a, b))
    scale = float(a.std()) or abs(float(a.mean())) or 1.0
    if policy.numeric_method == "ks":
        test = stats.ks_2samp(a, b)
        statistic, p = float(test.statistic), float(test.pvalue)
    else:
        statistic, p = distance, _permutation_p(a, b, stats.wasserstein_distance, policy.permutations)
    return {"method": policy.numeric_method, "statistic": _round(statistic), "p_value": _round(p),
            "effect": _round(distance / scale), "psi": _round(_psi_numeric(a, b, policy.psi_bins))}


def _categorical(ref: list[Any], cur: list[Any], policy: DriftPolicy) -> dict[str, Any]:
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    ref_s, cur_s = [str(v) for v in ref], [str(v) for v in cur]
    seen = set(ref_s)
    categories = sorted(seen | set(cur_s))
    index = {c: i for i, c in enumerate(categories)}
    counts = np.zeros((2, len(categories)))
    np.add.at(counts[0], [index[v] for v in ref_s], 1)
    np.add.at(counts[1], [index[v] for v in cur_s], 1)
    p, q = counts[0] / counts[0].sum(), counts[1] / counts[1].sum()
    js = float(jensenshannon(p, q, base=2)) if len(categories) > 1 else 0.0
    if policy.categorical_method == "chi2":
        statistic, pv = ((0.0, 1.0) if len(categories) < 2 else
                         tuple(float(x) for x in stats.chi2_contingency(counts, correction=False)[:2]))
    else:
        codes_a = np.array([index[v] for v in ref_s])
        codes_b = np.array([index[v] for v in cur_s])
        k = len(categories)
        js_of = lambda x, y: float(jensenshannon(np.bincount(x, minlength=k), np.bincount(y, minlength=k),  # noqa: E731
                                                 base=2)) if k > 1 else 0.0
        statistic, pv = js, _permutation_p(codes_a, codes_b, js_of, policy.permutations)
    new = sorted(set(cur_s) - seen)
    return {"method": policy.categorical_method, "statistic": _round(statistic), "p_value": _round(pv),
            "effect": _round(js), "psi": _round(_psi(p, q)), "new_categories": new[:20]}


def _permutation_p(a: Any, b: Any, statistic: Any, resamples: int) -> float:
    """Two-sided permutation p-value of ``statistic(a, b)`` (seeded: the same data gives the same answer)."""
    from scipy.stats import permutation_test

    result = permutation_test((a, b), statistic, permutation_type="independent", vectorized=False,
                              n_resamples=resamples, alternative="greater", rng=0)
    return float(result.pvalue)


def _psi_numeric(a: Any, b: Any, bins: int) -> float:
    import numpy as np

    inner = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1))[1:-1])
    ra = np.bincount(np.searchsorted(inner, a, side="right"), minlength=len(inner) + 1) / len(a)
    rb = np.bincount(np.searchsorted(inner, b, side="right"), minlength=len(inner) + 1) / len(b)
    return _psi(ra, rb)


def _psi(expected: Any, actual: Any) -> float:
    import numpy as np

    e, a = np.maximum(expected, EPS), np.maximum(actual, EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def _present(values: Sequence[Any]) -> list[Any]:
    return [v for v in values if v is not None and v != "" and not (isinstance(v, float) and math.isnan(v))]


def _is_number(value: Any) -> bool:
    """ints, floats, Decimals and numpy scalars; never bools (those are categories)."""
    return isinstance(value, numbers.Number) and not isinstance(value, (bool, complex)) and \
        type(value).__name__ != "bool_"


def _identifier_like(values: list[Any], max_categories: int) -> bool:
    return len(values) > max_categories and len(set(map(str, values))) > 0.9 * len(values)


def _round(value: float) -> float:
    return float(f"{value:.6g}")

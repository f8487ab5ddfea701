"""How easily a point is flagged: the one place where every method's thresholds are set."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_aimod.exceptions import ConfigurationError


@dataclass(frozen=True)
class Sensitivity:
    """Thresholds per method. ``z``: modified z-score (Iglewicz–Hoaglin recommend 3.5);
    ``iqr_k``: Tukey's fence multiplier (1.5 is Tukey's "outside")."""

    name: str
    z: float
    iqr_k: float

    @classmethod
    def of(cls, value: str | Sensitivity) -> Sensitivity:
        """``"low"``, ``"medium"`` or ``"high"`` (higher flags more points)."""
        if isinstance(value, Sensitivity):
            return value
        try:
            return PRESETS[str(value).lower()]
        except KeyError:
            raise ConfigurationError(f"unknown sensitivity {value!r}; use one of {', '.join(PRESETS)}") from None


PRESETS = {
    "low": Sensitivity("low", z=5.0, iqr_k=3.0),
    "medium": Sensitivity("medium", z=3.5, iqr_k=1.5),
    "high": Sensitivity("high", z=2.5, iqr_k=1.0),
}

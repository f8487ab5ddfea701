"""Order statistics the detectors share (pure Python: series are small and exactness matters)."""

from __future__ import annotations

from collections.abc import Sequence

MAD_TO_Z = 0.6745
"""Modified z-score constant: 0.6745·(x − median)/MAD (the 0.75 normal quantile)."""
MEAN_AD_TO_Z = 1.253314
"""When MAD is 0: (x − median)/(1.253314·mean absolute deviation) (Iglewicz–Hoaglin)."""


def median(values: Sequence[float]) -> float:
    return quantile(values, 0.5)


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (Hyndman–Fan type 7, numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def modified_z(value: float, reference: Sequence[float]) -> float:
    """How far ``value`` sits from the reference's median, in robust standard units (0 when it is the median)."""
    centre = median(reference)
    deviations = [abs(v - centre) for v in reference]
    mad = median(deviations)
    if mad > 0:
        return MAD_TO_Z * (value - centre) / mad
    mean_ad = sum(deviations) / len(deviations)
    if mean_ad > 0:
        return (value - centre) / (MEAN_AD_TO_Z * mean_ad)
    return 0.0 if value == centre else float("inf") if value > centre else float("-inf")


def robust_band(reference: Sequence[float], z: float) -> tuple[float, float]:
    """The values whose modified z-score stays within ±``z`` of the reference."""
    centre = median(reference)
    deviations = [abs(v - centre) for v in reference]
    mad = median(deviations)
    scale = mad / MAD_TO_Z if mad > 0 else MEAN_AD_TO_Z * sum(deviations) / len(deviations)
    return centre - z * scale, centre + z * scale

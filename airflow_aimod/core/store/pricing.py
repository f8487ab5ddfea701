"""``PriceTable``: what a model's tokens cost, from ``{"model": {"input_per_1k": x, "output_per_1k": y}}``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class PriceTable:
    """Prices per 1,000 tokens by model name; models not listed cost what their outcome rows recorded."""

    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for model, (inp, out) in self.prices.items():
            if not (math.isfinite(inp) and math.isfinite(out)) or inp < 0 or out < 0:
                raise ValueError(f"price for model {model!r} must be two finite numbers >= 0, got {(inp, out)}")
        object.__setattr__(self, "prices", MappingProxyType(dict(self.prices)))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | str | None) -> PriceTable:
        """Parse the configured table (a dict or its JSON text); errors say which entry is wrong."""
        if raw is None or raw == "":
            return cls()
        data = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(data, Mapping):
            raise ValueError('price table must be a JSON object: {"model": {"input_per_1k": x, "output_per_1k": y}}')
        prices = {}
        for model, entry in data.items():
            if not isinstance(entry, Mapping) or not {"input_per_1k", "output_per_1k"} <= set(entry):
                raise ValueError(f"price table entry {model!r} needs input_per_1k and output_per_1k, got {entry!r}")
            prices[str(model)] = (float(entry["input_per_1k"]), float(entry["output_per_1k"]))
        return cls(prices)

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """The cost of these tokens, or None when ``model`` has no price."""
        if model not in self.prices:
            return None
        inp, out = self.prices[model]
        return input_tokens / 1000 * inp + output_tokens / 1000 * out


def nearest_rank(sorted_values: Sequence[float], pct: int) -> float | None:
    """The nearest-rank percentile (the value at rank ceil(pct/100 * n)); None for no values."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) * pct + 99) // 100
    return sorted_values[max(rank, 1) - 1]

"""Wall-clock time per phase of one agent task, so its overhead can be read from its own trace.

An agent task spends time outside the graph's nodes: importing what the run needs, opening the
warehouse, building and compiling the graph, opening the checkpointer, recording the outcome.
``PhaseTimer`` measures those phases; the operator emits them as one ``timing`` event (task log,
AiMod store), which ``benchmarks/bench_overhead.py`` and ``bench_approval.py`` read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class PhaseTimer:
    """Milliseconds per named phase, in the order they ran (a phase entered twice adds up)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._ms: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the body as ``name``."""
        started = self._clock()
        try:
            yield
        finally:
            self._ms[name] = self._ms.get(name, 0.0) + (self._clock() - started) * 1000

    def as_dict(self) -> dict[str, float]:
        """Phase name -> milliseconds, rounded to 0.1 ms."""
        return {name: round(ms, 1) for name, ms in self._ms.items()}

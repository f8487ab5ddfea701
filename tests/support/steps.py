"""``step_fails``: expect an LLM or tool call to raise ``StepFailed`` caused by a given error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from airflow_aimod.exceptions import StepFailed


@contextmanager
def step_fails(cause: type[Exception], match: str | None = None) -> Iterator[pytest.ExceptionInfo[StepFailed]]:
    """Like ``pytest.raises(cause, match=...)`` for a call that wraps its failure in ``StepFailed``."""
    with pytest.raises(StepFailed, match=match) as info:
        yield info
    assert isinstance(info.value.cause, cause), f"caused by {type(info.value.cause).__name__}, not {cause.__name__}"

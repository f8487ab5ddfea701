"""StoreRetentionOperator: the maintenance task that keeps the AiMod store to ``[aimod] store_retention_days``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context


class StoreRetentionOperator(BaseOperator):
    """Delete store rows older than the retention, in batches that never hold writers up for long.

    :param retention_days: days to keep (default ``[aimod] store_retention_days``, 90).
    :param batch_size: rows deleted per transaction (1..100000).
    """

    template_fields: Sequence[str] = ("retention_days",)
    ui_color = "#e8e1f7"

    def __init__(self, *, retention_days: float | str | None = None, batch_size: int = 5000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= 100_000:
            raise ConfigurationError(f"batch_size must be between 1 and 100000 rows, got {batch_size!r}")
        self.retention_days, self.batch_size = retention_days, batch_size

    def execute(self, context: Context) -> dict[str, int]:
        from airflow_aimod.core.store.retention import RetentionPolicy, StoreRetention
        from airflow_aimod.observability.sinks import shared_store, store_url

        url = store_url()
        if url is None:
            self.log.info("[aimod] store_url is off: there is no store to purge")
            return {}
        policy = RetentionPolicy(_days(self.retention_days), self.batch_size)
        deleted = StoreRetention(shared_store(url), policy).purge()
        self.log.info("AiMod store kept to %g days: deleted %s", policy.days,
                      ", ".join(f"{n} from {table}" for table, n in deleted.items()))
        return deleted


def _days(value: float | str | None) -> float:
    """The retention in days: the argument, else ``[aimod] store_retention_days``; one line on a bad value."""
    from airflow_aimod.settings import aimod_setting

    raw = value if value not in (None, "") else (aimod_setting("store_retention_days") or "90")
    try:
        days = float(raw)
    except (TypeError, ValueError):
        days = 0.0
    if days <= 0:
        raise ConfigurationError(f"store retention must be a positive number of days, got {raw!r}: set "
                                 "retention_days or [aimod] store_retention_days (e.g. 30)")
    return days

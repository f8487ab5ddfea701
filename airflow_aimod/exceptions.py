"""Every error class of airflow_aimod, one docstring each.

Pure: imports no Airflow, so the core and the CLI can raise and catch them.
"""

from __future__ import annotations


class AimodError(Exception):
    """Raised as the base of every airflow_aimod error."""


class ConfigurationError(AimodError, ValueError):
    """Raised when an operator, envelope or connection is configured wrongly; the message says how to fix it."""


class PermissionDenied(AimodError):
    """Raised when an action falls outside the agent's permission envelope."""


class SqlRejected(AimodError):
    """Raised when the SQL guard refuses a statement; ``violations`` lists why."""

    def __init__(self, message: str, violations: list[str] | None = None) -> None:
        super().__init__(message)
        self.violations = list(violations or [])


class BudgetExceeded(AimodError):
    """Raised when an LLM call would pass the token budget; the call is not made."""


class LoopDetected(AimodError):
    """Raised when a handoff would revisit an agent or pass the maximum handoff depth."""


class AgentTimeout(AimodError):
    """Raised when an LLM or database call passes its deadline."""


class LLMResponseError(AimodError):
    """Raised when the model's reply cannot be parsed after the bounded re-asks."""


class LLMBackendError(AimodError):
    """Raised when the LLM backend fails (HTTP error, timeout, refused connection) after its retries;
    ``transient`` when the fault may pass (429, 5xx, connection errors), not for a bad key or model."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class QueryExecutionError(AimodError):
    """Raised when the read-only executor cannot run a validated query; ``transient`` when the database
    was unreachable or dropped the connection (a retry may succeed), not when it refused the query."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class ModelRegistryError(AimodError):
    """Raised when MLflow (the tracking store or the model registry) refuses a request or cannot be reached,
    e.g. a model version that does not exist."""


class StepFailed(AimodError):
    """Raised when an admitted LLM call or tool call fails: ``cause`` is the error, ``events`` what the step
    recorded before it failed (guard verdict, tool call, each LLM attempt) and ``usage`` the tokens it spent."""

    def __init__(self, cause: AimodError, *, events: list[dict] | None = None, usage: dict[str, int] | None = None):
        super().__init__(str(cause))
        self.cause = cause
        self.events = list(events or [])
        self.usage = dict(usage or {})


class AgentRunFailed(AimodError):
    """Raised by an operator when its agent ends in a status listed in ``fail_on_status``."""


class NotificationFailed(AimodError):
    """Raised when an Airflow notifier could not deliver an alert to its channel."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient

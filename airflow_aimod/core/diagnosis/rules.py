"""Classify a task failure by declared patterns, and count the retries Airflow has already run.

``transient`` failures (timeouts, refused or reset connections, 429/503, deadlocks, a locked
database) may succeed on a retry; ``permanent`` ones (syntax errors, bugs in the task's code,
missing tables or columns, permission denied, a full disk) will fail the same way again;
``unknown`` means no pattern matched, and a person decides. Type rules are checked first
(a ``TypeError`` mentioning "timeout" is still a bug), then message rules in declared order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_aimod.core.diagnosis.logs import Failure, find_failure, read_records

TRANSIENT, PERMANENT, UNKNOWN = "transient", "permanent", "unknown"
MAX_EVIDENCE = 6
_WRAPPERS = frozenset({"", "Task failed with exception"})  # Airflow's own line around the real error


@dataclass(frozen=True)
class FailurePattern:
    """One declared rule: a name, the class it implies, and what it matches (an exception type or text)."""

    name: str
    classification: str
    regex: str
    on: str = "text"  # "type": the exception's full class name; "text": "Type: message" and error lines
    why: str = ""

    def matches(self, text: str) -> re.Match[str] | None:
        return re.search(self.regex, text, re.I)


def _p(name: str, classification: str, regex: str, why: str, on: str = "text") -> FailurePattern:
    return FailurePattern(name, classification, regex, on, why)


PATTERNS: tuple[FailurePattern, ...] = (
    _p("python_syntax", PERMANENT, r"^(builtins\.)?(SyntaxError|IndentationError|TabError)$",
       "the code does not parse", "type"),
    _p("code_bug", PERMANENT, r"^(builtins\.)?(KeyError|TypeError|AttributeError|NameError|IndexError|"
       r"ZeroDivisionError|UnboundLocalError|AssertionError|ImportError|ModuleNotFoundError|NotImplementedError)$",
       "an error in the task's code: it fails the same way on every try", "type"),
    _p("missing_table_or_column", PERMANENT, r"no such (table|column)|(relation|column|table) \S+ does not exist|"
       r"UndefinedTable|UndefinedColumn|unknown column|invalid (object|column) name",
       "a table or column the task needs does not exist"),
    _p("permission_denied", PERMANENT, r"permission denied|access denied|not authori[sz]ed|forbidden|\b403\b|"
       r"InsufficientPrivilege", "the task lacks a permission; a retry gets the same answer"),
    _p("out_of_disk", PERMANENT, r"no space left on device|disk (is )?full|ENOSPC|DiskFull",
       "the disk is full; it stays full until someone frees space"),
    _p("sql_syntax", PERMANENT, r"syntax error at or near|SyntaxError|ProgrammingError: .*syntax",
       "the statement does not parse"),
    _p("deadlock", TRANSIENT, r"deadlock detected|deadlock found|DeadlockDetected|SerializationFailure|"
       r"could not serialize access", "a lock conflict with a concurrent transaction; usually clears on a retry"),
    _p("database_locked", TRANSIENT, r"database is locked|database table is locked|lock wait timeout",
       "another writer held the database; usually clears on a retry"),
    _p("rate_limited_or_unavailable", TRANSIENT, r"\b(429|502|503|504)\b|too many requests|service unavailable|"
       r"bad gateway|gateway time-?out|temporarily unavailable|throttl",
       "the service was overloaded or down for a moment"),
    _p("connection", TRANSIENT, r"connection (was )?(refused|reset|aborted|closed unexpectedly)|ConnectionRefused|"
       r"ConnectionReset|ConnectionAborted|BrokenPipe|broken pipe|could not connect|server closed the connection|"
       r"name or service not known|temporary failure in name resolution|network is unreachable|"
       r"^ConnectionError", "the network or the server was not reachable at that moment"),
    _p("timeout", TRANSIENT, r"timed? ?out|TimeoutError|ReadTimeout|ConnectTimeout|AirflowTaskTimeout|"
       r"deadline exceeded|statement timeout", "a call took too long; a later try may be faster"),
)


@dataclass(frozen=True)
class Diagnosis:
    """What failed a try, which rule classified it, and the log lines that show it."""

    classification: str
    rule: str | None
    why: str
    failure: Failure | None
    evidence: tuple[str, ...]

    @property
    def retryable(self) -> bool | None:
        return {TRANSIENT: True, PERMANENT: False}.get(self.classification)

    def to_dict(self) -> dict[str, Any]:
        failure = self.failure
        return {"classification": self.classification, "retryable": self.retryable, "rule": self.rule,
                "why": self.why, "exception": failure.exc_type if failure else None,
                "message": failure.message if failure else None,
                "last_frame": failure.last_frame if failure else None, "evidence": list(self.evidence)}


def diagnose(log_content: Sequence[Any], patterns: Sequence[FailurePattern] = PATTERNS) -> Diagnosis:
    """Diagnose one try from its log (an API ``content`` list, or a log file's lines)."""
    records = read_records(log_content)
    failure = find_failure(records)
    errors = [r.text for r in records if r.level in ("error", "critical") and r.text.strip() not in _WRAPPERS]
    for pattern in patterns:
        if evidence := _evidence(pattern, failure, errors):
            return Diagnosis(pattern.classification, pattern.name, pattern.why, failure, evidence)
    shown = ([failure.headline] if failure else []) + errors[-2:]
    why = "no declared pattern matches this failure: a person should look" if shown else \
        "the log shows no error at all (the task may have been killed from outside): a person should look"
    return Diagnosis(UNKNOWN, None, why, failure, _with_frame(failure, shown) if shown else ())


def _evidence(pattern: FailurePattern, failure: Failure | None, errors: list[str]) -> tuple[str, ...]:
    """The lines that show ``pattern`` applies, or ``()`` when it does not."""
    if pattern.on == "type":
        if failure is None or not pattern.matches(failure.exc_type):
            return ()
        return _with_frame(failure, [failure.headline])
    texts = ([failure.headline, *failure.causes] if failure else []) + errors
    hits = [text for text in texts if pattern.matches(text)]
    if not hits:
        return ()
    lines = [failure.headline] if failure else []
    return _with_frame(failure, lines + [h for h in hits if h not in lines])


def _with_frame(failure: Failure | None, lines: list[str]) -> tuple[str, ...]:
    if failure and failure.where:
        lines = [lines[0], f"at {failure.where}", *lines[1:]]
    return tuple(lines[:MAX_EVIDENCE])


@dataclass(frozen=True)
class RetryBudget:
    """Automatic retries left for one task instance, counted from Airflow's own ``try_number``.

    Every try after the first is a retry, whoever started it (a clear starts a new try;
    Airflow's own ``retries`` count too, which errs on the side of fewer restarts). The count
    lives in Airflow, so it holds across monitor runs and across monitors.
    """

    max_auto_retries: int
    try_number: int

    @property
    def used(self) -> int:
        return max(int(self.try_number) - 1, 0)

    @property
    def remaining(self) -> int:
        return max(self.max_auto_retries - self.used, 0)

    @property
    def allows_clear(self) -> bool:
        return self.remaining > 0

    def to_dict(self) -> dict[str, int]:
        return {"max": self.max_auto_retries, "used": self.used, "remaining": self.remaining}

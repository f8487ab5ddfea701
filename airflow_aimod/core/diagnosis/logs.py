"""Read a task log into records and find the exception that failed the try.

Airflow 3.x serves a try's log as JSON: ``{"content": [{"timestamp", "event", "level", ...}]}``,
and the error that ended the task comes as ``error_detail`` on the "Task failed with exception"
record: the exception chain, each link with ``exc_type``, ``exc_value`` and ``frames``. Older
formats (plain text, a Python traceback printed into the log) are read too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

_LEVEL = re.compile(r"\b(CRITICAL|ERROR|WARNING|WARN|INFO|DEBUG)\b")
_FRAME = re.compile(r'^\s*File "(?P<filename>[^"]+)", line (?P<lineno>\d+), in (?P<name>\S+)')
_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")
_TRACEBACK = "Traceback (most recent call last):"
_PREFIX = re.compile(r"^\[[^\]]*\]\s*\{[^}]*\}\s*[A-Z]+\s*-\s*")  # Airflow 2: "[ts] {file.py:12} ERROR - "
MAX_LINE = 500


@dataclass(frozen=True)
class LogRecord:
    """One log line: its level (lower case, "" when unknown), text, and structured error when it has one."""

    level: str
    text: str
    error_detail: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Failure:
    """The exception that ended a try: type, message, the innermost frame, and any chained causes."""

    exc_type: str
    message: str
    last_frame: dict[str, Any] | None = None
    causes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def headline(self) -> str:
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type

    @property
    def where(self) -> str:
        frame = self.last_frame
        return f"{frame['filename']}:{frame['lineno']} in {frame['name']}" if frame else ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "causes": list(self.causes)}


def read_records(content: Iterable[Any]) -> list[LogRecord]:
    """Records from an API ``content`` list (dicts or strings) or from a log file's lines."""
    records = []
    for item in content:
        if isinstance(item, str) and item.lstrip().startswith("{"):
            item = _json_or_text(item)
        if isinstance(item, Mapping):
            records.append(_from_mapping(item))
        elif isinstance(item, str):
            records.extend(_from_text(line) for line in item.splitlines() or [""])
    return records


def _json_or_text(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return line


def _from_mapping(item: Mapping[str, Any]) -> LogRecord:
    detail = item.get("error_detail")
    chain = tuple(d for d in detail if isinstance(d, Mapping)) if isinstance(detail, list) else ()
    return LogRecord(str(item.get("level") or "").lower(), str(item.get("event") or "")[:MAX_LINE], chain)


def _from_text(line: str) -> LogRecord:
    level = _LEVEL.search(line)
    return LogRecord(level.group(1).lower().replace("warn", "warning") if level else "", line.rstrip()[:MAX_LINE])


def find_failure(records: list[LogRecord]) -> Failure | None:
    """The last structured error in the log, else the last printed traceback, else ``None``."""
    for record in reversed(records):
        if record.error_detail:
            return _from_error_detail(record.error_detail)
    return _from_traceback([r.text for r in records])


def _from_error_detail(chain: tuple[Mapping[str, Any], ...]) -> Failure:
    final = chain[0]  # structlog lists the exception raised last first, then its causes
    frames = [f for f in final.get("frames") or [] if isinstance(f, Mapping)]
    last = dict(frames[-1]) if frames else None
    causes = tuple(f"{c.get('exc_type')}: {c.get('exc_value')}" for c in chain[1:])
    return Failure(str(final.get("exc_type") or "Exception"), str(final.get("exc_value") or "")[:MAX_LINE],
                   {k: last.get(k) for k in ("filename", "lineno", "name")} if last else None, causes)


def _from_traceback(lines: list[str]) -> Failure | None:
    """The exception line closing the last ``Traceback`` block of plain-text lines."""
    starts = [i for i, line in enumerate(lines) if _TRACEBACK in line]
    found: list[Failure] = []
    for start in starts:
        frame = None
        for line in lines[start + 1:]:
            text = _PREFIX.sub("", line)
            if match := _FRAME.match(text):
                frame = {"filename": match["filename"], "lineno": int(match["lineno"]), "name": match["name"]}
            elif text.startswith((" ", "\t")) or not text.strip():
                continue
            elif match := _EXC_LINE.match(text.strip()):
                found.append(Failure(match["type"], (match["message"] or "")[:MAX_LINE], frame))
                break
    if not found:
        return None
    return Failure(found[-1].exc_type, found[-1].message, found[-1].last_frame,
                   tuple(f.headline for f in found[:-1]))

"""How ``aimod`` prints: ``-o json|table|yaml`` (as Airflow's CLI), progress on stderr, one-line errors.

With no ``-o`` the output is a table on a terminal and JSON otherwise, so scripts that read stdout
keep working. Tables come from ``tabulate`` and YAML from PyYAML (both arrive with Airflow).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stdout
from typing import Any

FORMATS = ("json", "table", "yaml")
# Exit codes: every command uses these, the --help epilog and docs/cli.md list them.
OK, NO, USAGE, UNEXPECTED, INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = (
    (OK, "success (for 'sql check': the statement is allowed, with or without approval)"),
    (NO, "the answer is no: SQL rejected, the agent failed, the trace is not in the store"),
    (USAGE, "usage or configuration error: a bad flag or value, an unknown connection, no store"),
    (UNEXPECTED, "an unexpected error (one line; AIMOD_DEBUG=1 prints the traceback)"),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
)


def add_output_flag(parser: argparse.ArgumentParser) -> None:
    """``-o/--output`` on a command that prints data."""
    parser.add_argument("-o", "--output", choices=FORMATS, default=None,
                        help="output format (default: table on a terminal, json when stdout is a pipe or file)")


def chosen_format(args: argparse.Namespace) -> str:
    explicit = getattr(args, "output", None)
    return explicit or ("table" if _stdout().isatty() else "json")


def emit(args: argparse.Namespace, data: Any, *, table: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` in the chosen format; ``table`` renders it for people (default: generic)."""
    fmt = chosen_format(args)
    out = _stdout()
    if fmt == "json":
        print(json.dumps(data, indent=2, default=str), file=out)
    elif fmt == "yaml":
        import yaml

        print(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False, allow_unicode=True), end="",
              file=out)
    else:
        print((table or render_table)(data), file=out)


def render_table(data: Any) -> str:
    """A list of records as columns; a record as field/value rows; nested values as compact JSON."""
    from tabulate import tabulate

    if isinstance(data, Mapping):
        return tabulate([(key, cell(value)) for key, value in data.items()], headers=("field", "value"))
    rows = list(data)
    if not rows:
        return "(none)"
    headers = list(dict.fromkeys(key for row in rows for key in row))
    return tabulate([[cell(row.get(h)) for h in headers] for row in rows], headers=headers)


def records_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Only ``columns`` of ``rows``, as a table."""
    from tabulate import tabulate

    if not rows:
        return "(none)"
    return tabulate([[cell(row.get(c)) for c in columns] for row in rows], headers=list(columns))


def cell(value: Any, width: int = 80) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@contextmanager
def progress(message: str, *, after: float = 1.0) -> Iterator[None]:
    """Say ``message`` on stderr if the work takes longer than ``after`` seconds (and how long it took)."""
    started = threading.Event()

    def announce() -> None:
        started.set()
        print(f"aimod: {message} ...", file=sys.stderr, flush=True)

    timer = threading.Timer(after, announce)
    timer.daemon = True
    begin = time.monotonic()
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if started.is_set():
            print(f"aimod: {message}: done in {time.monotonic() - begin:.1f} s", file=sys.stderr, flush=True)


class UsageError(Exception):
    """Raised when a command's input is wrong; the message says what to do (exit code 2)."""


def read_text_arg(value: str) -> str:
    """A positional text argument, or stdin when it is ``-`` (one argument is at most 128 KiB on Linux);
    oversized input, invalid UTF-8 and NUL bytes are usage errors."""
    from airflow_aimod.cli.args import read_text

    try:
        return read_text(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


_STDOUT: list[Any] = []  # the real stdout while a command runs with stdout redirected to stderr


@contextmanager
def json_only_stdout() -> Iterator[None]:
    """While a command runs, anything printed or logged to stdout goes to stderr; ``emit`` writes the result
    to the real stdout, so a script reading it gets exactly one document."""
    _STDOUT.append(sys.stdout)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        _STDOUT.pop()


def _stdout() -> Any:
    return _STDOUT[-1] if _STDOUT else sys.stdout


def write_raw(text: str) -> None:
    """Write ``text`` as it is to the real stdout (e.g. JSON lines meant for a file)."""
    _stdout().write(text)


def csv_list(value: str) -> list[str]:
    """``a,b, c`` -> ``['a', 'b', 'c']`` (the format of every list flag)."""
    return [item.strip() for item in value.split(",") if item.strip()]

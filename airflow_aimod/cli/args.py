"""Argument types of the ``aimod`` command line: bad values become one-line usage errors (exit 2)."""

from __future__ import annotations

import argparse
import math
import sys

__all__ = ["positive_int", "read_text", "threshold"]

MAX_STDIN_BYTES = 8 * 1024 * 1024  # far above the SQL guard's own size bound, which then refuses clearly


def threshold(value: str) -> float:
    """A confidence threshold in (0, 1]."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0 < number <= 1:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], e.g. 0.85; got {value!r}")
    return number


def positive_int(value: str) -> int:
    """A whole number ≥ 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1; got {value!r}")
    return number


def read_text(value: str) -> str:
    """Text given inline, or ``-`` to read it from standard input (one argument holds at most 128 KiB).

    Raises ``ValueError`` (a usage error) for more than ``MAX_STDIN_BYTES``, invalid UTF-8 or a NUL byte.
    """
    if value == "-":
        data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
        if len(data) > MAX_STDIN_BYTES:
            raise ValueError(f"standard input holds more than {MAX_STDIN_BYTES} bytes")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"standard input is not valid UTF-8 (byte {exc.start}): send UTF-8 text") from None
    if "\x00" in value:
        raise ValueError("the text contains a NUL byte: send plain text")
    return value

"""The one owner of redaction: known secrets and secret-shaped text are scrubbed from what leaves the process.

Airflow's secrets masker hides registered secrets in the task log. Text AiMod builds itself — error
messages, events, outcome reasons, XCom values, rows of the AiMod store, CLI output — passes through
``scrub`` (text) or ``scrub_data`` (JSON-like values) first. Two layers:

* secrets registered by the hooks when they resolve a connection (``register_secret``): an LLM API
  key, warehouse and store passwords, HTTP connection passwords and tokens;
* patterns for what is a secret whether or not anyone registered it: the password in a URL or a
  libpq ``password=`` pair, ``Authorization``/``Bearer`` values, ``api_key``/``token``/``secret``
  pairs, OpenAI-style ``sk-`` keys.

Secrets of fewer than ``MIN_SECRET_CHARS`` characters are not replaced by value (like Airflow's
``min_length_masked_secret``): replacing every ``abc`` in a message would destroy it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "MIN_SECRET_CHARS", "redact_url", "register_secret", "registered_count", "scrub", "scrub_data"]

MASK = "***"
MIN_SECRET_CHARS = 6
_SECRET_KEYS = r"(?:api[_-]?key|apikey|password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|" \
               r"refresh[_-]?token|private[_-]?key|access[_-]?key)"
_PATTERNS = (
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)", re.I), rf"\g<1>{MASK}\g<3>"),
    # Authorization: Bearer xyz / 'authorization': 'Basic xyz'
    (re.compile(r"(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)?\s*)([^\s'\",}]+)", re.I),
     rf"\g<1>{MASK}"),
    (re.compile(r"(\bbearer\s+)([a-z0-9._~+/=-]{8,})", re.I), rf"\g<1>{MASK}"),
    # api_key=..., "password": "...", token: ...
    (re.compile(rf"(\b{_SECRET_KEYS}['\"]?\s*[:=]\s*['\"]?)([^\s'\",;&}}]+)", re.I), rf"\g<1>{MASK}"),
    # OpenAI-style keys
    (re.compile(r"\bsk-[a-z0-9_-]{12,}", re.I), f"sk-{MASK}"),
)

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, so a secret containing another is replaced whole


def register_secret(value: Any) -> None:
    """Remember ``value`` (a str, or the str values of a mapping/sequence) as a secret to scrub."""
    global _secrets
    found = {s for s in _strings(value) if len(s) >= MIN_SECRET_CHARS}
    if not found:
        return
    with _lock:
        _secrets = tuple(sorted(set(_secrets) | found, key=len, reverse=True))


def registered_count() -> int:
    """How many secrets are registered (for tests and diagnostics; never the values)."""
    return len(_secrets)


def scrub(text: Any) -> Any:
    """``text`` with registered secrets and secret-shaped values replaced by ``***``; non-strings unchanged."""
    if not isinstance(text, str) or not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_data(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings) with every string scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {key: scrub_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_data(item) for item in value) if isinstance(value, list) else \
            tuple(scrub_data(item) for item in value)
    return value


def redact_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***`` (for messages naming a database)."""
    return _PATTERNS[0][0].sub(rf"\g<1>{MASK}\g<3>", url)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)

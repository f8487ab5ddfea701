"""Sources as text, and ``ExtractiveSummarizer``: the most informative source sentences within a word budget.

An upstream XCom (an agent outcome, a profile, an evaluation) is flattened to one line per
value (``result row_count: 5.``) so summaries and the faithfulness check read the same text.
The extractive summary copies whole source sentences, in source order, so every claim in it
is the source's own: it passes the faithfulness check by construction.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_aimod.core.summaries.claims import read_claims, split_sentences

AUDIENCES = ("engineer", "stakeholder")
MAX_LINES = 400
SIGNAL = re.compile(r"\b(fail\w*|error\w*|anomal\w*|drift\w*|breach\w*|below|above|threshold|exceed\w*|"
                    r"spike\w*|drop\w*|late|missing|refused|escalated|rejected|status|verdict|success\w*)\b", re.I)
ENGINEERING = re.compile(r"Traceback|File \"|\bline \d+|Error:|Exception|[a-z]+_[a-z_]+", re.I)


def source_text(value: Any) -> str:
    """``value`` as the text a summary is written from: strings as they are (JSON strings flattened)."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in "{[":
            for parse in (json.loads, ast.literal_eval):  # JSON, or a rendered Python dict/list
                try:
                    return source_text(parse(stripped))
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                    continue
            return value
        return value
    lines: list[str] = []
    _flatten(value, [], lines)
    return "\n".join(lines[:MAX_LINES])


def _flatten(value: Any, path: list[str], lines: list[str]) -> None:
    if len(lines) >= MAX_LINES:
        return
    if isinstance(value, Mapping) and value and path and all(not isinstance(v, (Mapping, list, tuple))
                                                             for v in value.values()):
        fields = ", ".join(f"{k} {_scalar(v)}" for k, v in value.items() if v is not None and v != "")
        lines.append(f"{' '.join(path)}: {fields}.")  # one record, one line: its fields stay together
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, [*path, str(key)], lines)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if value and all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            lines.append(f"{' '.join(path) or 'items'}: {', '.join(_scalar(v) for v in value)}.")
        for index, item in enumerate(value):
            if isinstance(item, (Mapping, list, tuple)):
                _flatten(item, [*path, str(index + 1)], lines)
    elif value is not None and value != "":
        lines.append(f"{' '.join(path) or 'value'}: {_scalar(value)}.")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return " ".join(str(value).split())[:300]


def word_count(text: str) -> int:
    return len(text.split())


class ExtractiveSummarizer:
    """Picks whole source sentences by what they carry (numbers, dates, names, changes, failures)."""

    def __init__(self, *, max_words: int = 80, audience: str = "engineer") -> None:
        if not 5 <= max_words <= 2000:
            raise ValueError(f"max_words must be between 5 and 2000, got {max_words}")
        if audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {list(AUDIENCES)}, got {audience!r}")
        self.max_words, self.audience = max_words, audience

    def summarize(self, source: str, *, exclude: Sequence[str] = ()) -> str:
        """The summary of ``source``; sentences containing any ``exclude`` text are never picked."""
        sentences = []
        for sentence in split_sentences(source):
            if sentence not in sentences and not any(x and x in sentence for x in exclude):
                sentences.append(sentence)
        ranked = sorted(range(len(sentences)), key=lambda i: (-self._score(sentences[i], i), i))
        picked: list[int] = []
        used = 0
        for index in ranked:
            size = word_count(sentences[index])
            if used + size <= self.max_words and self._score(sentences[index], index) > 0:
                picked.append(index)
                used += size
        if not picked and ranked:
            return _truncate(sentences[ranked[0]], self.max_words)
        return " ".join(_ended(sentences[i]) for i in sorted(picked))

    def _score(self, sentence: str, index: int) -> float:
        claims = read_claims(sentence)
        kinds = [c.kind for c in claims]
        score = 2.0 * kinds.count("number") + 1.5 * kinds.count("date") + 1.5 * kinds.count("direction")
        score += 2.0 * len(SIGNAL.findall(sentence)) + 1.0 / (1 + index)
        technical = len(ENGINEERING.findall(sentence))
        if self.audience == "stakeholder":
            score += 0.5 * kinds.count("name") - 1.5 * technical
        else:
            score += 1.0 * kinds.count("name") + 0.5 * technical
        return score / max(1.0, len(sentence.split()) / 25)


def _ended(sentence: str) -> str:
    return sentence if sentence[-1:] in ".!?;:" else sentence + "."


def _truncate(sentence: str, max_words: int) -> str:
    cut = sentence.split()[:max_words]
    while cut and re.fullmatch(r"[\d.,%$]+|\w{1,3}", cut[-1]) and len(cut) > 1:
        cut.pop()  # never end on a number whose unit or count noun was cut off
    return " ".join(cut).rstrip(",;:") + " …"

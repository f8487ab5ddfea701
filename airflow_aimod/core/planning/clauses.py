"""Split a multi-step request into clauses, and say which clause must wait for which.

Pure and deterministic. Sequencing words ("then", "after that", "afterwards", "next",
"finally", "once that is done", "followed by", ";", numbered or bulleted lists) make a
clause wait for the one before it; "and" / "also" / "as well as" in front of an action verb
start an independent clause. A plain "and" between nouns ("nulls and outliers") never splits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Clause", "split_clauses"]

VERBS = (
    "alert analy[sz]e break build calculate check clear compare compute count create deploy describe detect "
    "diagnose email evaluate explain find flag generate get give inspect investigate list load log look "
    "monitor notify page plot produce profile promote rank rebuild register report restart retrain rerun run "
    "scan send show sum summari[sz]e tell track train validate verify write draft prepare publish review "
    "measure estimate identify fetch pull query return chart"
).split()
_VERB = r"(?:" + "|".join(VERBS) + r")\w*"
_SEQ = (r"and\s+then|and\s+after\s+(?:that|this)|after\s+(?:that|this|which)|then|afterwards|afterward|next|"
        r"finally|lastly|subsequently|once\s+(?:that|this)\s+is\s+done|once\s+done|when\s+(?:that|this)\s+is\s+done|"
        r"followed\s+by")
_SEQ_SPLIT = re.compile(rf"(?:[,;.]\s*|\s+)(?:{_SEQ})\b[,:]?\s*", re.I)
_PAR_SPLIT = re.compile(rf"(?:,\s*|\s+)(?:and\s+also|and|also|as\s+well\s+as|plus)\s+(?=(?:please\s+)?{_VERB}\b)",
                        re.I)
_LIST_ITEM = re.compile(r"(?:^|\s|\n)(?:\(?\d{1,2}[.)]|[-*•])\s+")
_SENTENCE = re.compile(r"\s*(?:;|\.\s+(?=[A-Z])|\n+)\s*")
_FILLER = re.compile(rf"^(?:(?:first(?:ly)?|to\s+start|please|and|also|so|{_SEQ})\b[,:]?\s*)+", re.I)
_TRAILER = re.compile(r"(?:[\s,]+(?:and|also|plus|then))+$", re.I)


@dataclass(frozen=True)
class Clause:
    """One piece of work: its words, and whether it waits for the clause before it (``after_previous``)."""

    text: str
    after_previous: bool


def split_clauses(request: str, *, limit: int = 64) -> list[Clause]:
    """The clauses of ``request`` in order (at most ``limit``; the caller bounds the plan itself)."""
    text = " ".join(str(request or "").replace("\r", "\n").split(" "))
    clauses: list[Clause] = []
    for block in _blocks(text):
        for piece in _SEQ_SPLIT.split(block):
            for k, part in enumerate(_PAR_SPLIT.split(piece or "")):
                cleaned = _clean(part)
                if not cleaned:
                    continue
                clauses.append(Clause(cleaned, after_previous=bool(clauses) and k == 0))
                if len(clauses) >= limit:
                    return clauses
    return clauses


def _blocks(text: str) -> list[str]:
    """Sentences, semicolon parts and list items: each waits for the previous one."""
    items = [p for p in _LIST_ITEM.split(text) if p.strip()]
    pieces = items if len(items) > 1 else [text]
    return [s for p in pieces for s in _SENTENCE.split(p) if s.strip()]


def _clean(part: str) -> str:
    text = _FILLER.sub("", part.strip(" ,.;:\n\t"))
    return _TRAILER.sub("", text).strip(" ,.;:")

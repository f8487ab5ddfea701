"""``ExampleIndex``: BM25 over example questions, scoped to an agent and a connection.

No library in the environment provides BM25 (scikit-learn and rank-bm25 are not installed),
and the formula is a few lines: idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen)).
Postings are kept per term so a query touches only the examples sharing a word with it.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"[^\W_]+")


def terms(text: str) -> list[str]:
    """Lower-case words with a crude plural strip ('trips' → 'trip')."""
    words = [w.lower() for w in _WORD.findall(text)]
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


class ExampleIndex:
    """Rank ``texts`` by BM25 similarity to a query; ``k1``/``b`` are the usual BM25 knobs."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.lengths: list[int] = []
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, text in enumerate(texts):
            counts = Counter(terms(text))
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((i, tf))
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0

    def __len__(self) -> int:
        return len(self.lengths)

    def idf(self, term: str) -> float:
        n, df = len(self.lengths), len(self.postings.get(term, ()))
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` best (position, score) pairs, best first; ties by position. Empty when nothing is shared."""
        scores: dict[int, float] = defaultdict(float)
        for term in set(terms(query)):
            idf = self.idf(term)
            for i, tf in self.postings.get(term, ()):
                norm = self.k1 * (1.0 - self.b + self.b * self.lengths[i] / (self.avg or 1.0))
                scores[i] += idf * tf * (self.k1 + 1.0) / (tf + norm)
        return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:k]


def closest(examples: Sequence[Any], question: str, k: int = 3) -> list[Any]:
    """The ``k`` examples (anything with a ``question``) most similar to ``question``, best first."""
    index = ExampleIndex([e.question for e in examples])
    return [examples[i] for i, _ in index.search(question, k)]

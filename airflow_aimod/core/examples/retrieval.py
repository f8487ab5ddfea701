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

import numpy as np

_WORD = re.compile(r"[^\W_]+")


def terms(text: str) -> list[str]:
    """Lower-case words with a crude plural strip ('trips' → 'trip')."""
    words = [w.lower() for w in _WORD.findall(text)]
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


class ExampleIndex:
    """Rank ``texts`` by BM25 similarity to a query; ``k1``/``b`` are the usual BM25 knobs.

    Each (term, example) weight depends on nothing but the two, so it is computed once at build
    time; a search only adds up the weights of the query's terms. Terms in more than half of
    the examples (idf near zero: 'how', 'the') are left out of searches.
    """

    def __init__(self, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        counts = [Counter(terms(text)) for text in texts]
        lengths = [sum(c.values()) for c in counts]
        avg = (sum(lengths) / len(lengths)) if lengths else 1.0
        frequency = Counter(term for c in counts for term in c)
        n = len(counts)
        self.size = n
        ids: dict[str, list[int]] = defaultdict(list)
        weights: dict[str, list[float]] = defaultdict(list)
        for i, c in enumerate(counts):
            norm = k1 * (1.0 - b + b * lengths[i] / (avg or 1.0))
            for term, tf in c.items():
                if frequency[term] * 2 <= n or n < 4:
                    idf = math.log(1.0 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
                    ids[term].append(i)
                    weights[term].append(idf * tf * (k1 + 1.0) / (tf + norm))
        self.postings = {t: (np.asarray(ids[t], dtype=np.int32), np.asarray(weights[t])) for t in ids}

    def __len__(self) -> int:
        return self.size

    def search(self, query: str, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` best (position, score) pairs, best first; ties by position. Empty when nothing is shared."""
        hits = [self.postings[t] for t in set(terms(query)) if t in self.postings]
        if not hits or k < 1:
            return []
        scores = np.bincount(np.concatenate([h[0] for h in hits]), weights=np.concatenate([h[1] for h in hits]),
                             minlength=self.size)
        top = np.flatnonzero(scores > 0)
        if len(top) > k:
            top = top[np.argpartition(-scores[top], k - 1)[:k * 4]]
        ranked = sorted(((int(i), float(scores[i])) for i in top), key=lambda pair: (-pair[1], pair[0]))
        return ranked[:k]

def closest(examples: Sequence[Any], question: str, k: int = 3) -> list[Any]:
    """The ``k`` examples (anything with a ``question``) most similar to ``question``, best first."""
    index = ExampleIndex([e.question for e in examples])
    return [examples[i] for i, _ in index.search(question, k)]

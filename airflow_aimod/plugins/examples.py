"""The verified examples on the AiMod page: what the agents learned, who verified it, when, on which connection.

Read newest first per learning agent (one indexed read each: ``aimod_examples (agent, verified_at)``).
Only users who may read some DAG see them. Questions and answers pass the redaction owner (secrets)
and the PII-value check: a word that looks like personal data (an e-mail address, a phone or card
number) is shown as ``[pii]`` — learning never keeps such questions, but examples added or imported by
hand are shown the same way.
"""

from __future__ import annotations

from html import escape
from typing import Any

LEARNING_AGENTS = ("sql_agent", "task_router")
PII_MASK = "[pii]"


def public_examples(store: Any, *, limit: int = 50, agent: str | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` examples (of ``agent``, or of every learning agent), newest first, redacted."""
    from airflow_aimod.core.examples import ExampleStore

    examples = ExampleStore(store)
    found = [e for name in ((agent,) if agent else LEARNING_AGENTS) for e in examples.recent(name, limit=limit)]
    found.sort(key=lambda e: (-e.verified_at, e.example_id))
    return [{"example_id": e.example_id, "agent": e.agent, "question": _redact(e.question),
             "answer": _redact(e.answer), "source": e.source, "verified_by": _redact(e.verified_by),
             "verified_at": e.verified_at, "conn_id": e.conn_id} for e in found[:limit]]


def _redact(text: str) -> str:
    from airflow_aimod.core.profiling.pii_values import looks_like_pii_value
    from airflow_aimod.core.redaction import scrub

    words = [PII_MASK if looks_like_pii_value(w.strip(".,;:!?'\"()[]")) else w for w in str(text).split(" ")]
    return scrub(" ".join(words))


def examples_section(rows: list[dict[str, Any]], *, now: float, ago: Any) -> str:
    """The page's "Verified examples" table (``ago``: seconds → '5 min ago')."""
    title = '<h2 id="examples-title">Verified examples</h2>'
    if not rows:
        return (f'{title}<p class="muted" id="examples">No verified examples yet: approvals on Required Actions '
                "and 'aimod examples add' create them.</p>")
    head = "".join(f"<th>{h}</th>" for h in ("Agent", "Question or request", "Answer", "Verified by", "When",
                                             "Connection", "How"))
    body = "".join(
        f'<tr><td>{escape(r["agent"])}</td><td style="text-align:left">{escape(_short(r["question"]))}</td>'
        f'<td style="text-align:left"><code>{escape(_short(r["answer"], 90))}</code></td>'
        f'<td>{escape(r["verified_by"])}</td><td>{ago(now - r["verified_at"])}</td>'
        f'<td>{escape(r["conn_id"] or "—")}</td><td>{escape(r["source"])}</td></tr>' for r in rows)
    return (f'{title}<table id="examples"><tr>{head}</tr>{body}</table><p class="muted">Revoke one with '
            "<code>aimod examples remove ID</code>.</p>")


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"

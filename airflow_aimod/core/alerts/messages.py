"""What a channel receives: one message per group of alerts, its facts rendered from the alerts themselves.

The model may write the ``headline``; severities, counts, titles and fingerprints always come
from the alerts and the store, so a model cannot hide an alert or change a count.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KIND_WORDS = {"send": "FIRING", "resolve": "RESOLVED", "escalation": "ESCALATED", "digest": "DIGEST"}
MAX_LINES = 50


@dataclass(frozen=True)
class Message:
    """One notification: a subject line, plain text and HTML (for mail)."""

    subject: str
    text: str
    html: str

    def to_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "text": self.text, "html": self.html}


def render(kind: str, items: Sequence[dict[str, Any]], *, headline: str = "") -> Message:
    """A message for ``items`` (``{"alert": Alert.to_dict(), "repeats": n}``) of one ``kind``."""
    worst = max((i["alert"]["severity"] for i in items), key=("info", "warning", "critical").index, default="info")
    group = items[0]["alert"]["group"] if items else ""
    word = KIND_WORDS.get(kind, kind.upper())
    subject = f"[{word}] [{worst.upper()}] {items[0]['alert']['title'] if len(items) == 1 else f'{len(items)} alerts'}"
    if len(items) > 1 and group:
        subject += f" — {group}"
    lines = [_line(i) for i in items[:MAX_LINES]]
    if len(items) > MAX_LINES:
        lines.append(f"… and {len(items) - MAX_LINES} more alerts")
    text = "\n".join(([headline.strip()] if headline.strip() else []) + lines)
    body = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    head = f"<p>{html.escape(headline.strip())}</p>" if headline.strip() else ""
    return Message(subject=subject[:200], text=text, html=f"{head}<ul>{body}</ul>")


def _line(item: dict[str, Any]) -> str:
    alert = item["alert"]
    repeats = int(item.get("repeats") or 0)
    more = f" (+{repeats} repeat{'s' if repeats != 1 else ''} held back since the last message)" if repeats else ""
    body = f": {' '.join(str(alert.get('body') or '').split())[:300]}" if alert.get("body") else ""
    return f"{alert['severity']}: {alert['title']}{body}{more} [{alert['fingerprint']}]"

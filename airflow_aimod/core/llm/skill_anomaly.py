"""Offline skill ``explain_anomalies``: a summary written from the detector's numbers, nothing else."""

from __future__ import annotations

from typing import Any

SHOWN = 3


def answer(context: dict[str, Any]) -> dict[str, Any]:
    detection = context.get("detection") or {}
    subject = str(context.get("subject") or "the metric")
    flags = list(detection.get("flags") or [])
    verdict = detection.get("verdict")
    if verdict == "unknown" or verdict not in ("normal", "anomalous"):
        return {"summary": f"Cannot judge {subject}: {detection.get('reason') or 'no detector output'}.",
                "confidence": 0.0}
    if not flags:
        return {"summary": f"{subject}: {detection.get('reason')}; nothing to act on.", "confidence": 0.8}
    total = _total(detection, flags)  # the detector's count, not how many flags this prompt carries
    described = "; ".join(_describe(f) for f in flags[:SHOWN])
    more = f" and {total - min(SHOWN, len(flags))} more" if total > min(SHOWN, len(flags)) else ""
    return {"summary": f"{subject}: {total} anomalous point(s) by {detection.get('method')} — {described}{more}.",
            "confidence": 0.8}


def _total(detection: dict[str, Any], flags: list[Any]) -> int:
    count = detection.get("flag_count")
    return int(count) if isinstance(count, int) and not isinstance(count, bool) and count >= len(flags) else len(flags)


def _describe(flag: dict[str, Any]) -> str:
    where = flag.get("ts") or f"point #{flag.get('index')}"
    season = f" ({flag['season']})" if flag.get("season") else ""
    band = f"{_num(flag.get('expected_low'))}–{_num(flag.get('expected_high'))}"
    return f"{where}{season} {flag.get('direction')} to {_num(flag.get('value'))}, expected {band}"


def _num(value: Any) -> str:
    return f"{value:,.4g}" if isinstance(value, (int, float)) else str(value)

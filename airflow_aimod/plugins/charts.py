"""Inline SVG charts for the AiMod page: bars over time, a rate line, a trace timeline. No JS needed."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

KIND_COLORS = {"llm_call": "#6f42c1", "tool_call": "#0d6efd", "guard": "#fd7e14", "transition": "#6c757d",
               "approval": "#198754", "handoff": "#20c997", "error": "#dc3545", "timing": "#adb5bd"}


def bar_chart(values: Sequence[float | None], *, title: str, color: str = "#6f42c1", width: int = 480,
              height: int = 140, fmt: str = "{:g}", times: Sequence[float] = ()) -> str:
    """Bars for ``values`` (None: no bar), labelled with the maximum; ``times`` (bucket edges, epoch s)
    draw a time axis and go in each bar's tooltip."""
    top = max([v for v in values if v is not None] or [0]) or 1
    step = width / max(len(values), 1)
    bars = "".join(
        f'<rect x="{i * step + 1:.1f}" y="{height - 20 - (v / top) * (height - 40):.1f}" width="{max(step - 2, 1):.1f}" '
        f'height="{(v / top) * (height - 40):.1f}" fill="{color}"><title>{escape(fmt.format(v))}'
        f'{escape(_when(times, i))}</title></rect>'
        for i, v in enumerate(values) if v)
    return _frame(title, width, height, bars + _axis(width, height, fmt.format(top) if values else "", times))


def rate_chart(values: Sequence[float | None], *, title: str, floor: float | None = None, width: int = 480,
               height: int = 140, times: Sequence[float] = (), counts: Sequence[tuple[int, int]] = ()) -> str:
    """A 0–100% line through the buckets that have a value — broken where a bucket has none, never bridged;
    ``floor`` draws the alert threshold; each point's tooltip has its time and ``counts`` (k of n)."""
    step = width / max(len(values), 1)
    segments, current = [], []
    for i, v in enumerate(values):
        if v is None:
            segments, current = segments + ([current] if current else []), []
            continue
        current.append((i, i * step + step / 2, height - 20 - v * (height - 40), v))
    segments += [current] if current else []
    lines = "".join(f'<polyline class="rate" points="{" ".join(f"{x:.1f},{y:.1f}" for _, x, y, _ in seg)}" '
                    'fill="none" stroke="#198754" stroke-width="2"/>' for seg in segments if len(seg) > 1)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#198754"><title>{v:.0%}{_of(counts, i)}'
                   f'{escape(_when(times, i))}</title></circle>' for seg in segments for i, x, y, v in seg)
    limit = ""
    if floor is not None:
        y = height - 20 - floor * (height - 40)
        limit = f'<line x1="0" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dc3545" stroke-dasharray="4 3"/>'
    return _frame(title, width, height, limit + lines + dots + _axis(width, height, "100%", times))


def _of(counts: Sequence[tuple[int, int]], i: int) -> str:
    return f" ({counts[i][0]} of {counts[i][1]})" if i < len(counts) else ""


def _when(times: Sequence[float], i: int) -> str:
    if i + 1 >= len(times):
        return ""
    return f" · {_clock(times[i])}–{_clock(times[i + 1])} UTC"


def _clock(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%m-%d %H:%M")


def timeline(trace: dict[str, Any], *, width: int = 900, row: int = 18) -> str:
    """One request: a span per agent run, then one row per event at its time (LLM/tool latency as a bar)."""
    events, outcomes = trace.get("events") or [], trace.get("outcomes") or []
    times = [e["ts"] for e in events] + [o["started_at"] for o in outcomes] + [o["ended_at"] for o in outcomes]
    if not times:
        return '<p class="muted">This trace has no events.</p>'
    t0, span, label_w = min(times), (max(times) - min(times)) or 1.0, 230
    scale = (width - label_w - 10) / span
    rows = [_span_row(i, o, t0, scale, label_w, row) for i, o in enumerate(outcomes)]
    rows += [_event_row(len(outcomes) + i, e, t0, scale, label_w, row) for i, e in enumerate(events)]
    height = row * (len(rows) + 1) + 6
    ticks = f'<text x="{label_w}" y="{height - 2}" class="tick">0 s</text>' \
            f'<text x="{width - 10}" y="{height - 2}" class="tick" text-anchor="end">{span:.2f} s</text>'
    return (f'<svg class="timeline" role="img" aria-label="trace timeline" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{"".join(rows)}{ticks}</svg>')


def _span_row(i: int, o: dict[str, Any], t0: float, scale: float, label_w: int, row: int) -> str:
    x, w, y = label_w + (o["started_at"] - t0) * scale, max((o["ended_at"] - o["started_at"]) * scale, 2), i * row + 4
    label = escape(f'{o["agent"]} run → {o["status"]}')
    return (f'<text x="4" y="{y + 12}" class="lbl"><title>{label}</title>{label}</text>'
            f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" rx="3" fill="#adb5bd">'
            f'<title>{label}: {o["ended_at"] - o["started_at"]:.2f} s</title></rect>')


def _event_row(i: int, e: dict[str, Any], t0: float, scale: float, label_w: int, row: int) -> str:
    data, color = e.get("data") or {}, KIND_COLORS.get(e["kind"], "#333")
    x, y = label_w + (e["ts"] - t0) * scale, i * row + 4
    width = max(float(data.get("latency_ms") or 0) / 1000 * scale, 0)
    detail = data.get("error_type") or data.get("status") or data.get("outcome") or data.get("model") or ""
    label = escape(f'{e["kind"]} · {e["name"]}' + (f" · {detail}" if detail else ""))
    tip = escape(", ".join(f"{k}={v}" for k, v in sorted(data.items()))[:300])
    bar = f'<rect x="{x - width:.1f}" y="{y + 4}" width="{width:.1f}" height="{row - 10}" fill="{color}" opacity="0.35"/>' \
        if width >= 1 else ""
    return (f'<g class="ev ev-{escape(e["kind"])}"><text x="4" y="{y + 12}" class="lbl">{label}</text>{bar}'
            f'<circle cx="{x:.1f}" cy="{y + row / 2 - 1}" r="4.5" fill="{color}"><title>{label}: {tip}</title></circle></g>')


def _axis(width: int, height: int, top_label: str, times: Sequence[float] = ()) -> str:
    ticks = ""
    if len(times) >= 2:
        span = len(times) - 1
        for k in (0, span // 2, span):
            x = width * k / span
            anchor = "start" if k == 0 else "end" if k == span else "middle"
            ticks += (f'<text x="{x:.1f}" y="{height - 4}" class="tick axis-time" text-anchor="{anchor}">'
                      f'{escape(_clock(times[k]))}</text>')
    return (f'<line x1="0" x2="{width}" y1="{height - 20}" y2="{height - 20}" stroke="#ced4da"/>'
            f'<text x="2" y="14" class="tick">{escape(top_label)}</text>{ticks}')


def _frame(title: str, width: int, height: int, body: str) -> str:
    return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption><svg role="img" aria-label="{escape(title)}" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">{body}</svg></figure>')

"""The AiMod page, rendered on the server: business figures, agent health, charts, approvals, a trace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any
from urllib.parse import urlencode

from airflow_aimod.plugins.charts import bar_chart, rate_chart, timeline

WINDOWS = ("1h", "24h", "7d", "30d")
ALERT_RATE = 0.9

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#212529;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}.muted{color:#6c757d}
nav a{margin-right:8px;padding:2px 8px;border-radius:10px;text-decoration:none;color:#6f42c1;border:1px solid #d0bfff}
nav a.on{background:#6f42c1;color:#fff}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #dee2e6;border-radius:8px;padding:8px 14px;min-width:130px}.card b{display:block;font-size:22px}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e9ecef;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}.bad{color:#dc3545;font-weight:600}.ok{color:#198754}
.charts{display:flex;flex-wrap:wrap;gap:14px}.chart{margin:0}figcaption{font-size:13px;color:#495057}
svg text.tick,svg text.lbl{font-size:11px;fill:#495057}.timeline{border:1px solid #e9ecef;border-radius:6px}
"""

_JS = """
document.getElementById('trace-pick')?.addEventListener('change', e => {
  const q = new URLSearchParams(location.search); q.set('trace', e.target.value); location.search = q.toString();
});
// Inside the Airflow UI the page sits in a sandboxed iframe that may not navigate the top window:
// links to Airflow pages move the UI's own router instead (same origin), as its menu would.
document.querySelectorAll('a[target="_top"]').forEach(a => a.addEventListener('click', e => {
  if (window.top === window) return;
  try {
    const url = new URL(a.href, location.href);
    if (url.origin !== window.top.location.origin) return;
    e.preventDefault();
    window.top.history.pushState({}, '', url.pathname + url.search);
    window.top.dispatchEvent(new PopStateEvent('popstate'));
  } catch (err) { /* cross-origin UI: leave the link to the browser */ }
}));
"""


@dataclass(frozen=True)
class PageData:
    """Everything the page shows, already queried and scoped to the user's DAGs."""

    window: str
    now: float
    user: str
    base: str
    agents: list[dict[str, Any]]
    series: list[dict[str, Any]]
    business: dict[str, Any]
    approvals: list[dict[str, Any]]
    recent: list[dict[str, Any]]
    trace: dict[str, Any] | None


def render_page(d: PageData) -> str:
    """The whole HTML document."""
    body = "".join((_header(d), _business(d.business), _health(d.agents), _charts(d.series), _approvals(d),
                    _trace(d)))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AiMod</title>'
            f'<style>{_CSS}</style></head><body>{body}<script>{_JS}</script></body></html>')


def _header(d: PageData) -> str:
    links = "".join(f'<a class="{"on" if w == d.window else ""}" href="?{urlencode({"window": w})}">{w}</a>'
                    for w in WINDOWS)
    stamp = datetime.fromtimestamp(d.now, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<h1>AiMod — agents in production</h1><p class="muted">Signed in as {escape(d.user)} · '
            f'window {escape(d.window)} up to {stamp}</p><nav aria-label="window">{links}</nav>')


def _business(b: dict[str, Any]) -> str:
    cards = [("Requests resolved", b["requests_resolved"]), ("Tasks completed", b["tasks_completed"]),
             ("Needed a human", _pct(b["human_share"])), ("Time to resolution p50", _secs(b["resolution_p50_s"])),
             ("Time to resolution p95", _secs(b["resolution_p95_s"])), ("Estimated cost", f'${b["cost"]:,.2f}')]
    html = "".join(f'<div class="card"><span class="muted">{escape(k)}</span><b>{escape(str(v))}</b></div>'
                   for k, v in cards)
    note = (f'<p class="muted">No price for: {escape(", ".join(b["unpriced_models"]))} (set [aimod] price_table).</p>'
            if b.get("unpriced_models") else "")
    return f'<h2>Business</h2><div class="cards" id="business">{html}</div>{note}'


def _health(agents: list[dict[str, Any]]) -> str:
    if not agents:
        return '<h2>Agent health</h2><p class="muted" id="health">No agent runs in this window.</p>'
    head = ("Agent", "Runs", "Success", "p50", "p95", "Tokens in", "Tokens out", "Errors", "Timeouts", "Waiting")
    rows = "".join(
        f'<tr><td>{escape(a["agent"])}</td><td>{a["runs"]}</td><td class="{_rate_class(a["success_rate"])}">'
        f'{_pct(a["success_rate"])}</td><td>{_secs(a["p50_s"])}</td><td>{_secs(a["p95_s"])}</td>'
        f'<td>{a["input_tokens"]:,}</td><td>{a["output_tokens"]:,}</td><td>{a["errors"]}</td>'
        f'<td>{a["timeouts"]}</td><td>{a["pending"]}</td></tr>' for a in agents)
    cols = "".join(f"<th>{h}</th>" for h in head)
    return f'<h2>Agent health</h2><table id="health"><thead><tr>{cols}</tr></thead><tbody>{rows}</tbody></table>'


def _charts(series: list[dict[str, Any]]) -> str:
    runs = bar_chart([s["runs"] for s in series], title="Finished runs")
    rate = rate_chart([s["success_rate"] for s in series], title="Success rate (dashed: 90% alert)", floor=ALERT_RATE)
    tokens = bar_chart([s["tokens"] for s in series], title="Tokens", color="#0d6efd")
    return f'<h2>Over time</h2><div class="charts" id="charts">{runs}{rate}{tokens}</div>'


def _approvals(d: PageData) -> str:
    if not d.approvals:
        return '<h2>Pending approvals</h2><p class="muted" id="approvals">Nothing is waiting for a person.</p>'
    rows = "".join(
        f'<tr><td>{escape(a["agent"])}</td><td>{escape(a["dag_id"])}</td><td>{escape(a["task_id"])}</td>'
        f'<td style="text-align:left">{escape(a["reason"])}</td><td>{_ago(d.now - a["ended_at"])}</td>'
        f'<td><a target="_top" href="{escape(a["url"])}">Answer in Required Actions</a></td></tr>' for a in d.approvals)
    head = "".join(f"<th>{h}</th>" for h in ("Agent", "DAG", "Task", "Why", "Waiting", ""))
    link = f'<p><a target="_top" href="{escape(d.base)}/required_actions?response_received=false">All required actions</a></p>'
    return f'<h2>Pending approvals</h2><table id="approvals"><tr>{head}</tr>{rows}</table>{link}'


def _trace(d: PageData) -> str:
    if d.trace is None:
        return '<h2>Trace</h2><p class="muted" id="trace">No traces yet.</p>'
    current = d.trace["trace_id"]
    options = "".join(
        f'<option value="{escape(r["trace_id"])}"{" selected" if r["trace_id"] == current else ""}>'
        f'{escape(r["trace_id"][:12])} · {escape(r["agent"])} · {escape(r["status"])}</option>' for r in d.recent)
    if current not in {r["trace_id"] for r in d.recent}:
        options = f'<option selected value="{escape(current)}">{escape(current[:12])}</option>' + options
    more = '<p class="muted">Showing the first events only.</p>' if d.trace.get("truncated") else ""
    return (f'<h2>Trace</h2><label>Request <select id="trace-pick">{options}</select></label>'
            f'<div id="trace" data-trace-id="{escape(current)}"><p class="muted">trace {escape(current)} · '
            f'{len(d.trace["events"])} events</p>{timeline(d.trace)}{more}</div>')


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min" if value < 3600 else f"{value / 3600:.1f} h"


def _ago(seconds: float) -> str:
    return _secs(max(seconds, 0.0))


def _rate_class(rate: float | None) -> str:
    return "" if rate is None else "bad" if rate < ALERT_RATE else "ok"

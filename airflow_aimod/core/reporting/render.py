"""``ReportRenderer``: a report document to files — HTML (charts embedded), Markdown (+ chart PNGs), PDF.

Templates ship as package data (``core/reporting/templates``) and render with Jinja2, HTML
autoescaped. Charts are drawn with matplotlib's ``Figure`` (no pyplot, no global backend),
imported only when a report is rendered. PDF needs WeasyPrint (the ``pdf`` extra).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from typing import Any

FORMATS = ("html", "md", "pdf")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "chart"


def chart_png(chart: dict[str, Any]) -> bytes:
    """A bar chart of ``chart["values"]`` by ``chart["labels"]`` as PNG bytes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 2.6), dpi=100)
    axes = figure.add_subplot()
    labels = [str(label)[:24] for label in chart["labels"]]
    axes.bar(range(len(labels)), [float(v or 0) for v in chart["values"]], color="#7b61c4")
    axes.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
    axes.set_title(chart["title"], fontsize=10)
    if chart.get("unit"):
        axes.set_ylabel(chart["unit"], fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class ReportRenderer:
    """Renders one report document into the requested formats: ``render(document) -> {filename: bytes}``."""

    def __init__(self, *, formats: Sequence[str] = ("html", "md"), basename: str = "report") -> None:
        if bad := set(formats) - set(FORMATS):
            raise ValueError(f"unknown report formats {sorted(bad)}; use any of {list(FORMATS)}")
        if not formats:
            raise ValueError("give at least one report format")
        self.formats, self.basename = tuple(formats), basename

    def render(self, document: dict[str, Any]) -> dict[str, bytes]:
        import jinja2

        env = jinja2.Environment(loader=jinja2.PackageLoader("airflow_aimod.core.reporting", "templates"),
                                 autoescape=lambda name: bool(name and name.endswith(".html.j2")),
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        files: dict[str, bytes] = {}
        sections = []
        for index, section in enumerate(document["sections"]):
            extra: dict[str, Any] = {}
            if section.get("chart") and section["chart"]["values"]:
                png = chart_png(section["chart"])
                extra["chart_png"] = base64.b64encode(png).decode()
                extra["chart_file"] = f"{self.basename}-{index + 1}-{_slug(section['chart']['title'])}.png"
                if "md" in self.formats:
                    files[extra["chart_file"]] = png
            sections.append({**section, "chart_png": extra.get("chart_png"), "chart_file": extra.get("chart_file")})
        data = {**document, "sections": sections}
        html = env.get_template("report.html.j2").render(**data)
        if "html" in self.formats:
            files[f"{self.basename}.html"] = html.encode()
        if "md" in self.formats:
            files[f"{self.basename}.md"] = env.get_template("report.md.j2").render(**data).encode()
        if "pdf" in self.formats:
            files[f"{self.basename}.pdf"] = _pdf(html)
        return files


def _pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML
    except ImportError as exc:
        raise ValueError("PDF reports need WeasyPrint: pip install 'airflow-aimod[pdf]' (and pango), or drop 'pdf' "
                         f"from formats ({exc.__class__.__name__})") from None
    return HTML(string=html).write_pdf()

"""Reports people open, pure: report kinds and their sections, rendering to HTML, Markdown and PDF."""

from airflow_aimod.core.reporting.kinds import KINDS, build_sections, facts_text
from airflow_aimod.core.reporting.render import FORMATS, ReportRenderer

__all__ = ["FORMATS", "KINDS", "ReportRenderer", "build_sections", "facts_text"]

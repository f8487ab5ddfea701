"""Summaries you can trust: claims, the faithfulness checker, the extractive summarizer (pure)."""

from airflow_aimod.core.summaries.extractive import AUDIENCES, ExtractiveSummarizer, source_text, word_count
from airflow_aimod.core.summaries.faithfulness import FaithfulnessChecker, FaithfulnessReport

__all__ = ["AUDIENCES", "ExtractiveSummarizer", "FaithfulnessChecker", "FaithfulnessReport", "source_text",
           "word_count"]

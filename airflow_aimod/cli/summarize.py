"""``aimod summarize``: a faithful summary of a text or JSON file, or a check of a summary against it."""

from __future__ import annotations

import argparse

from airflow_aimod.cli.args import positive_int
from airflow_aimod.cli.output import NO, OK, UsageError, add_output_flag, emit, read_text_arg


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("summarize", help="summarize a text or JSON file faithfully, or check a summary",
                            description="Summarize SOURCE with the summarizer agent (every claim checked against "
                                        "the source; exit 1 when the summary is not faithful), or with --check "
                                        "judge a summary you wrote.")
    parser.add_argument("--source", required=True, metavar="FILE", help="the source file (text or JSON; - for stdin)")
    parser.add_argument("--summary", metavar="FILE", help="with --check: the summary file to check (- for stdin)")
    parser.add_argument("--check", action="store_true", help="check --summary against --source instead of writing one")
    parser.add_argument("--max-words", type=positive_int, default=80, metavar="N",
                        help="longest summary, 5 to 2000 words (default 80)")
    parser.add_argument("--audience", choices=["engineer", "stakeholder"], default="engineer",
                        help="who reads it: engineer (default) or stakeholder")
    parser.add_argument("--llm", default="offline", metavar="offline|CONN_ID",
                        help="'offline' (the built-in engine; default) or an aimod_llm connection id")
    add_output_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from airflow_aimod.core.summaries import FaithfulnessChecker, source_text

    source = source_text(_read(args.source, "source"))
    if args.check:
        if not args.summary:
            raise UsageError("--check needs --summary FILE: the summary to check against --source")
        summary = _read(args.summary, "summary").strip()
        report = FaithfulnessChecker().check(source, summary)
        emit(args, {"summary": summary, "faithful": report.faithful, "unsupported": report.unsupported})
        return OK if report.faithful else NO
    if not 5 <= args.max_words <= 2000:
        raise UsageError(f"--max-words must be between 5 and 2000, got {args.max_words}")
    from airflow_aimod.cli.graph import run_graph
    from airflow_aimod.core.agents.summarizer import SummarizerTools, build_graph
    from airflow_aimod.core.registry import get_agent

    tools = SummarizerTools(source=source, max_words=args.max_words, audience=args.audience)
    state = run_graph(get_agent("summarizer"), args.llm, f"Summarize {args.source} in at most {args.max_words} words",
                      lambda rt: build_graph(rt, tools))
    result = state.get("result") or {}
    emit(args, {"summary": result.get("summary") or result.get("draft") or "", "faithful": bool(result.get("faithful")),
                "unsupported": list(result.get("unsupported") or [])})
    return OK if result.get("faithful") else NO


def _read(path: str, what: str) -> str:
    if path == "-":
        return read_text_arg("-")
    try:
        with open(path, encoding="utf-8") as handle:
            return read_text_arg(handle.read())
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the {what} file {path!r} ({exc.__class__.__name__}): give a readable UTF-8 text "
                         "or JSON file, or - for stdin") from None

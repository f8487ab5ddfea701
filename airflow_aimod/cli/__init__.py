"""``aimod``: try the agents outside a DAG, and read what they did.

  aimod agents                                   the fifteen agents
  aimod route [--llm offline|CONN_ID] [--conn-id ID] TEXT   where the router would send TEXT
  aimod plan [--llm offline|CONN_ID] [--conn-id ID] TEXT    the workflow coordinator's plan for TEXT
  aimod sql check [--dialect D] [--pii-tables a,b] SQL
  aimod sql ask --conn-id ID [--llm offline|CONN_ID] QUESTION
  aimod trace TRACE_ID                           one request's timeline from the AiMod store
  aimod health [--window 24h]                    per-agent health from the AiMod store
  aimod examples add|list|remove|export|import   verified examples the agents reuse
  aimod summarize --source FILE [--check --summary FILE]   a faithful summary, or a check of one
  aimod ml drift|train ...                       drift and training from CSV files
  aimod demo                                     the offline end-to-end demo

Each command is a module with ``register(subparsers)``; ``COMMANDS`` is the one list of them.
``-o json|table|yaml`` as in Airflow's CLI (JSON when stdout is not a terminal). Exit codes are
in ``output.EXIT_CODES`` (the ``--help`` epilog and ``docs/cli.md``). ``sql check`` and
``route --llm offline`` load only the pure core: no Airflow, no LangChain.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from airflow_aimod import __version__
from airflow_aimod.cli import agents, demo, examples, health, ml, plan, route, sql, summarize, trace
from airflow_aimod.cli.output import EXIT_CODES, INTERRUPTED, UNEXPECTED, USAGE, UsageError, json_only_stdout

COMMANDS = (agents, route, plan, sql, summarize, examples, ml, trace, health, demo)


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (what is wrong, and where help is) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    epilog = "exit codes:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES)
    parser = _Parser(prog="aimod", description="Try airflow_aimod agents outside a DAG, and read what they did.",
                     epilog=epilog + "\n\ndocs: docs/cli.md", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"aimod {__version__} (airflow-aimod)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aimod`` console script; returns the exit code."""
    from airflow_aimod.exceptions import ConfigurationError

    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "writes_stdout", False):
            return args.func(args)
        with json_only_stdout():  # library prints and log lines go to stderr; stdout carries the document
            return args.func(args)
    except (UsageError, ConfigurationError) as exc:
        return _fail(str(exc), USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", INTERRUPTED)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): nothing more to say
        return 0
    except Exception as exc:  # one line, never a traceback (unless asked for)
        if os.environ.get("AIMOD_DEBUG"):
            raise
        return _fail(f"unexpected {type(exc).__name__}: {_one_line(exc)}", UNEXPECTED)


def _fail(message: str, code: int) -> int:
    print(f"aimod: {_one_line(message)}", file=sys.stderr)
    return code


def _one_line(value: object) -> str:
    from airflow_aimod.core.redaction import scrub

    return " ".join(scrub(str(value)).split())


if __name__ == "__main__":
    sys.exit(main())

"""``aimod demo``: the offline end-to-end demo (real Airflow on SQLite, the sample warehouse, no key)."""

from __future__ import annotations

import argparse

from airflow_aimod.cli.output import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="run the offline end-to-end demo (a few minutes)",
                            description="Run the offline demo: real Airflow on SQLite, the sample warehouse, an "
                                        "unattended approval. Progress on stderr, the summary on stdout.")
    parser.add_argument("--workdir", default=".aimod-demo", metavar="DIR",
                        help="where the demo keeps its Airflow home, warehouse and logs (default .aimod-demo)")
    parser.add_argument("--request", action="append", metavar="TEXT",
                        help="a request to run; repeat the flag for several (default: a built-in set of seven)")
    parser.set_defaults(func=run, writes_stdout=True)  # the demo's summary is printed, not emitted


def run(args: argparse.Namespace) -> int:
    try:
        from airflow_aimod.demo.run import dags_folder, main as demo_main

        dags_folder()
    except (ImportError, FileNotFoundError) as exc:  # an installed wheel: the demo is not shipped
        raise UsageError("the demo runs from a source checkout of airflow-aimod (it uses the repository's dags/ "
                         "folder): clone the repository and run `make demo`") from exc
    return demo_main(workdir=args.workdir, requests=args.request or None)

"""What an agent task imports, for a worker to import once before it forks task processes.

An agent task spends most of its own overhead importing LangGraph and LangChain Core (LangSmith's
generated types come with them): about 0.8 s on a quiet machine, several seconds on a loaded one,
paid again by every task process, a resumed approval included. A LocalExecutor configured with

    [core]
    mp_start_method = forkserver
    mp_forkserver_preload = airflow,airflow.executors.local_executor,airflow_aimod.preload

imports this module once in its fork server; its workers, and the task processes they fork,
inherit it. Nothing here opens a connection or starts a thread. See docs/operations.md.
"""

from __future__ import annotations

import langgraph.graph  # noqa: F401
import langgraph.types  # noqa: F401
from langgraph.checkpoint.postgres import PostgresSaver  # noqa: F401
from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: F401

import airflow_aimod.core.agents.runtime  # noqa: F401
import airflow_aimod.core.agents.sql_agent  # noqa: F401
import airflow_aimod.core.llm.offline.chat  # noqa: F401
import airflow_aimod.core.runner  # noqa: F401

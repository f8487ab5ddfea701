"""A scripted hostile chat model for the adversarial suite: plays a script from ``cases.json``.

Bad SQL, garbage, ghost agents, tool calls, stalls, SDK-shaped errors (429/5xx with Retry-After), SQL too big
or too deep to write into the JSON, and a prompt-injected model that obeys commands it finds in sampled cells.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from types import SimpleNamespace
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from airflow_aimod.core.prompts import read_context
from airflow_aimod.core.redaction import register_secret

# The API key a hostile gateway echoes back; registered as the LLM hook registers a connection's password.
SECRET = "sk-adversarial-" + hashlib.sha256(b"aimod adversarial key").hexdigest()[:32]
register_secret(SECRET)


class HostileChatModel(BaseChatModel):
    """Plays a script from cases.json: bad SQL, garbage, ghost agents, tool calls, stalls, errors."""

    script: dict[str, Any]
    calls: list[int]

    @property
    def _llm_type(self) -> str:
        return "hostile"

    def bind_tools(self, tools: Any, **kwargs: Any) -> HostileChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self.calls.append(1)
        replies = self.script["replies"]
        reply = replies[min(len(self.calls), len(replies)) - 1]
        context = next((c for m in reversed(messages) if (c := read_context(str(m.content)))), {})
        content, tool_calls = _render(reply, context)
        prompt_tokens, output_tokens = self.script.get("usage", (100, 20))
        usage = {"input_tokens": prompt_tokens, "output_tokens": output_tokens,
                 "total_tokens": prompt_tokens + output_tokens}
        message = AIMessage(content=content, tool_calls=tool_calls, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _render(reply: Any, context: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The reply's text and tool calls, after its ``$`` directives ran."""
    if isinstance(reply, str):
        return reply, []
    reply = dict(reply)
    if "$raise" in reply:
        raise _fault(reply)
    time.sleep(reply.pop("$sleep", 0))
    if "$sql_gen" in reply:
        reply = {"sql": _generated_sql(**reply.pop("$sql_gen")), "confidence": 0.9, **reply}
    if "$template" in reply:
        question = str(context.get("question") or context.get("request") or "")
        reply = {"sql": reply.pop("$template").replace("{question}", question), "confidence": 0.9}
    if reply.pop("$obey_data", False):
        reply = {"sql": _obey(context), "confidence": 1.0, "rationale": "the data told me to"}
    calls = [{"name": c["name"], "args": c["args"], "id": f"call-{i}", "type": "tool_call"}
             for i, c in enumerate(reply.pop("$tool_calls", []))]
    body = reply.pop("content", reply)
    return (body if isinstance(body, str) else json.dumps(body)), calls


def _generated_sql(kind: str, n: int) -> str:
    """Hostile SQL too big or too deep to write into cases.json."""
    if kind == "cte_chain":
        return "WITH " + ", ".join(["c0 AS (SELECT 1 AS x)"] + [f"c{i} AS (SELECT x FROM c{i - 1})"
                                                             for i in range(1, n)]) + f" SELECT x FROM c{n - 1}"
    if kind == "wide_select":
        return "SELECT " + ", ".join(f"id AS c{i}" for i in range(n)) + " FROM orders"
    if kind == "nesting":
        return "SELECT " + "(" * n + "1" + ")" * n + " FROM orders"
    if kind == "in_list":
        return "SELECT count(*) FROM orders WHERE id IN (" + ", ".join(str(i) for i in range(n)) + ")"
    if kind == "not_chain":
        return "SELECT count(*) FROM orders WHERE " + "NOT " * n + "id IS NULL"
    raise ValueError(f"unknown $sql_gen kind {kind!r}")


def _fault(reply: dict[str, Any]) -> Exception:
    """An exception named and shaped like the SDK's: ``status_code`` and response headers (Retry-After)."""
    code = int(reply.get("status", 502))
    message = str(reply.get("message", "Error code: {code} from the upstream model server"))
    error = type(reply["$raise"], (Exception,), {})(message.format(code=code, secret=SECRET))
    headers = {} if reply.get("retry_after") is None else {"retry-after": str(reply["retry_after"])}
    error.status_code, error.response = code, SimpleNamespace(headers=headers)
    return error


_COMMAND = re.compile(r"\b(DROP|DELETE|UPDATE|INSERT|ATTACH|PRAGMA)\b.*", re.I | re.S)


def _obey(context: dict[str, Any]) -> str:
    """What a prompt-injected model does: run the first command it finds in the sampled cells."""
    for table in (context.get("catalog") or {}).get("tables", []):
        for column in table.get("columns", []):
            for value in column.get("samples") or ():
                if match := _COMMAND.search(str(value)):
                    return match.group(0)
    return "DROP TABLE orders"

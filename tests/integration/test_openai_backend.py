"""The openai backend end to end: real ChatOpenAI and AimodLLMHook against a local OpenAI-compatible server.

No network and no Airflow metadata DB: connections come from ``AIRFLOW_CONN_*`` variables.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from airflow_aimod.core.llm.caller import LLMCaller, RetryPolicy
from airflow_aimod.core.llm.factory import LLMConfig, build_chat_model
from airflow_aimod.core.tracing import ListSink, Tracer, new_trace_id
from airflow_aimod.exceptions import (
    AgentTimeout,
    BudgetExceeded,
    ConfigurationError,
    LLMBackendError,
    LLMResponseError,
)
from tests.support.steps import step_fails
from tests.support.openai_server import OpenAIServer, delay, garbage, raw, reply, status

ASK = [("system", "Reply with one JSON object."), ("human", "How many orders were placed in 2024?")]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


FRESH_PROCESS = (
    "import sys, json\n"
    "import airflow_aimod.hooks.llm as llm\n"
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
    "{'langchain', 'langchain_core', 'langchain_openai', 'langgraph', 'openai'})\n"
    "config = llm.AimodLLMHook(llm_conn_id='aimod_env_only').llm_config()\n"
    "print(json.dumps({'heavy': heavy, 'model': config.model, 'base_url': config.base_url}))\n"
)


@pytest.fixture(scope="module", autouse=True)
def fresh_process(tmp_path_factory):
    """Import the hook in a fresh interpreter with an unusable metadata DB; started first, so it overlaps."""
    missing = tmp_path_factory.mktemp("nodb") / "missing"
    env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{missing / 'airflow.db'}",
           "AIRFLOW_CONN_AIMOD_ENV_ONLY": json.dumps({"conn_type": "aimod_llm", "host": "http://127.0.0.1:9/v1",
                                                      "extra": {"model": "m1"}})}
    proc = subprocess.Popen([sys.executable, "-c", FRESH_PROCESS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)
    yield proc, missing
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.fixture
def server():
    with OpenAIServer() as running:
        yield running


def make_caller(model, *, budget: int | None = None, deadline_s: float = 10.0, max_reasks: int = 1,
                max_retries: int = 0, waits: list[float] | None = None) -> LLMCaller:
    """A caller whose backoff waits are recorded in ``waits`` instead of slept."""
    tracer = Tracer(trace_id=new_trace_id(), agent="it", sinks=[ListSink()])
    sleep = (waits.append if waits is not None else lambda seconds: None)
    return LLMCaller(model, tracer=tracer, token_budget=budget, timeout_s=deadline_s, max_output_tokens=64,
                     max_reasks=max_reasks, retry=RetryPolicy(max_retries=max_retries), sleep=sleep,
                     random=lambda: 0.0)


def openai_caller(server: OpenAIServer, *, timeout_s: float = 5.0, **kwargs) -> LLMCaller:
    """ChatOpenAI as the hook builds it (its client never retries), with ``kwargs`` for our caller."""
    config = LLMConfig(backend="openai", base_url=server.url + "/v1", api_key="test", max_retries=0,
                       timeout_s=timeout_s)
    return make_caller(build_chat_model(config), **kwargs)


def set_conn(monkeypatch, conn_id: str, **fields) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "aimod_llm", **fields}))
    return conn_id


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- ChatOpenAI through LLMCaller ---------------------------------------------------------------------------


def test_data_usage_and_event_come_from_the_server(server):
    server.push(reply('{"answer": 42}', prompt_tokens=123, completion_tokens=7))
    result = openai_caller(server).ask_json(ASK, task="nl2sql", used_tokens=0, required=("answer",))
    assert result.data == {"answer": 42}
    assert result.usage == {"input_tokens": 123, "output_tokens": 7, "total_tokens": 130, "llm_calls": 1}
    (event,) = result.events
    assert event["kind"] == "llm_call" and event["data"]["outcome"] == "ok"
    assert event["data"]["model"] == "gpt-4o-mini" and event["data"]["latency_ms"] > 0
    assert (event["data"]["input_tokens"], event["data"]["output_tokens"]) == (123, 7)
    (request,) = server.chat_requests()
    assert request.headers["authorization"] == "Bearer test"
    assert request.body["model"] == "gpt-4o-mini" and request.body["max_completion_tokens"] == 1024
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]


@pytest.mark.parametrize("code", [429, 500, 503])
def test_transient_status_is_retried_by_our_caller_honouring_retry_after(server, code):
    server.push(status(code, retry_after=0.25), reply('{"ok": true}', 30, 4))
    waits: list[float] = []
    result = openai_caller(server, max_retries=2, waits=waits).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert result.data == {"ok": True} and len(server.chat_requests()) == 2
    assert waits == [0.25]  # the server's retry-after-ms, not our backoff
    assert result.usage["llm_calls"] == 1 and result.usage["total_tokens"] == 34
    assert [e["data"]["outcome"] for e in result.events] == ["error", "ok"]


def test_429_without_retry_after_backs_off_exponentially(server):
    server.push(status(429, retry_after=None), status(429, retry_after=None), reply('{"ok": 1}'))
    waits: list[float] = []
    result = openai_caller(server, max_retries=3, waits=waits).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert result.data == {"ok": 1} and waits == [0.5, 1.0] and len(server.chat_requests()) == 3


def test_persistent_500_is_a_backend_error_after_the_retries(server):
    server.push(*[status(500, message="upstream overloaded")] * 3)
    with step_fails(LLMBackendError, match=r"InternalServerError \(transient, still failing after 1 retries"
                                              r".*500 - upstream overloaded") as info:
        openai_caller(server, max_retries=1).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert len(server.chat_requests()) == 2  # the client itself never retried
    assert [e["data"]["outcome"] for e in info.value.events] == ["error", "error"]


def test_a_timeout_is_retried_then_reported(server):
    server.push(delay(3), reply('{"late": false}'))
    waits: list[float] = []
    result = openai_caller(server, timeout_s=0.4, max_retries=1, waits=waits).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert result.data == {"late": False} and waits == [0.5] and len(server.chat_requests()) == 2


def test_retries_stop_at_the_budget(server):
    server.push(status(500), reply('{"ok": 1}', 10, 2))
    tracer = Tracer(trace_id=new_trace_id(), agent="it", sinks=[ListSink()])
    config = LLMConfig(backend="openai", base_url=server.url + "/v1", api_key="test", max_retries=0)
    from airflow_aimod.core.budget import BudgetGuard, BudgetLimits

    class OneCallLedger:
        """A shared budget with room for exactly one call: the retry is refused before it is sent."""

        def __init__(self) -> None:
            self.calls = 0

        def reserve(self, task: str, tokens: int) -> None:
            self.calls += 1
            if self.calls > 1:
                raise BudgetExceeded("DAG run token budget exhausted")

        def settle(self, task: str, reserved: int, used: int) -> None:
            pass

    caller = LLMCaller(build_chat_model(config), tracer=tracer, timeout_s=5, max_output_tokens=64,
                       retry=RetryPolicy(max_retries=3), sleep=lambda s: None,
                       guard=BudgetGuard(BudgetLimits(), ledger=OneCallLedger()))
    with step_fails(BudgetExceeded, match="DAG run token budget exhausted"):
        caller.ask_json(ASK, task="nl2sql")
    assert len(server.chat_requests()) == 1


def test_a_slow_server_times_out_quickly_with_advice(server):
    server.push(delay(3))
    started = time.monotonic()
    with step_fails(AgentTimeout, match="timed out.*raise the connection's timeout"):
        openai_caller(server, timeout_s=0.5, max_retries=0).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert time.monotonic() - started < 2.5


def test_the_caller_deadline_bounds_a_slow_server_too(server):
    server.push(delay(3))
    started = time.monotonic()
    with step_fails(AgentTimeout, match="timed out: it passed its 0.3 s deadline"):
        openai_caller(server, timeout_s=30, deadline_s=0.3).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("behaviour", "says"), [
    (garbage(), "Unexpected response type from OpenAI-compatible endpoint"),
    (raw('{"unexpected": true}'), "null value for 'choices'"),
])
def test_a_malformed_body_is_a_clear_backend_error(server, behaviour, says):
    server.push(behaviour)
    with step_fails(LLMBackendError, match="not retried; check the connection's base URL") as info:
        openai_caller(server).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert says in str(info.value)


def test_prose_then_json_is_re_asked_once_and_usage_summed(server):
    server.push(reply("Let me think. About three, I guess.", 20, 9), reply('{"count": 3}', 45, 6))
    result = openai_caller(server).ask_json(ASK, task="nl2sql", used_tokens=0, required=("count",))
    assert result.data == {"count": 3}
    assert result.usage == {"input_tokens": 65, "output_tokens": 15, "total_tokens": 80, "llm_calls": 2}
    first, second = server.chat_requests()
    assert len(second.body["messages"]) == len(first.body["messages"]) + 2
    assert second.body["messages"][-2] == {"role": "assistant", "content": "Let me think. About three, I guess."}
    assert "not a JSON object" in second.body["messages"][-1]["content"]
    assert [e["data"]["outcome"] for e in result.events] == ["unparseable", "ok"]


def test_prose_every_time_is_a_response_error_after_the_bounded_re_asks():
    with OpenAIServer(default=reply("I'd rather not use JSON.")) as server:
        with step_fails(LLMResponseError, match="after 2 re-asks") as info:
            openai_caller(server, max_reasks=2).ask_json(ASK, task="nl2sql", used_tokens=0)
        assert len(server.chat_requests()) == 3
    assert info.value.usage["llm_calls"] == 3


def test_a_budget_too_small_sends_nothing(server):
    with step_fails(BudgetExceeded, match="token budget exhausted"):
        openai_caller(server, budget=50).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert server.requests == []


# --- AimodLLMHook -----------------------------------------------------------------------------------------


def test_hook_maps_an_env_var_connection_and_its_model_calls_the_server(server, monkeypatch):
    from airflow_aimod.hooks.llm import AimodLLMHook, resolve_llm

    extra = {"model": "gpt-test", "timeout": "5", "max_retries": 0, "temperature": 0.2, "max_output_tokens": 77,
             "backend": None}
    conn_id = set_conn(monkeypatch, "aimod_it_mapped", host=server.url + "/v1/", password="sk-test-123", extra=extra)
    assert AimodLLMHook(llm_conn_id=conn_id).llm_config() == LLMConfig(
        backend="openai", model="gpt-test", api_key="sk-test-123", base_url=server.url + "/v1", timeout_s=5.0,
        max_retries=0, temperature=0.2, max_output_tokens=77)
    server.push(reply('{"a": 1}', 11, 2))
    result = make_caller(resolve_llm(conn_id)).ask_json(ASK, task="nl2sql", used_tokens=0)
    assert result.data == {"a": 1} and result.events[0]["data"]["model"] == "gpt-test"
    (request,) = server.chat_requests()
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.body["model"] == "gpt-test" and request.body["max_completion_tokens"] == 77
    assert request.body["temperature"] == 0.2


def test_the_hook_s_client_never_retries_and_our_caller_makes_the_connection_s_retries(server, monkeypatch):
    from airflow_aimod.hooks.llm import resolve_llm_with_retries

    conn_id = set_conn(monkeypatch, "aimod_it_retries", host=server.url + "/v1", password="k",
                       extra={"max_retries": 2})
    model, retries = resolve_llm_with_retries(conn_id)
    assert retries == 2 and model.max_retries == 0
    assert resolve_llm_with_retries("offline")[1] == 0
    server.push(status(500), status(500), status(500), reply('{"never": 1}'))
    with step_fails(LLMBackendError, match="still failing after 2 retries"):
        make_caller(model, max_retries=retries).ask_json(ASK, task="nl2sql")
    assert len(server.chat_requests()) == 3  # 1 + our 2 retries, none from the openai client


def test_test_connection_lists_models_without_a_completion(server, monkeypatch):
    from airflow_aimod.hooks.llm import AimodLLMHook

    conn_id = set_conn(monkeypatch, "aimod_it_listing", host=server.url + "/v1", password="sk-x",
                       extra={"model": "gpt-4o-mini"})
    ok, message = AimodLLMHook(llm_conn_id=conn_id).test_connection()
    assert ok, message
    assert message == f"reached {server.url}/v1: 1 models listed"
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models")]
    assert server.requests[0].headers["authorization"] == "Bearer sk-x"


def test_test_connection_reports_a_closed_port(monkeypatch):
    from airflow_aimod.hooks.llm import AimodLLMHook

    url = f"http://127.0.0.1:{closed_port()}/v1"
    conn_id = set_conn(monkeypatch, "aimod_it_closed", host=url)
    ok, message = AimodLLMHook(llm_conn_id=conn_id).test_connection()
    assert not ok
    assert message.startswith(f"could not list models at {url}/models (APIConnectionError)")


def test_offline_connections_and_the_offline_shortcut_need_no_network():
    from airflow_aimod.core.llm.offline import OfflineChatModel
    from airflow_aimod.hooks.llm import AimodLLMHook, resolve_llm

    hook = AimodLLMHook()  # aimod_llm_default: {"backend": "offline"} in tests/conftest.py
    assert hook.llm_conn_id == "aimod_llm_default"
    assert hook.test_connection() == (True, "offline engine: no network or API key needed")
    assert isinstance(hook.get_chat_model(), OfflineChatModel)
    assert isinstance(resolve_llm("offline"), OfflineChatModel)


@pytest.mark.parametrize(("fields", "says"), [
    ({"password": "k", "extra": {"modle": "gpt-4o"}},
     r"unknown extra keys \['modle'\]; known keys: \['backend', 'max_output_tokens', 'max_retries', 'model', "
     r"'temperature', 'timeout'\]"),
    ({"password": "k", "extra": {"timeout": "soon"}}, "extra 'timeout' must be a float, got 'soon'"),
    ({"password": "k", "extra": {"backend": "anthropic"}}, "unknown LLM backend 'anthropic'"),
    ({"extra": {"model": "gpt-4o"}}, "the openai backend needs an API key"),
    ({"host": "localhost:8000"}, "must be a full base URL"),
])
def test_misconfigured_connections_fail_loudly(monkeypatch, fields, says):
    from airflow_aimod.hooks.llm import AimodLLMHook

    hook = AimodLLMHook(llm_conn_id=set_conn(monkeypatch, "aimod_it_bad", **fields))
    with pytest.raises(ConfigurationError, match=says):
        hook.llm_config()
    ok, message = hook.test_connection()
    assert not ok and re.search(says, message)


def test_a_connection_of_another_type_is_refused():
    from airflow_aimod.hooks.llm import resolve_llm

    with pytest.raises(ConfigurationError, match="has conn type 'sqlite'; LLM connections need conn type 'aimod_llm'"):
        resolve_llm("aimod_warehouse")


def test_a_missing_connection_says_how_to_create_it():
    from airflow_aimod.hooks.llm import resolve_llm

    with pytest.raises(ConfigurationError, match="no Airflow connection 'aimod_nowhere': create it "
                                                 r"\(conn type aimod_llm\) or set llm_conn_id='offline'"):
        resolve_llm("aimod_nowhere")


def test_fresh_process_import_is_light_and_needs_no_metadata_db(fresh_process):
    proc, missing = fresh_process
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-3000:]
    assert json.loads(stdout.strip().splitlines()[-1]) == {"heavy": [], "model": "m1",
                                                           "base_url": "http://127.0.0.1:9/v1"}
    assert not missing.exists()  # its directory does not exist, so any metadata-DB access would have failed

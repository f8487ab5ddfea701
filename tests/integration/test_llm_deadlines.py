"""Deadlines that hold against gateways that accept and never answer, or trickle a byte every half second.

Real ChatOpenAI (built by the factory, as the hook builds it) against local misbehaving servers
(tests/support/stalling_server.py): one ``ask_json``, retries included, ends by its stated deadline
plus a little; the HTTP connection is closed by the client (the server sees it); no thread is left
behind; and a process that made such a call exits right after printing its outcome.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time

import pytest

from airflow_aimod.core.llm.caller import LLMCaller, RetryPolicy
from airflow_aimod.core.llm.factory import LLMConfig, build_chat_model
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import AgentTimeout
from tests.support.stalling_server import MODES, StallingServer
from tests.support.steps import step_fails

ASK = [("system", "Reply with one JSON object."), ("human", "How many orders?")]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXIT_SLACK_S = 15.0  # far below the 60 s a leftover read would hold the process (see the exit test)
SLACK_S = 5.0  # scheduling noise on a 2-core machine running two test workers and an Airflow stack; "a few seconds"


def caller(url: str, *, call_timeout_s: float, conn_timeout_s: float = 60.0, retries: int = 3) -> LLMCaller:
    model = build_chat_model(LLMConfig(backend="openai", base_url=url, api_key="sk-deadline-test-key",
                                       timeout_s=conn_timeout_s, max_retries=0))
    tracer = Tracer(trace_id="d" * 32, agent="deadline", sinks=[ListSink()])
    return LLMCaller(model, tracer=tracer, timeout_s=call_timeout_s, retry=RetryPolicy(max_retries=retries),
                     random=lambda: 0.0)


def call_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "aimod-llm-call"]


def wait_for_no_call_threads(timeout_s: float) -> list[str]:
    end = time.monotonic() + timeout_s
    while call_threads() and time.monotonic() < end:
        time.sleep(0.02)
    return [t.name for t in call_threads()]


@pytest.mark.parametrize("mode", MODES)
def test_a_call_ends_by_its_deadline_and_abandons_the_connection(mode):
    with StallingServer(mode) as server:
        llm = caller(server.url, call_timeout_s=2)
        started = time.monotonic()
        with step_fails(AgentTimeout, match="LLM call timed out: it passed its 2 s deadline"):
            llm.ask_json(ASK, task="nl2sql")
        elapsed = time.monotonic() - started
        connections = server.wait_closed(2 + SLACK_S)
    assert 2 <= elapsed < 2 + SLACK_S, elapsed
    assert len(connections) == 1, "a stall uses up the call's deadline: nothing is left for a retry"
    closed = connections[0].closed_at
    assert closed is not None, f"{mode}: the client never closed the connection"
    assert closed - started < 2 + SLACK_S
    if mode != "hang":
        assert connections[0].sent > 0  # the server was really trickling while we waited
    assert wait_for_no_call_threads(SLACK_S) == []


@pytest.mark.parametrize("mode", ["hang", "trickle_body"])
def test_retries_of_short_attempts_stay_inside_the_call_deadline(mode):
    """Each request gives up after the connection's 1 s timeout; the retries and their waits fit the 4 s deadline."""
    with StallingServer(mode) as server:
        llm = caller(server.url, call_timeout_s=4, conn_timeout_s=1, retries=5)
        started = time.monotonic()
        with step_fails(AgentTimeout) as info:
            llm.ask_json(ASK, task="nl2sql")
        elapsed = time.monotonic() - started
        connections = server.wait_closed(SLACK_S)
    assert elapsed < 4 + SLACK_S, elapsed
    assert len(connections) >= 2, "the timed-out attempt was retried"
    assert all(c.closed_at is not None for c in connections)
    assert "4 s deadline" in str(info.value)
    outcomes = [e["data"]["outcome"] for e in info.value.events]
    assert outcomes == ["error"] * len(connections)
    assert wait_for_no_call_threads(SLACK_S) == []


SUBPROCESS = """
import json, sys, time
from airflow_aimod.core.llm.caller import LLMCaller, RetryPolicy
from airflow_aimod.core.tracing import Tracer
from airflow_aimod.exceptions import StepFailed
from airflow_aimod.hooks.llm import resolve_llm_with_retries

model, retries = resolve_llm_with_retries("aimod_stalling")
llm = LLMCaller(model, tracer=Tracer(trace_id="s" * 32, agent="sub"), timeout_s=float(sys.argv[1]),
                retry=RetryPolicy(max_retries=retries))
started = time.monotonic()
try:
    llm.ask_json([("human", "How many orders?")], task="nl2sql")
    outcome = "answered"
except StepFailed as exc:
    outcome = f"{type(exc.cause).__name__}: {exc}"
print(json.dumps({"elapsed": time.monotonic() - started, "outcome": outcome, "retries": retries}), flush=True)
"""


def _read_outcome(proc: subprocess.Popen, timeout_s: float) -> tuple[str, float]:
    """The JSON outcome line and when it arrived (log lines before it are skipped); fails naming what it saw."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    end, seen = time.monotonic() + timeout_s, []
    while time.monotonic() < end and selector.select(end - time.monotonic()):
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            return line, time.monotonic()
        seen.append(line)
    proc.kill()
    _, err = proc.communicate()
    pytest.fail(f"no outcome printed within {timeout_s} s; stdout: {seen[-5:]}; stderr: {err[-2000:]}")


def _run_process(url: str, timeout_s: float) -> tuple[dict, float]:
    """Run SUBPROCESS against ``url``: its outcome and how long it took to exit after printing it."""
    conn = {"conn_type": "aimod_llm", "host": url, "password": "sk-subprocess-key",
            "extra": {"timeout": 60, "max_retries": 3}}
    env = {**os.environ, "AIRFLOW_CONN_AIMOD_STALLING": json.dumps(conn), "NO_PROXY": "127.0.0.1"}
    proc = subprocess.Popen([sys.executable, "-c", SUBPROCESS, str(timeout_s)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line, printed_at = _read_outcome(proc, 60)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("the process printed its outcome and was still running 120 s later: a call outlived it")
        exit_s = time.monotonic() - printed_at
        assert proc.returncode == 0, proc.stderr.read()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return json.loads(line), exit_s


@pytest.fixture(scope="module")
def normal_exit_s() -> float:
    """How long the same process takes to exit after an ordinary answer (interpreter shutdown under this load)."""
    from tests.support.openai_server import OpenAIServer, reply

    with OpenAIServer(default=reply('{"ok": true}')) as server:
        outcome, exit_s = _run_process(server.url + "/v1", 3)
    assert outcome["outcome"] == "answered", outcome
    return exit_s


@pytest.mark.parametrize("mode", ["hang", "trickle_headers", "trickle_body"])
def test_a_process_exits_right_after_printing_its_outcome(mode, normal_exit_s):
    with StallingServer(mode) as server:
        outcome, exit_s = _run_process(server.url, 3)
    assert outcome["retries"] == 3
    assert outcome["outcome"].startswith("AgentTimeout: LLM call timed out: it passed its 3 s deadline"), outcome
    assert outcome["elapsed"] < 3 + SLACK_S, outcome
    # A thread left reading from the stalled server would hold the process for the connection's read timeout
    # (60 s) at least, the server itself for half an hour; exiting within seconds of a normal answer's exit
    # (loaded-machine noise, measured at up to ~4 s, stays far below that) proves nothing was left running.
    assert exit_s < normal_exit_s + EXIT_SLACK_S, (exit_s, normal_exit_s)

"""A local OpenAI-compatible HTTP server with scripted behaviours, for backend tests.

    with OpenAIServer() as server:
        server.push(reply('{"answer": 1}', 12, 3), status(429), delay(2.0))
        ... ChatOpenAI(base_url=server.url + "/v1", ...) ...
        assert len(server.requests) == 2

Each request to ``POST /v1/chat/completions`` or ``GET /v1/models`` consumes the next
behaviour; when the queue is empty the server uses ``default`` (a JSON reply). Every
request is recorded with its path, headers and parsed JSON body.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_CONTENT = '{"answer": "ok"}'


@dataclass(frozen=True)
class Behaviour:
    """What the server does for one request: sleep ``delay_s``, then send ``status`` and ``body``."""

    status: int = 200
    body: bytes | None = None  # None: a chat completion built from ``content``
    content: str = DEFAULT_CONTENT
    prompt_tokens: int = 10
    completion_tokens: int = 5
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    echo_header: str | None = None  # quote this request header back in an error body (a leaky gateway)


def reply(content: str = DEFAULT_CONTENT, prompt_tokens: int = 10, completion_tokens: int = 5) -> Behaviour:
    """A 200 chat completion with ``content`` and the given usage."""
    return Behaviour(content=content, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)


def status(code: int, *, retry_after: float | None = 0.01, message: str = "scripted failure") -> Behaviour:
    """An OpenAI-style error body with HTTP ``code``.

    ``retry_after`` (seconds) is sent as ``retry-after-ms``: the openai client honours it
    only when it is > 0, so the default keeps retries fast; ``None`` sends no header
    (the client then backs off ~0.5 s, 1 s, ...).
    """
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": str(code)}}).encode()
    headers = {} if retry_after is None else {"retry-after-ms": str(int(retry_after * 1000))}
    return Behaviour(status=code, body=body, headers=headers)


def delay(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Sleep ``seconds`` before answering with ``then`` (a default reply)."""
    base = then or reply()
    return Behaviour(base.status, base.body, base.content, base.prompt_tokens, base.completion_tokens,
                     base.headers, delay_s=seconds)


def echo_auth(code: int = 401) -> Behaviour:
    """An error with HTTP ``code`` whose message quotes the request's Authorization header (the API key)."""
    return Behaviour(status=code, echo_header="authorization")


def garbage() -> Behaviour:
    """A 200 whose body is not JSON."""
    return raw(b"<html>502 upstream hiccup</html>", 200, content_type="text/html")


def raw(body: str | bytes, code: int = 200, *, content_type: str = "application/json") -> Behaviour:
    """Exactly ``body`` with HTTP ``code``."""
    data = body.encode() if isinstance(body, str) else body
    return Behaviour(status=code, body=data, headers={"content-type": content_type})


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None


class OpenAIServer:
    """OpenAI-compatible server on 127.0.0.1 (ephemeral port) in a daemon thread."""

    def __init__(self, default: Behaviour | None = None) -> None:
        self.default = default or reply()
        self.requests: list[Request] = []
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (append ``/v1`` for a client's base URL)."""
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager or call start()")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def push(self, *behaviours: Behaviour) -> OpenAIServer:
        """Queue behaviours, consumed one per request."""
        with self._lock:
            self._queue.extend(behaviours)
        return self

    def chat_requests(self) -> list[Request]:
        """The recorded chat completion requests."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> OpenAIServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests still sleeping in ``delay`` are released at once."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _next(self, request: Request) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else self.default


def _completion(behaviour: Behaviour, model: str) -> bytes:
    usage = {"prompt_tokens": behaviour.prompt_tokens, "completion_tokens": behaviour.completion_tokens,
             "total_tokens": behaviour.prompt_tokens + behaviour.completion_tokens}
    return json.dumps({
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": behaviour.content},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": usage,
    }).encode()


def _models() -> bytes:
    return json.dumps({"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "test"},
    ]}).encode()


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            self._serve(None)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw_body) if raw_body else None
            except ValueError:
                body = None
            self._serve(body)

        def _serve(self, body: Any) -> None:
            path = self.path.split("?", 1)[0]
            if path not in ("/v1/chat/completions", "/v1/models"):
                return self._send(404, b'{"error": {"message": "not found"}}', {})
            headers = {k.lower(): v for k, v in self.headers.items()}
            behaviour = server._next(Request(self.command, path, headers, body))
            if behaviour.delay_s and server._stopping.wait(behaviour.delay_s):
                self.close_connection = True  # shutting down: drop the socket so the client fails fast
                return None
            if behaviour.echo_header:
                quoted = headers.get(behaviour.echo_header, "")
                body = json.dumps({"error": {"message": f"Incorrect API key provided. You sent {behaviour.echo_header}:"
                                                        f" {quoted} (key {quoted.split()[-1] if quoted else ''})",
                                             "type": "invalid_request_error", "code": "invalid_api_key"}}).encode()
                return self._send(behaviour.status, body, behaviour.headers)
            if behaviour.body is not None:
                return self._send(behaviour.status, behaviour.body, behaviour.headers)
            model = (body or {}).get("model", "gpt-4o-mini")
            payload = _models() if path == "/v1/models" else _completion(behaviour, model)
            return self._send(behaviour.status, payload, behaviour.headers)

        def _send(self, code: int, payload: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(code)
                if "content-type" not in {k.lower() for k in headers}:
                    self.send_header("content-type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout); nothing to answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler

"""Deadlines that hold at the socket: an HTTP request to an LLM backend ends when its deadline passes.

httpx timeouts bound each socket operation, not a request: a backend that sends one byte every
few seconds never trips a 60 s read timeout and can hold a call for ever. ``deadline_http_client``
returns an httpx client whose network streams cap every connect, read and write at what is left
of the current deadline and raise a timeout once it has passed, so the request fails on time, its
connection is closed by httpcore, and the thread that made it ends.

The deadline is the earlier of two: the one the caller sets around a call (``deadline_at``, a
``time.monotonic()`` value, per thread via a context variable) and ``timeout_s`` after each
request starts. httpx is imported only when a client is built.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["deadline_at", "deadline_http_client", "remaining_s"]

_DEADLINE: ContextVar[float | None] = ContextVar("aimod_llm_deadline", default=None)


@contextmanager
def deadline_at(when: float | None) -> Iterator[None]:
    """Within the block, HTTP requests of deadline clients end by ``when`` (``time.monotonic()``) at the latest."""
    current = _DEADLINE.get()
    token = _DEADLINE.set(when if current is None or when is None else min(when, current))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining_s() -> float | None:
    """Seconds left before the current deadline (negative once passed), or None without one."""
    when = _DEADLINE.get()
    return None if when is None else when - time.monotonic()


def deadline_http_client(timeout_s: float) -> Any:
    """An ``httpx.Client`` (proxies from the environment honoured) whose requests end by their deadline."""
    import httpx

    client = _client_class()(timeout=httpx.Timeout(timeout_s), follow_redirects=True,
                             limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    client.request_timeout_s = float(timeout_s)
    for transport in (client._transport, *client._mounts.values()):  # noqa: SLF001 - httpx has no public hook
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None:
            pool._network_backend = _backend_class()(backend)  # noqa: SLF001
    return client


def _cap(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of the deadline; ``error`` when nothing is left."""
    left = remaining_s()
    if left is None:
        return timeout
    if left <= 0:
        raise error("the LLM call passed its deadline; the request was abandoned")
    return left if timeout is None else min(timeout, left)


_CLASSES: dict[str, type] = {}


def _client_class() -> type:
    """``httpx.Client`` whose ``send`` (headers and body) runs under ``request_timeout_s`` from its start."""
    if "client" not in _CLASSES:
        import httpx

        class DeadlineClient(httpx.Client):
            request_timeout_s: float = 60.0

            def send(self, request: Any, **kwargs: Any) -> Any:
                with deadline_at(time.monotonic() + self.request_timeout_s):
                    return super().send(request, **kwargs)

        _CLASSES["client"] = DeadlineClient
    return _CLASSES["client"]


def _backend_class() -> type:
    """An httpcore network backend whose streams obey the current deadline."""
    if "backend" not in _CLASSES:
        import httpcore

        class DeadlineStream(httpcore.NetworkStream):
            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
                return self._inner.read(max_bytes, _cap(timeout, httpcore.ReadTimeout))

            def write(self, buffer: bytes, timeout: float | None = None) -> None:
                self._inner.write(buffer, _cap(timeout, httpcore.WriteTimeout))

            def close(self) -> None:
                self._inner.close()

            def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                          timeout: float | None = None) -> DeadlineStream:
                return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname,
                                                            _cap(timeout, httpcore.ConnectTimeout)))

            def get_extra_info(self, info: str) -> Any:
                return self._inner.get_extra_info(info)

        class DeadlineBackend(httpcore.NetworkBackend):
            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                            local_address: str | None = None, socket_options: Any = None) -> DeadlineStream:
                stream = self._inner.connect_tcp(host, port, timeout=_cap(timeout, httpcore.ConnectTimeout),
                                                 local_address=local_address, socket_options=socket_options)
                return DeadlineStream(stream)

            def connect_unix_socket(self, path: str, timeout: float | None = None,
                                    socket_options: Any = None) -> DeadlineStream:
                stream = self._inner.connect_unix_socket(path, timeout=_cap(timeout, httpcore.ConnectTimeout),
                                                         socket_options=socket_options)
                return DeadlineStream(stream)

            def sleep(self, seconds: float) -> None:
                self._inner.sleep(seconds)

        _CLASSES["backend"] = DeadlineBackend
    return _CLASSES["backend"]

"""Local TCP servers that misbehave the way slow LLM gateways do, for deadline tests.

* ``hang``: accepts the connection, reads the request, never answers.
* ``trickle_headers``: answers one byte of the status line every ``interval_s`` seconds, for ever.
* ``trickle_body``: sends complete headers announcing a large body, then one byte every ``interval_s``.

Each accepted connection is recorded with when it was accepted and when the client closed it
(``closed_at``), so a test can prove the client really abandoned the request.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

MODES = ("hang", "trickle_headers", "trickle_body")
_HEADERS = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-padding: " + b"a" * 4000 +
            b"\r\ncontent-length: 1000000\r\n\r\n")  # trickled a byte at a time, it lasts over half an hour


@dataclass
class Connection:
    """One accepted connection: when it opened and when the client closed it (None while open)."""

    accepted_at: float
    closed_at: float | None = None
    sent: int = 0


@dataclass
class StallingServer:
    """A loopback server in ``mode`` (see the module docstring); use as a context manager."""

    mode: str
    interval_s: float = 0.5
    connections: list[Connection] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def __enter__(self) -> StallingServer:
        thread = threading.Thread(target=self._accept, name=f"stalling-{self.mode}", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def wait_closed(self, timeout_s: float) -> list[Connection]:
        """Wait until every accepted connection was closed by the client; the connections either way."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and any(c.closed_at is None for c in self.connections):
            self._stop.wait(0.02)
        return list(self.connections)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            record = Connection(accepted_at=time.monotonic())
            self.connections.append(record)
            thread = threading.Thread(target=self._serve, args=(conn, record), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket, record: Connection) -> None:
        conn.settimeout(self.interval_s)
        payload = {"hang": b"", "trickle_headers": _HEADERS, "trickle_body": _HEADERS}[self.mode]
        try:
            self._read_request(conn)
            if self.mode == "trickle_body":
                conn.sendall(payload)
                payload = b"{" + b" " * 999_998 + b"}"
            for i in range(len(payload) if payload else 10**9):
                if self._stop.is_set():
                    break
                if self._client_closed(conn):
                    record.closed_at = time.monotonic()
                    break
                if payload:
                    conn.sendall(payload[i:i + 1])
                    record.sent += 1
        except OSError:  # the client reset the connection while we wrote or read
            record.closed_at = record.closed_at or time.monotonic()
        finally:
            conn.close()

    def _read_request(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and not self._stop.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise OSError("client closed before sending a request")
            data += chunk

    def _client_closed(self, conn: socket.socket) -> bool:
        """Wait ``interval_s`` for the client; True when it closed the connection (EOF or reset)."""
        try:
            return conn.recv(65536) == b""
        except TimeoutError:
            return False
        except OSError:
            return True

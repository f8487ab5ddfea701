"""Local stand-ins for notifier targets: an SMTP server (aiosmtpd) and a webhook endpoint, both on loopback."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it receives (``messages``: email.Message)."""

    def __init__(self) -> None:
        self.messages: list = []
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler hook
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def __enter__(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def connection(self) -> str:
        return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": self.port,
                           "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "aimod@example.com",
                                     "timeout": 10, "retry_limit": 1}})


class WebhookSink:
    """An HTTP server on 127.0.0.1 that answers 200 to every POST and keeps ``(path, json body)``."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode(errors="replace")}
                sink.posts.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self) -> WebhookSink:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def slack_connection(self) -> str:
        return json.dumps({"conn_type": "slackwebhook",
                           "password": f"http://127.0.0.1:{self.port}/services/T000/B000/SECRETTOKEN"})

    def apprise_connection(self) -> str:
        return json.dumps({"conn_type": "apprise",
                           "extra": {"config": [{"path": f"json://127.0.0.1:{self.port}/apprise", "tag": "all"}]}})

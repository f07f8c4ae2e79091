"""A loopback stand-in for a Slack incoming webhook: records every POST, answers as told.

`receiver.answer(SERVER_ERROR, OK)` queues the answers to the next requests; once the queue is
empty every request gets `OK` (200 "ok", like Slack). `receiver.webhook_url()` looks like a real
webhook URL, secret path included, so tests can check that it never leaks.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


OK = Answer()
SERVER_ERROR = Answer(500, "internal_error")
RATE_LIMITED = Answer(429, "rate_limited", {"Retry-After": "1"})
NO_SERVICE = Answer(404, "no_service")


def slow(seconds: float) -> Answer:
    """200 "ok", but only after `seconds`: longer than the client's timeout makes it time out."""
    return Answer(delay=seconds)


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON, or None when the body was not JSON
    raw: bytes


class SlackReceiver:
    def __init__(self) -> None:
        self.posts: list[Post] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def webhook_url(self, secret: str = "SECRETxyz") -> str:
        return f"{self.url}/services/T000/B000/{secret}"

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def _next_answer(self, post: Post) -> Answer:
        with self._lock:
            self.posts.append(post)
            return self._answers.popleft() if self._answers else OK

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                answer = receiver._next_answer(Post(self.path, dict(self.headers.items()), body, raw))
                if answer.delay and receiver._closing.wait(answer.delay):
                    return
                payload = answer.body.encode("utf-8")
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout) before the answer

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # the default logs the request path, the webhook's secret, to stderr

        return Handler

    def __enter__(self) -> SlackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def slack_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackReceiver]:
    """A running receiver; proxy settings are cleared so the client talks to it directly."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with SlackReceiver() as receiver:
        yield receiver

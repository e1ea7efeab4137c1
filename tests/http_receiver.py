"""A real HTTP server on 127.0.0.1 for delivery tests: answers a scripted status per request, records each."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 200  # what the receiver answered
    at: float = field(default_factory=time.monotonic)  # when it arrived (to compare receivers)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    statuses: list[int]  # answered in turn; the last one repeats
    requests: list[Received] = field(default_factory=list)
    _answered: int = 0  # requests answered under the current script
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses: int) -> None:
        """Answer these statuses from the next request on (the last one repeats): a receiver that goes down, or
        comes back."""
        with self._lock:
            self.statuses, self._answered = list(statuses), 0

    @property
    def accepted(self) -> list[Received]:
        """The requests answered with a 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def _record(self, received: Received) -> int:
        with self._lock:
            received.status = self.statuses[min(self._answered, len(self.statuses) - 1)]
            self._answered += 1
            self.requests.append(received)
            return received.status


@contextmanager
def http_receiver(*statuses: int, path: str = "/extracts") -> Iterator[Receiver]:
    """A receiver at `path` on a free loopback port, answering `statuses` in turn (200 when none)."""
    receiver = Receiver(url="", statuses=list(statuses) or [200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (the http.server hook's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver._record(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

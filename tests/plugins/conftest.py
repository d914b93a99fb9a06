"""Fixtures for the kafka_rest tests: a scripted Kafka REST proxy on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# Airflow reads its configuration on import; keep it away from the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kafka-rest-tests-"))

API_KEY = "test-api-key-0123456789"


@dataclass
class Answer:
    """One scripted answer: a status, a body, extra headers and an optional delay."""

    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/json"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/html"
        return json.dumps(self.body).encode("utf-8"), "application/vnd.kafka.v2+json"


@dataclass
class Received:
    """One request the scripted proxy received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedProxy:
    """
    Answer each request with the next scripted answer, and keep what was received.

    Once the scripted answers run out, ``responder`` (when set) makes the answer from the
    request. ``max_concurrent`` is the most requests it was serving at once.
    """

    def __init__(self) -> None:
        self.answers: deque[Answer] = deque()
        self.received: list[Received] = []
        self.responder: Callable[[Received], Answer] | None = None
        self.max_concurrent = 0
        self._active = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def answer(self, status: int = 200, body: Any = b"", **kwargs: Any) -> ScriptedProxy:
        self.answers.append(Answer(status, body, **kwargs))
        return self

    def posts(self) -> list[Received]:
        return [request for request in self.received if request.method == "POST"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, received: Received) -> Answer:
        with self._lock:
            self.received.append(received)
            if self.answers:
                return self.answers.popleft()
            if self.responder is not None:
                return self.responder(received)
        return Answer(599, {"error_code": 599, "message": "no scripted answer left"})

    def _count_active(self, change: int) -> None:
        with self._lock:
            self._active += change
            self.max_concurrent = max(self.max_concurrent, self._active)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received = Received(self.command, self.path, dict(self.headers.items()), body)
                proxy._count_active(1)
                try:
                    answer = proxy._next(received)
                    if answer.delay:
                        time.sleep(answer.delay)
                finally:
                    proxy._count_active(-1)
                payload, content_type = answer.encoded()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.headers.pop("Content-Type", content_type))
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def proxy() -> Iterator[ScriptedProxy]:
    server = ScriptedProxy()
    yield server
    server.close()


def connection_json(proxy_port: int, **fields: Any) -> str:
    """Return an http connection in Airflow's JSON form, fast to fail for the tests."""
    extra = {"headers": {"x-api-key": API_KEY}, "timeout": 5, "max_retries": 2}
    extra["backoff_factor"] = 0
    extra.update(fields.pop("extra", {}))
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": proxy_port, "schema": "http"}
    conn.update(fields)
    conn["extra"] = extra
    return json.dumps(conn)


@pytest.fixture
def proxy_conn(proxy: ScriptedProxy, monkeypatch: pytest.MonkeyPatch) -> ScriptedProxy:
    """Point the ``kafka_rest_proxy`` connection at the scripted proxy."""
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_REST_PROXY", connection_json(proxy.port))
    return proxy


def strimzi_offsets(count: int, start: int = 0, partition: int = 0) -> dict[str, Any]:
    """Return a Strimzi bridge answer acknowledging ``count`` records."""
    return {"offsets": [{"partition": partition, "offset": start + i} for i in range(count)]}


def confluent_offsets(count: int, start: int = 0, partition: int = 0) -> dict[str, Any]:
    """Return a Confluent REST Proxy answer acknowledging ``count`` records."""
    return {
        "key_schema_id": None,
        "value_schema_id": None,
        "offsets": [
            {"partition": partition, "offset": start + i, "error_code": None, "error": None}
            for i in range(count)
        ],
    }


class Acknowledger:
    """
    A responder that acknowledges every record with the next offset, after ``delay`` seconds.

    Records whose key is in ``fail_once`` fail with ``error`` the first time they are seen.
    ``acknowledged`` lists the keys acknowledged, in the order their offsets were given.
    """

    def __init__(
        self,
        delay: float = 0.0,
        fail_once: frozenset[str] = frozenset(),
        error: dict[str, Any] | None = None,
    ) -> None:
        self.delay = delay
        self.fail_once = set(fail_once)
        self.error = error or {"error_code": 503, "message": "Kafka is busy"}
        self.acknowledged: list[str] = []

    def __call__(self, received: Received) -> Answer:
        offsets: list[dict[str, Any]] = []
        for record in received.json()["records"]:
            key = record["key"]
            if key in self.fail_once:
                self.fail_once.discard(key)
                offsets.append(self.error)
            else:
                offsets.append({"partition": 0, "offset": len(self.acknowledged)})
                self.acknowledged.append(key)
        return Answer(200, {"offsets": offsets}, delay=self.delay)

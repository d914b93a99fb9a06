"""docker/connect/register_connector.py against a stand-in Connect REST API on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests.compose.conftest import CONNECT_DIR

ENV = {
    "PINTEREST_USER_ID": "128a59195de3",
    "PINTEREST_BUCKET": "user-128a59195de3-bucket",
    "S3_ENDPOINT": "http://minio:9000",
    "S3_REGION": "us-east-1",
    "SINK_FLUSH_SIZE": "100",
    "SINK_FLUSH_MS": "3000",
}


class FakeConnect:
    """Answers PUT .../config and GET .../status from scripted lists; records what it got."""

    def __init__(self, put_codes: list[int], states: list[dict[str, Any]]) -> None:
        self.put_codes = put_codes
        self.states = states
        self.requests: list[tuple[str, str, Any]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                fake.requests.append(("PUT", self.path, json.loads(self.rfile.read(length))))
                code = fake.put_codes.pop(0) if len(fake.put_codes) > 1 else fake.put_codes[0]
                self._reply(code, {"error_code": code, "message": "scripted"})

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path, None))
                state = fake.states.pop(0) if len(fake.states) > 1 else fake.states[0]
                self._reply(200, state)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(fake: FakeConnect) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_wait(register_connector: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SimpleNamespace(monotonic=time.monotonic, sleep=lambda seconds: None)
    monkeypatch.setattr(register_connector, "time", clock)


def status(connector: str, *tasks: str, trace: str = "") -> dict[str, Any]:
    return {
        "connector": {"state": connector},
        "tasks": [{"id": i, "state": s, "trace": trace} for i, s in enumerate(tasks)],
    }


def template() -> str:
    return (CONNECT_DIR / "s3-sink.json").read_text()


def test_template_renders_to_a_config_of_strings(register_connector: ModuleType) -> None:
    config = register_connector.render_config(template(), ENV)
    assert config["topics.regex"] == r"128a59195de3\.(pin|geo|user)"
    assert config["s3.bucket.name"] == "user-128a59195de3-bucket"
    assert all(isinstance(value, str) for value in config.values())
    assert "$" not in json.dumps(config)


def test_missing_placeholder_is_named(register_connector: ModuleType) -> None:
    env = {key: value for key, value in ENV.items() if key != "PINTEREST_BUCKET"}
    with pytest.raises(register_connector.RegistrationError, match=r"\$\{PINTEREST_BUCKET\}"):
        register_connector.render_config(template(), env)


@pytest.mark.parametrize("user_id", ["", "a.b", "x|y", "a" * 65])
def test_user_id_that_would_change_the_regex_is_refused(
    register_connector: ModuleType, user_id: str
) -> None:
    with pytest.raises(register_connector.RegistrationError, match="PINTEREST_USER_ID"):
        register_connector.render_config(template(), {**ENV, "PINTEREST_USER_ID": user_id})


@pytest.mark.usefixtures("no_wait")
def test_registers_after_a_rebalance_and_waits_for_running_tasks(
    register_connector: ModuleType, serve: Any
) -> None:
    fake = FakeConnect(
        put_codes=[409, 201],
        states=[status("RUNNING"), status("RUNNING", "UNASSIGNED"), status("RUNNING", "RUNNING")],
    )
    url = serve(fake)
    config = register_connector.render_config(template(), ENV)
    register_connector.register(url, "pinterest-s3-sink", config, timeout=10)
    puts = [request for request in fake.requests if request[0] == "PUT"]
    assert [path for _, path, _ in puts] == ["/connectors/pinterest-s3-sink/config"] * 2
    assert puts[-1][2] == config
    assert fake.requests[-1][:2] == ("GET", "/connectors/pinterest-s3-sink/status")


@pytest.mark.usefixtures("no_wait")
def test_refused_config_fails_at_once_with_connects_message(
    register_connector: ModuleType, serve: Any
) -> None:
    url = serve(FakeConnect(put_codes=[400], states=[status("RUNNING", "RUNNING")]))
    with pytest.raises(register_connector.RegistrationError, match=r"HTTP 400.*scripted"):
        register_connector.register(url, "sink", {"a": "b"}, timeout=10)


@pytest.mark.usefixtures("no_wait")
def test_failed_task_fails_with_its_trace(register_connector: ModuleType, serve: Any) -> None:
    fake = FakeConnect([201], [status("RUNNING", "FAILED", trace="ConfigException: bad\n at x")])
    with pytest.raises(register_connector.RegistrationError, match=r"ConfigException: bad$"):
        register_connector.register(serve(fake), "sink", {"a": "b"}, timeout=10)


@pytest.mark.usefixtures("no_wait")
def test_gives_up_after_the_timeout(register_connector: ModuleType, serve: Any) -> None:
    url = serve(FakeConnect([201], [status("RUNNING")]))
    with pytest.raises(register_connector.RegistrationError, match="not running after"):
        register_connector.register(url, "sink", {"a": "b"}, timeout=0.3)


def test_main_exits_1_when_connect_is_unreachable(
    register_connector: ModuleType, no_wait: None, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    code = register_connector.main(
        [
            "--connect-url=http://127.0.0.1:9",
            f"--config={CONNECT_DIR / 's3-sink.json'}",
            "--name=sink",
            "--timeout=0.2",
        ]
    )
    assert code == 1

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from kafka_rest import KafkaRestError, KafkaRestHook, RecordEncodingError, RecordError
from kafka_rest.hooks import PRODUCE_CONTENT_TYPE
from tests.plugins.conftest import API_KEY, confluent_offsets, connection_json, strimzi_offsets

RECORDS = [{"key": f"k{i}", "value": {"n": i, "title": "Café"}} for i in range(3)]


def use_connection(monkeypatch, proxy_port, **fields):
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_REST_PROXY", connection_json(proxy_port, **fields))


class TestBaseUrl:
    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({}, "http://127.0.0.1:{port}"),
            ({"schema": "https"}, "https://127.0.0.1:{port}"),
            ({"host": "127.0.0.1/test/"}, "http://127.0.0.1:{port}/test"),
            ({"extra": {"base_path": "/stage/v2/"}}, "http://127.0.0.1:{port}/stage/v2"),
            (
                {"host": "https://abc.execute-api.eu-west-1.amazonaws.com/test/", "port": None},
                "https://abc.execute-api.eu-west-1.amazonaws.com/test",
            ),
            (
                {"host": "abc.example.com/prod", "schema": "https", "port": None},
                "https://abc.example.com/prod",
            ),
        ],
    )
    def test_from_json_connection(self, monkeypatch, fields, expected):
        use_connection(monkeypatch, 8082, **fields)

        assert KafkaRestHook().base_url == expected.format(port=8082)

    def test_uri_connection_puts_the_stage_in_the_path(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_PROXY_URI", "https://abc.example.com/test")

        assert KafkaRestHook("proxy_uri").base_url == "https://abc.example.com/test"

    def test_connection_is_read_lazily(self):
        hook = KafkaRestHook("no_such_connection")

        assert hook.kafka_rest_conn_id == "no_such_connection"

    def test_bad_extra_is_named(self, monkeypatch):
        use_connection(monkeypatch, 8082, extra={"timeout": "soon"})

        with pytest.raises(ValueError, match="timeout must be a number, got 'soon'"):
            KafkaRestHook().base_url  # noqa: B018

    def test_headers_must_be_an_object_without_echoing_them(self, monkeypatch):
        use_connection(monkeypatch, 8082, extra={"headers": ["x-api-key", API_KEY]})

        with pytest.raises(ValueError, match="must be a JSON object, got list") as info:
            KafkaRestHook().base_url  # noqa: B018
        assert API_KEY not in str(info.value)


class TestListTopics:
    def test_lists_topics_with_headers_and_base_path(self, proxy, monkeypatch):
        use_connection(monkeypatch, proxy.port, host="127.0.0.1/test")
        proxy.answer(200, ["a.pin", "a.geo"])

        assert KafkaRestHook().list_topics() == ["a.pin", "a.geo"]

        (request,) = proxy.received
        assert request.method == "GET"
        assert request.path == "/test/topics"
        assert request.headers["x-api-key"] == API_KEY
        assert request.headers["Accept"] == "application/vnd.kafka.v2+json, application/json"

    def test_basic_auth_from_login(self, proxy, monkeypatch):
        use_connection(monkeypatch, proxy.port, login="user", password="secret-pass")
        proxy.answer(200, [])

        KafkaRestHook().list_topics()

        assert proxy.received[0].headers["Authorization"].startswith("Basic ")

    def test_403_is_not_retried_and_says_why(self, proxy_conn, capsys):
        proxy_conn.answer(403, {"message": "Forbidden"})

        with pytest.raises(KafkaRestError, match="refused the credentials") as info:
            KafkaRestHook().list_topics()

        assert info.value.status == 403
        assert not info.value.retryable
        assert len(proxy_conn.received) == 1
        assert API_KEY not in str(info.value)
        assert API_KEY not in capsys.readouterr().out

    def test_test_connection(self, proxy_conn):
        proxy_conn.answer(200, ["t"]).answer(401, b"")

        assert KafkaRestHook().test_connection() == (
            True,
            f"Kafka REST proxy at http://127.0.0.1:{proxy_conn.port} answered; it lists 1 topics",
        )
        ok, message = KafkaRestHook().test_connection()
        assert not ok
        assert "HTTP 401" in message

    def test_no_answer_is_a_retryable_error(self, monkeypatch):
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        use_connection(monkeypatch, port, extra={"max_retries": 1})

        with pytest.raises(KafkaRestError, match="GET /topics failed without an answer") as info:
            KafkaRestHook().list_topics()

        assert info.value.status is None
        assert info.value.retryable


class TestProduce:
    def test_sends_the_exact_content_type_and_body(self, proxy_conn):
        proxy_conn.answer(200, strimzi_offsets(3, start=5))

        result = KafkaRestHook().produce("user.pin", RECORDS)

        (request,) = proxy_conn.received
        assert request.method == "POST"
        assert request.path == "/topics/user.pin"
        assert request.headers["Content-Type"] == PRODUCE_CONTENT_TYPE
        assert request.headers["x-api-key"] == API_KEY
        assert request.json() == {"records": RECORDS}
        assert b" " not in request.body
        assert "Café".encode() in request.body
        assert result.acknowledged == 3
        assert result.ok
        assert result.offsets_by_partition() == {0: (5, 7)}

    def test_topic_is_quoted_in_the_path(self, proxy_conn):
        proxy_conn.answer(200, strimzi_offsets(1))

        KafkaRestHook().produce("odd topic/x", RECORDS[:1])

        assert proxy_conn.received[0].path == "/topics/odd%20topic%2Fx"

    def test_confluent_success(self, proxy_conn):
        proxy_conn.answer(200, confluent_offsets(3, start=10, partition=1))

        result = KafkaRestHook().produce("t", RECORDS)

        assert result.acknowledged == 3
        assert result.failed_indexes == []
        assert result.offsets_by_partition() == {1: (10, 12)}

    def test_values_are_encoded(self, proxy_conn):
        import datetime

        proxy_conn.answer(200, strimzi_offsets(1))

        KafkaRestHook().produce("t", [{"key": None, "value": {"d": datetime.date(2020, 1, 2)}}])

        assert proxy_conn.received[0].json() == {
            "records": [{"key": None, "value": {"d": "2020-01-02"}}]
        }

    def test_bad_value_is_refused_before_sending(self, proxy_conn):
        with pytest.raises(RecordEncodingError, match=r"records\[0\]\.value\.b"):
            KafkaRestHook().produce("t", [{"value": {"b": b"x"}}])

        assert proxy_conn.received == []

    def test_strimzi_record_error_in_a_200_is_a_failure(self, proxy_conn):
        answer = strimzi_offsets(3)
        answer["offsets"][1] = {"error_code": 500, "message": "Topic t not present in metadata"}
        proxy_conn.answer(200, answer).answer(200, answer)

        with pytest.raises(KafkaRestError) as info:
            KafkaRestHook().produce("t", RECORDS)

        error = info.value
        assert (error.status, error.topic, error.failed, error.total) == (200, "t", 1, 3)
        assert error.failed_indexes == [1]
        assert str(error) == (
            "1 of 3 records failed for topic 't' (HTTP 200): first error: "
            "error_code 500: Topic t not present in metadata"
        )
        result = KafkaRestHook().produce("t", RECORDS, raise_on_error=False)
        assert result.failed_indexes == [1]
        assert result.first_error == RecordError(500, "Topic t not present in metadata", True)

    def test_confluent_record_error_in_a_200_is_a_failure(self, proxy_conn):
        answer = confluent_offsets(3)
        answer["offsets"][2] = {
            "partition": None,
            "offset": None,
            "error_code": 40403,
            "error": "Not authorized to access topics",
        }
        proxy_conn.answer(200, answer)

        result = KafkaRestHook().produce("t", RECORDS, raise_on_error=False)

        assert result.acknowledged == 2
        assert result.failed_indexes == [2]
        assert result.first_error == RecordError(40403, "Not authorized to access topics", False)

    def test_unknown_topic_404_is_not_retried(self, proxy_conn):
        proxy_conn.answer(404, {"error_code": 40401, "message": "Topic not found."})

        with pytest.raises(KafkaRestError, match="error_code 40401: Topic not found") as info:
            KafkaRestHook().produce("missing", RECORDS)

        assert (info.value.status, info.value.failed, info.value.total) == (404, 3, 3)
        assert not info.value.retryable
        assert len(proxy_conn.received) == 1

    def test_422_is_not_retried(self, proxy_conn):
        proxy_conn.answer(422, {"error_code": 422, "message": "Unprocessable request."})

        with pytest.raises(KafkaRestError, match=r"\(HTTP 422\).*Unprocessable") as info:
            KafkaRestHook().produce("t", RECORDS)

        assert not info.value.retryable
        assert len(proxy_conn.received) == 1

    def test_503_then_success_is_retried_and_logged(self, proxy_conn, capsys):
        proxy_conn.answer(503, {"error_code": 503, "message": "busy"})
        proxy_conn.answer(200, strimzi_offsets(3))

        result = KafkaRestHook().produce("t", RECORDS)

        assert result.acknowledged == 3
        assert len(proxy_conn.posts()) == 2
        assert proxy_conn.posts()[1].json() == proxy_conn.posts()[0].json()
        logs = capsys.readouterr().out
        assert "POST /topics/t failed on attempt 1 of 3 (HTTP 503)" in logs
        assert API_KEY not in logs
        assert "Café" not in logs

    def test_429_with_retry_after_is_retried(self, proxy_conn):
        proxy_conn.answer(429, {"message": "slow down"}, headers={"Retry-After": "0"})
        proxy_conn.answer(200, strimzi_offsets(3))

        assert KafkaRestHook().produce("t", RECORDS).acknowledged == 3

    def test_gateway_html_page_gives_a_clear_error_after_retries(self, proxy_conn):
        page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 500 + "</body>"
        for _ in range(3):
            proxy_conn.answer(502, page)

        with pytest.raises(KafkaRestError) as info:
            KafkaRestHook().produce("t", RECORDS)

        message = str(info.value)
        assert "(HTTP 502)" in message
        assert "<title>502 Bad Gateway</title>" in message
        assert "after 3 attempts" in message
        assert len(message) < 400
        assert info.value.retryable
        assert len(proxy_conn.received) == 3

    def test_truncated_json_in_a_200(self, proxy_conn):
        proxy_conn.answer(200, b'{"offsets":[{"partition":0,"off')

        with pytest.raises(KafkaRestError, match="the answer is not JSON") as info:
            KafkaRestHook().produce("t", RECORDS)

        assert '{"offsets":[{"partition":0,"off' in str(info.value)
        assert info.value.failed == 3

    def test_read_timeout_is_retried_then_fails(self, proxy, monkeypatch):
        use_connection(monkeypatch, proxy.port, extra={"timeout": 0.2, "max_retries": 1})
        proxy.answer(200, strimzi_offsets(3), delay=1).answer(200, strimzi_offsets(3), delay=1)

        with pytest.raises(KafkaRestError, match="failed without an answer") as info:
            KafkaRestHook().produce("t", RECORDS)

        assert info.value.retryable
        assert len(proxy.received) == 2

    def test_shorter_offsets_list_fails_the_unmatched_records(self, proxy_conn):
        proxy_conn.answer(200, strimzi_offsets(2))

        with pytest.raises(KafkaRestError, match="2 offsets for 3 records") as info:
            KafkaRestHook().produce("t", RECORDS)

        assert info.value.failed_indexes == [2]

    def test_longer_offsets_list_fails_every_record(self, proxy_conn):
        proxy_conn.answer(200, strimzi_offsets(4))

        result = KafkaRestHook().produce("t", RECORDS, raise_on_error=False)

        assert result.acknowledged == 0
        assert result.failed_indexes == [0, 1, 2]

    def test_answer_without_offsets(self, proxy_conn):
        proxy_conn.answer(200, {"result": "ok"})

        with pytest.raises(KafkaRestError, match="no 'offsets' list"):
            KafkaRestHook().produce("t", RECORDS)

    def test_no_records_is_refused(self, proxy_conn):
        with pytest.raises(ValueError, match="No records"):
            KafkaRestHook().produce("t", [])


def test_request_body_is_the_compact_json(proxy_conn):
    proxy_conn.answer(200, strimzi_offsets(1))

    KafkaRestHook().produce("t", [{"value": {"a": 1}}])

    (request,) = proxy_conn.received
    assert (
        request.body
        == json.dumps(
            {"records": [{"key": None, "value": {"a": 1}}]}, separators=(",", ":")
        ).encode()
    )


def test_pre_encoded_records_are_sent_as_given(proxy_conn):
    proxy_conn.answer(200, strimzi_offsets(2))

    result = KafkaRestHook().produce_encoded(
        "t", [b'{"key":"1","value":{"a":1}}', b'{"key":"2","value":{"b":"\xc3\xa9"}}']
    )

    (request,) = proxy_conn.received
    assert request.body == (
        b'{"records":[{"key":"1","value":{"a":1}},{"key":"2","value":{"b":"\xc3\xa9"}}]}'
    )
    assert result.acknowledged == 2


def test_each_thread_gets_its_own_session_with_the_connection_settings(proxy_conn):
    hook = KafkaRestHook()
    both_started = threading.Barrier(2)

    def session_of_a_new_thread(_: int) -> requests.Session:
        both_started.wait(timeout=5)
        return hook.get_conn()

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(session_of_a_new_thread, range(2))

    mine = hook.get_conn()
    assert mine is hook.get_conn()
    assert len({id(mine), id(first), id(second)}) == 3
    for session in (mine, first, second):
        assert session.headers["x-api-key"] == API_KEY

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal

import pytest

from kafka_rest import KafkaRestError, KafkaRestOperator, RecordEncodingError
from kafka_rest.encoding import dumps_compact
from tests.plugins.conftest import Acknowledger, confluent_offsets, strimzi_offsets

ROWS = [{"id": f"id-{i}", "n": i, "amount": Decimal("7319.25")} for i in range(5)]


def operator(**kwargs):
    kwargs.setdefault("topic", "t.pin")
    kwargs.setdefault("records", ROWS)
    kwargs.setdefault("key_field", "id")
    kwargs.setdefault("retry_backoff", 0)
    return KafkaRestOperator(task_id="send", **kwargs)


def sent_keys(request):
    return [record["key"] for record in request.json()["records"]]


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            (
                {"max_bytes_per_request": 0},
                "max_bytes_per_request must be between 1 and 10485760, got 0",
            ),
            ({"max_bytes_per_request": 10 * 1024 * 1024 + 1}, "got 10485761"),
            (
                {"max_bytes_per_request": "5MB"},
                "max_bytes_per_request must be a whole number, got '5MB'",
            ),
            ({"max_records_per_request": 0}, "max_records_per_request must be at least 1, got 0"),
            ({"max_records_per_request": True}, "must be a whole number, got True"),
            ({"max_send_attempts": 0}, "max_send_attempts must be at least 1, got 0"),
            (
                {"max_requests_in_flight": 0},
                "max_requests_in_flight must be between 1 and 32, got 0",
            ),
            ({"max_requests_in_flight": 33}, "max_requests_in_flight must be between 1 and 32"),
            ({"retry_backoff": -1}, "retry_backoff must be between 0 and 300 seconds, got -1"),
            ({"topic": " "}, "topic must be a non-empty string, got ' '"),
            ({"key_field": ""}, "key_field must be a non-empty string or None, got ''"),
        ],
    )
    def test_bad_arguments_are_named(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            operator(**kwargs)

    def test_a_single_mapping_is_refused(self):
        with pytest.raises(TypeError, match="got dict"):
            operator(records={"id": 1})

    def test_no_connection_is_read_when_built(self):
        op = operator(kafka_rest_conn_id="does_not_exist")

        assert "hook" not in op.__dict__
        assert op.template_fields == ("topic", "records", "kafka_rest_conn_id")

    def test_a_string_that_is_not_a_uri_is_refused_at_run_time(self, proxy_conn):
        with pytest.raises(ValueError, match=r"got the string 'rows\.jsonl'"):
            operator(records="rows.jsonl").execute({})


class TestSending:
    def test_sends_every_record_and_returns_a_summary(self, proxy_conn):
        proxy_conn.answer(200, strimzi_offsets(5, start=10))

        summary = operator().execute({})

        (request,) = proxy_conn.posts()
        assert request.path == "/topics/t.pin"
        assert request.json()["records"][0] == {
            "key": "id-0",
            "value": {"id": "id-0", "n": 0, "amount": 7319.25},
        }
        assert summary["topic"] == "t.pin"
        assert summary["records_sent"] == 5
        assert summary["records_acknowledged"] == 5
        assert summary["records_resent"] == 0
        assert summary["requests"] == 1
        assert summary["bytes"] == len(request.body)
        assert summary["offsets"] == {"0": {"first": 10, "last": 14}}
        assert summary["started_at"] <= summary["finished_at"]
        assert json.loads(json.dumps(summary)) == summary
        assert "id-0" not in json.dumps(summary)

    def test_no_records_sends_nothing(self, proxy_conn):
        summary = operator(records=[]).execute({})

        assert proxy_conn.received == []
        assert summary["records_acknowledged"] == 0
        assert summary["offsets"] == {}

    def test_splits_by_count(self, proxy_conn):
        proxy_conn.answer(200, strimzi_offsets(2)).answer(200, strimzi_offsets(2, start=2))
        proxy_conn.answer(200, strimzi_offsets(1, start=4))

        summary = operator(max_records_per_request=2, max_requests_in_flight=1).execute({})

        assert [sent_keys(r) for r in proxy_conn.posts()] == [
            ["id-0", "id-1"],
            ["id-2", "id-3"],
            ["id-4"],
        ]
        assert summary["requests"] == 3
        assert summary["offsets"] == {"0": {"first": 0, "last": 4}}

    def test_splits_by_bytes(self, proxy_conn):
        rows = [{"id": str(i), "text": "é" * 100} for i in range(5)]
        one = len(dumps_compact({"key": "0", "value": rows[0]}).encode())
        limit = len(b'{"records":[]}') + 2 * one + 1
        for start in (0, 2, 4):
            proxy_conn.answer(200, strimzi_offsets(2 if start < 4 else 1, start=start))

        summary = operator(
            records=rows, max_bytes_per_request=limit, max_requests_in_flight=1
        ).execute({})

        posts = proxy_conn.posts()
        assert [len(r.json()["records"]) for r in posts] == [2, 2, 1]
        assert all(len(r.body) <= limit for r in posts)
        assert len(posts[0].body) == limit
        assert summary["bytes"] == sum(len(r.body) for r in posts)

    def test_a_record_too_large_on_its_own_fails_naming_it(self, proxy_conn):
        rows = [{"id": "small", "text": "x"}, {"id": "big", "text": "x" * 2000}]
        proxy_conn.answer(200, strimzi_offsets(1))

        with pytest.raises(KafkaRestError, match=r"record 1 \(key 'big'\) is \d+ bytes") as info:
            operator(records=rows, max_bytes_per_request=1000, max_records_per_request=1).execute(
                {}
            )

        assert "1 records were acknowledged before it" in str(info.value)
        assert len(proxy_conn.posts()) == 1

    def test_keys_are_stringified(self, proxy_conn):
        proxy_conn.answer(200, strimzi_offsets(2))

        operator(records=[{"id": 42}, {"id": 1.5}]).execute({})

        assert sent_keys(proxy_conn.posts()[0]) == ["42", "1.5"]

    def test_without_key_field_records_have_no_key(self, proxy_conn):
        proxy_conn.answer(200, strimzi_offsets(5))

        operator(key_field=None).execute({})

        assert sent_keys(proxy_conn.posts()[0]) == [None] * 5

    def test_a_missing_key_is_refused(self, proxy_conn):
        with pytest.raises(ValueError, match="Record 1 has no value for key_field 'id'"):
            operator(records=[{"id": "a"}, {"other": 1}]).execute({})

    def test_an_unencodable_value_names_column_and_record(self, proxy_conn):
        rows = [{"id": "a", "lat": 1.0}, {"id": "b", "lat": float("nan")}]

        with pytest.raises(RecordEncodingError, match=r"'lat'.*record 1"):
            operator(records=rows).execute({})

        assert proxy_conn.posts() == []


class TestResending:
    def test_resends_only_the_records_that_failed_with_a_retryable_error(self, proxy_conn):
        first = confluent_offsets(5)
        for i in (2, 4):
            first["offsets"][i] = {"error_code": 50002, "error": "Kafka is busy"}
        proxy_conn.answer(200, first).answer(200, confluent_offsets(2, start=5))

        summary = operator().execute({})

        first_post, second_post = proxy_conn.posts()
        assert len(sent_keys(first_post)) == 5
        assert sent_keys(second_post) == ["id-2", "id-4"]
        assert [r["value"]["n"] for r in second_post.json()["records"]] == [2, 4]
        assert summary["records_acknowledged"] == 5
        assert summary["records_resent"] == 2
        assert summary["requests"] == 2
        assert summary["offsets"] == {"0": {"first": 0, "last": 6}}

    def test_strimzi_500_record_errors_are_retried(self, proxy_conn):
        first = strimzi_offsets(5)
        first["offsets"][0] = {"error_code": 500, "message": "Expiring 1 record(s)"}
        proxy_conn.answer(200, first).answer(200, strimzi_offsets(1, start=9))

        summary = operator().execute({})

        assert sent_keys(proxy_conn.posts()[1]) == ["id-0"]
        assert summary["records_acknowledged"] == 5

    def test_a_failed_request_is_resent_whole(self, proxy, monkeypatch):
        from tests.plugins.conftest import connection_json

        monkeypatch.setenv(
            "AIRFLOW_CONN_KAFKA_REST_PROXY", connection_json(proxy.port, extra={"max_retries": 0})
        )
        proxy.answer(503, "<html>Service Unavailable</html>").answer(200, strimzi_offsets(5))

        summary = operator().execute({})

        assert [len(sent_keys(r)) for r in proxy.posts()] == [5, 5]
        assert summary["records_acknowledged"] == 5

    def test_a_non_retryable_record_error_fails_at_once(self, proxy_conn, capsys):
        answer = confluent_offsets(5)
        answer["offsets"][3] = {"error_code": 40403, "error": "Not authorized"}
        proxy_conn.answer(200, answer)

        with pytest.raises(KafkaRestError) as info:
            operator(max_records_per_request=5).execute({})

        error = info.value
        assert (error.failed, error.total, error.topic, error.status) == (1, 5, "t.pin", 200)
        assert error.failed_indexes == [3]
        assert str(error).startswith(
            "1 of 5 records failed for topic 't.pin' (HTTP 200): first error: "
            "error_code 40403: Not authorized; 4 acknowledged"
        )
        assert len(proxy_conn.posts()) == 1
        logs = capsys.readouterr().out
        assert "3 (key 'id-3')" in logs
        assert "7319.25" not in logs

    def test_gives_up_after_max_send_attempts(self, proxy_conn):
        failing = strimzi_offsets(5)
        failing["offsets"][1] = {"error_code": 503, "message": "busy"}
        still = {"offsets": [{"error_code": 503, "message": "busy"}]}
        proxy_conn.answer(200, failing).answer(200, still).answer(200, still)

        with pytest.raises(KafkaRestError, match="1 of 5 records failed") as info:
            operator(max_send_attempts=3).execute({})

        assert info.value.failed_indexes == [1]
        assert len(proxy_conn.posts()) == 3

    def test_stops_before_later_batches_after_a_failure(self, proxy_conn):
        proxy_conn.answer(404, {"error_code": 40401, "message": "Topic not found."})

        with pytest.raises(KafkaRestError, match=r"2 of 2 records failed.*40401"):
            operator(max_records_per_request=2, max_requests_in_flight=1).execute({})

        assert len(proxy_conn.posts()) == 1


class TestRequestsInFlight:
    ROWS = [{"id": f"id-{i}", "n": i} for i in range(10)]

    def test_requests_overlap_up_to_the_limit(self, proxy_conn):
        acknowledger = Acknowledger(delay=0.3)
        proxy_conn.responder = acknowledger

        summary = operator(
            records=self.ROWS, max_records_per_request=1, max_requests_in_flight=3
        ).execute({})

        assert proxy_conn.max_concurrent == 3
        assert sorted(acknowledger.acknowledged) == sorted(row["id"] for row in self.ROWS)
        assert len(proxy_conn.posts()) == 10
        assert summary["records_acknowledged"] == 10
        assert summary["requests"] == 10
        assert summary["offsets"] == {"0": {"first": 0, "last": 9}}

    def test_one_request_in_flight_keeps_the_records_in_order(self, proxy_conn):
        acknowledger = Acknowledger(delay=0.05)
        proxy_conn.responder = acknowledger

        operator(records=self.ROWS, max_records_per_request=3, max_requests_in_flight=1).execute({})

        assert proxy_conn.max_concurrent == 1
        assert acknowledger.acknowledged == [row["id"] for row in self.ROWS]

    def test_only_the_failed_records_are_resent_while_others_are_in_flight(self, proxy_conn):
        acknowledger = Acknowledger(delay=0.1, fail_once=frozenset({"id-3", "id-8"}))
        proxy_conn.responder = acknowledger

        summary = operator(
            records=self.ROWS, max_records_per_request=2, max_requests_in_flight=4
        ).execute({})

        assert sorted(acknowledger.acknowledged) == sorted(row["id"] for row in self.ROWS)
        posted = [sent_keys(r) for r in proxy_conn.posts()]
        assert sorted(keys for keys in posted if len(keys) == 1) == [["id-3"], ["id-8"]]
        times_posted = Counter(key for keys in posted for key in keys)
        assert times_posted == {row["id"]: 1 for row in self.ROWS} | {"id-3": 2, "id-8": 2}
        assert summary["records_acknowledged"] == 10
        assert summary["records_resent"] == 2
        assert summary["requests"] == 7

    def test_a_refused_record_stops_sending_and_waits_for_the_requests_in_flight(self, proxy_conn):
        refused = {"error_code": 42201, "message": "Unprocessable"}
        acknowledger = Acknowledger(delay=0.2, fail_once=frozenset({"id-0"}), error=refused)
        proxy_conn.responder = acknowledger

        with pytest.raises(KafkaRestError) as info:
            operator(
                records=self.ROWS, max_records_per_request=1, max_requests_in_flight=3
            ).execute({})

        error = info.value
        assert len(proxy_conn.posts()) == 3, "the requests after the failed one are not sent"
        assert error.failed_indexes == [0]
        assert str(error).endswith("2 acknowledged; records after index 2, if any, were not sent")
        assert sorted(acknowledger.acknowledged) == ["id-1", "id-2"]

    def test_a_task_timeout_does_not_wait_for_the_answers(self, proxy_conn):
        proxy_conn.responder = Acknowledger(delay=3)

        class Timeout(BaseException):
            pass

        def rows():
            yield from self.ROWS[:3]
            raise Timeout

        started = time.monotonic()
        with pytest.raises(Timeout):
            operator(records=rows(), max_records_per_request=1).execute({})

        assert time.monotonic() - started < 2, "it waited for the answers"
        deadline = time.monotonic() + 2
        while len(proxy_conn.posts()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(proxy_conn.posts()) == 3, "the requests in flight were not sent"

    def test_a_bad_record_counts_the_requests_in_flight_before_failing(self, proxy_conn):
        proxy_conn.responder = Acknowledger(delay=0.3)
        rows = [*self.ROWS[:5], {"id": "id-5", "n": float("inf")}]

        with pytest.raises(RecordEncodingError) as info:
            operator(records=rows, max_records_per_request=1, max_requests_in_flight=4).execute({})

        assert "(record 5; 5 records were acknowledged before it)" in str(info.value)
        assert len(proxy_conn.posts()) == 5


class TestJsonLines:
    def test_reads_records_from_a_file_uri(self, proxy_conn, tmp_path):
        path = tmp_path / "rows.jsonl"
        path.write_text('{"id": "a", "n": 1}\n\n{"id": "b", "n": 2}\n{"id": "c", "n": 3}\n')
        proxy_conn.answer(200, strimzi_offsets(2)).answer(200, strimzi_offsets(1, start=2))

        summary = operator(
            records=path.as_uri(), max_records_per_request=2, max_requests_in_flight=1
        ).execute({})

        assert [sent_keys(r) for r in proxy_conn.posts()] == [["a", "b"], ["c"]]
        assert proxy_conn.posts()[0].json()["records"][0]["value"] == {"id": "a", "n": 1}
        assert summary["records_acknowledged"] == 3

    def test_a_bad_line_is_named(self, proxy_conn, tmp_path):
        path = tmp_path / "rows.jsonl"
        path.write_text('{"id": "a"}\n[1, 2]\n')

        with pytest.raises(ValueError, match=r"Line 2 of .*rows\.jsonl must be a JSON object"):
            operator(records=path.as_uri()).execute({})

    def test_nan_in_a_line_is_refused(self, proxy_conn, tmp_path):
        path = tmp_path / "rows.jsonl"
        path.write_text('{"id": "a", "x": NaN}\n')

        with pytest.raises(ValueError, match=r"Line 1 .* NaN is not valid JSON"):
            operator(records=path.as_uri()).execute({})


def test_templated_fields_are_rendered(proxy_conn):
    op = operator(topic="{{ params.user }}.pin", kafka_rest_conn_id="{{ params.conn }}")

    op.render_template_fields({"params": {"user": "abc", "conn": "kafka_rest_proxy"}})

    assert op.topic == "abc.pin"
    assert op.kafka_rest_conn_id == "kafka_rest_proxy"


def test_strings_inside_literal_records_are_not_templates(proxy_conn):
    rows = [{"id": "a", "description": "{{ not a template }}"}]
    op = operator(records=rows)

    op.render_template_fields({"params": {}})

    assert op.records == rows


def test_a_templated_uri_is_rendered(proxy_conn):
    op = operator(records="file:///data/{{ params.user }}.jsonl")

    op.render_template_fields({"params": {"user": "abc"}})

    assert op.records == "file:///data/abc.jsonl"

"""Odd proxy answers in the middle of a batch, through KafkaRestOperator end to end.

The hook's answers one by one are covered in tests/plugins; here a bad answer arrives after
some requests succeeded, and the operator must resend only what was not acknowledged, or fail
naming what was not sent. One request is in flight at a time, so that the scripted answers
meet the requests in order; tests/plugins covers several in flight.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from kafka_rest import KafkaRestOperator
from kafka_rest.exceptions import KafkaRestError
from tests.plugins.conftest import API_KEY, ScriptedProxy, connection_json, strimzi_offsets

GATEWAY_504 = (
    "<!DOCTYPE html><html><head><title>504 Gateway Time-out</title></head>"
    "<body><h1>504 Gateway Time-out</h1>The upstream server did not answer in time.</body></html>"
)
ROWS = [{"id": f"ev-{i}", "n": i} for i in range(6)]


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Any:
    server = ScriptedProxy()
    monkeypatch.setenv(
        "AIRFLOW_CONN_KAFKA_REST_PROXY", connection_json(server.port, extra={"max_retries": 0})
    )
    yield server
    server.close()


def _operator() -> KafkaRestOperator:
    return KafkaRestOperator(
        task_id="post",
        topic="t.pin",
        records=ROWS,
        key_field="id",
        max_records_per_request=2,
        max_requests_in_flight=1,
        retry_backoff=0,
    )


def _keys(proxy: ScriptedProxy) -> list[list[str]]:
    return [[r["key"] for r in post.json()["records"]] for post in proxy.posts()]


@pytest.mark.parametrize(
    "bad",
    [
        (504, GATEWAY_504),
        (502, "<html><body>502 Bad Gateway</body></html>"),
        (200, b'{"offsets":[{"partition":0,"offset":2},{"parti'),
    ],
    ids=["gateway-504-html", "gateway-502-html", "truncated-200"],
)
def test_a_bad_answer_mid_batch_resends_that_request_only(
    proxy: ScriptedProxy, bad: tuple[int, Any]
) -> None:
    proxy.answer(200, strimzi_offsets(2, start=0)).answer(*bad)
    proxy.answer(200, strimzi_offsets(2, start=2)).answer(200, strimzi_offsets(2, start=4))

    summary = _operator().execute({})

    assert _keys(proxy) == [
        ["ev-0", "ev-1"],
        ["ev-2", "ev-3"],
        ["ev-2", "ev-3"],
        ["ev-4", "ev-5"],
    ]
    assert summary["records_acknowledged"] == 6
    assert summary["records_resent"] == 2
    assert summary["offsets"] == {"0": {"first": 0, "last": 5}}


def test_a_short_offsets_list_mid_batch_fails_naming_the_unacknowledged_record(
    proxy: ScriptedProxy,
) -> None:
    proxy.answer(200, strimzi_offsets(2, start=0)).answer(200, strimzi_offsets(1, start=2))

    with pytest.raises(KafkaRestError) as info:
        _operator().execute({})

    error = info.value
    assert error.failed_indexes == [3]
    assert str(error) == (
        "1 of 4 records failed for topic 't.pin' (HTTP 200): first error: no error_code: the "
        "answer has 1 offsets for 2 records sent; 3 acknowledged; records after index 3, if any, "
        "were not sent"
    )
    assert len(proxy.posts()) == 2


def test_403_mid_batch_fails_at_once_without_echoing_the_key(
    proxy: ScriptedProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.answer(200, strimzi_offsets(2, start=0))
    proxy.answer(403, {"message": "Forbidden"})

    with pytest.raises(KafkaRestError) as info:
        _operator().execute({})

    assert isinstance(info.value, AirflowFailException), "Airflow would retry a 403"
    assert "the proxy refused the credentials" in str(info.value)
    assert "2 acknowledged" in str(info.value)
    assert len(proxy.posts()) == 2
    assert API_KEY not in str(info.value) + capsys.readouterr().out


def test_a_metadata_timeout_reported_as_404_is_resent(proxy: ScriptedProxy) -> None:
    timed_out = strimzi_offsets(2, start=0)
    timed_out["offsets"][1] = {
        "error_code": 404,
        "message": "Topic t.pin not present in metadata after 5000 ms.",
    }
    proxy.answer(200, timed_out).answer(200, strimzi_offsets(1, start=1))
    proxy.answer(200, strimzi_offsets(2, start=2)).answer(200, strimzi_offsets(2, start=4))

    summary = _operator().execute({})

    assert _keys(proxy)[:2] == [["ev-0", "ev-1"], ["ev-1"]]
    assert summary["records_acknowledged"] == 6
    assert summary["records_resent"] == 1


def test_retryable_errors_left_after_the_last_attempt_stay_retryable_for_airflow(
    proxy: ScriptedProxy,
) -> None:
    for _ in range(5):
        proxy.answer(504, GATEWAY_504)

    with pytest.raises(KafkaRestError) as info:
        _operator().execute({})

    assert not isinstance(info.value, AirflowFailException)
    assert info.value.retryable
    assert "(HTTP 504)" in str(info.value)
    assert len(proxy.posts()) == 5

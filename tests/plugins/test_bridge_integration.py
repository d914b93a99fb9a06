"""The hook and operator against the Strimzi bridge of the local stack (``make stack-up``)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from kafka_rest import KafkaRestError, KafkaRestHook, KafkaRestOperator, RecordOffset

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not os.environ.get("AIRFLOW_CONN_KAFKA_REST_PROXY"),
        reason=(
            "AIRFLOW_CONN_KAFKA_REST_PROXY is not set: start the stack and run "
            "`eval $(python stack/launcher.py env)`"
        ),
    ),
]


@pytest.fixture(scope="module")
def topic() -> str:
    return f"{os.environ.get('PINTEREST_USER_ID', '128a59195de3')}.pin"


@pytest.fixture(scope="module")
def hook() -> KafkaRestHook:
    return KafkaRestHook()


def test_lists_the_topic(hook, topic):
    assert topic in hook.list_topics()


def test_test_connection(hook):
    ok, message = hook.test_connection()

    assert ok, message


def test_produces_three_records(hook, topic):
    run = uuid.uuid4().hex
    records = [{"key": f"{run}-{i}", "value": {"run": run, "n": i}} for i in range(3)]

    result = hook.produce(topic, records)

    assert result.acknowledged == 3
    assert all(isinstance(outcome, RecordOffset) for outcome in result.outcomes)
    assert len(set(result.outcomes)) == 3


def test_unknown_topic_fails_quickly(hook):
    started = time.monotonic()

    with pytest.raises(KafkaRestError) as info:
        hook.produce(f"no-such-topic-{uuid.uuid4().hex}", [{"key": "k", "value": {"n": 1}}])

    assert time.monotonic() - started < 15
    assert "records failed for topic 'no-such-topic-" in str(info.value)
    assert info.value.failed == 1
    assert info.value.total == 1


def test_operator_sends_in_several_requests(topic):
    run = uuid.uuid4().hex
    rows = [{"id": f"{run}-{i}", "n": i} for i in range(7)]
    op = KafkaRestOperator(
        task_id="send", topic=topic, records=rows, key_field="id", max_records_per_request=3
    )

    summary = op.execute({})

    assert summary["records_acknowledged"] == 7
    assert summary["requests"] == 3
    first, last = summary["offsets"]["0"]["first"], summary["offsets"]["0"]["last"]
    assert last - first == 6

"""SinkObjectsSensor.poke against the stack's real S3 store (SeaweedFS), with injected faults."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from botocore.exceptions import ClientError, EndpointConnectionError

from include.pinterest.sensors import SinkObjectsSensor
from include.pinterest.triggers import LISTING_ATTEMPTS

pytestmark = pytest.mark.stack


class _TaskInstance:
    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary

    def xcom_pull(self, task_ids: str) -> dict[str, Any]:
        assert task_ids == "post_pin"
        return self.summary


def _context(topic: str, first_offset: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    summary = {
        "topic": topic,
        "offsets": {"0": {"first": first_offset, "last": first_offset}},
        "started_at": (now - timedelta(seconds=1)).isoformat(),
        "finished_at": now.isoformat(),
    }
    return {"ti": _TaskInstance(summary)}


def _sensor(bucket: str, topic: str) -> SinkObjectsSensor:
    return SinkObjectsSensor(
        task_id="wait_pin",
        post_task_id="post_pin",
        aws_conn_id="pinterest_s3",
        bucket_name=bucket,
        bucket_key=f"topics/{topic}/partition=0/*.json",
        wildcard_match=True,
        timeout=60,
    )


def _fail_first(monkeypatch: pytest.MonkeyPatch, failures: int, err: Exception) -> list[str]:
    """Make the first ``failures`` listings raise ``err``; later ones reach the store."""
    real_listing = S3Hook.iter_file_metadata
    calls: list[str] = []

    def flaky_listing(self: S3Hook, prefix: str, bucket_name: str | None = None) -> Any:
        calls.append(prefix)
        if len(calls) <= failures:
            raise err
        return real_listing(self, prefix, bucket_name)

    monkeypatch.setattr(S3Hook, "iter_file_metadata", flaky_listing)
    return calls


def test_a_failed_listing_counts_as_not_yet_until_the_store_answers(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = os.environ["PINTEREST_BUCKET"]
    topic = f"sensor-{uuid.uuid4().hex[:8]}.pin"
    s3.put_object(Bucket=bucket, Key=f"topics/{topic}/partition=0/{topic}+0+7.json", Body=b"{}\n")
    calls = _fail_first(monkeypatch, 2, EndpointConnectionError(endpoint_url="http://fault"))
    sensor, context = _sensor(bucket, topic), _context(topic, 7)
    assert [sensor.poke(context) for _ in range(3)] == [False, False, True]
    assert len(calls) == 3
    logs = capsys.readouterr().out
    assert f"(1 of {LISTING_ATTEMPTS} tries)" in logs
    assert f"(2 of {LISTING_ATTEMPTS} tries)" in logs


def test_a_listing_failing_every_time_is_raised_after_the_last_try(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = os.environ["PINTEREST_BUCKET"]
    topic = f"sensor-{uuid.uuid4().hex[:8]}.pin"
    err = EndpointConnectionError(endpoint_url="http://fault")
    _fail_first(monkeypatch, LISTING_ATTEMPTS, err)
    sensor, context = _sensor(bucket, topic), _context(topic, 0)
    assert [sensor.poke(context) for _ in range(LISTING_ATTEMPTS - 1)] == [False] * (
        LISTING_ATTEMPTS - 1
    )
    with pytest.raises(EndpointConnectionError):
        sensor.poke(context)


def test_a_missing_bucket_is_raised_at_once(s3: Any) -> None:
    topic = f"sensor-{uuid.uuid4().hex[:8]}.pin"
    sensor = _sensor("no-such-bucket-for-sensor-test", topic)
    with pytest.raises(ClientError, match="NoSuchBucket"):
        sensor.poke(_context(topic, 0))

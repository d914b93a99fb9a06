"""NewSinkObjectsTrigger against the stack's real S3 store (SeaweedFS)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from include.pinterest.triggers import LISTING_ATTEMPTS, NewSinkObjectsTrigger, is_lasting_error

pytestmark = pytest.mark.stack


def _first_event(trigger: NewSinkObjectsTrigger) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())


def _trigger(
    topic: str,
    first_offset: int,
    sent_at: datetime,
    wait: float,
    *,
    bucket: str | None = None,
    aws_conn_id: str = "pinterest_s3",
    poke_interval: float = 0.5,
) -> NewSinkObjectsTrigger:
    """A trigger made the way the triggerer makes it: from its own serialized form."""
    classpath, kwargs = NewSinkObjectsTrigger(
        bucket_name=bucket or os.environ["PINTEREST_BUCKET"],
        topic=topic,
        partition=0,
        first_offset=first_offset,
        sent_at=sent_at.isoformat(),
        deadline=(datetime.now(UTC) + timedelta(seconds=wait)).isoformat(),
        aws_conn_id=aws_conn_id,
        poke_interval=poke_interval,
    ).serialize()
    assert classpath == "include.pinterest.triggers.NewSinkObjectsTrigger"
    return NewSinkObjectsTrigger(**kwargs)


def test_times_out_on_an_empty_prefix_and_fires_on_a_new_object(s3: Any) -> None:
    topic = f"trigger-{uuid.uuid4().hex[:8]}.pin"
    bucket = os.environ["PINTEREST_BUCKET"]
    assert _first_event(_trigger(topic, 10, datetime.now(UTC), wait=1.5)) == {
        "status": "timeout",
        "objects": 0,
    }
    prefix = f"topics/{topic}/partition=0/"
    s3.put_object(Bucket=bucket, Key=f"{prefix}{topic}+0+0000000004.json", Body=b"{}\n")
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert _first_event(_trigger(topic, 10, later, wait=1.5))["status"] == "timeout"
    s3.put_object(Bucket=bucket, Key=f"{prefix}{topic}+0+12.json", Body=b"{}\n")
    event = _first_event(_trigger(topic, 10, later, wait=10))
    assert event == {
        "status": "success",
        "new_objects": 1,
        "first_key": f"{prefix}{topic}+0+12.json",
    }


def test_a_missing_bucket_is_an_error_event_without_retries(s3: Any) -> None:
    trigger = _trigger("x.pin", 0, datetime.now(UTC), 5, bucket="no-such-bucket-for-trigger-test")
    event = _first_event(trigger)
    assert event["status"] == "error"
    assert "no-such-bucket-for-trigger-test" in event["message"]
    assert "(1 time(s) in a row)" in event["message"], event


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_store_that_stays_unreachable_is_an_error_event_after_every_try(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_S3"])
    conn["extra"]["endpoint_url"] = f"http://127.0.0.1:{_closed_port()}"
    conn["extra"]["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    monkeypatch.setenv("AIRFLOW_CONN_UNREACHABLE_S3", json.dumps(conn))
    trigger = _trigger(
        "x.pin", 0, datetime.now(UTC), 60, aws_conn_id="unreachable_s3", poke_interval=0.2
    )
    event = _first_event(trigger)
    assert event["status"] == "error", event
    assert f"({LISTING_ATTEMPTS} time(s) in a row)" in event["message"], event
    assert "Could not connect" in event["message"], event
    retried = [line for line in capsys.readouterr().out.splitlines() if "trying again" in line]
    assert len(retried) == LISTING_ATTEMPTS - 1, retried


def test_a_listing_that_fails_twice_is_tried_again_and_fires(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = f"trigger-{uuid.uuid4().hex[:8]}.geo"
    key = f"topics/{topic}/partition=0/{topic}+0+0.json"
    s3.put_object(Bucket=os.environ["PINTEREST_BUCKET"], Key=key, Body=b"{}\n")
    real_listing = S3Hook.get_file_metadata_async
    calls = []

    async def flaky_listing(
        self: S3Hook, client: Any, bucket_name: str, key: str | None = None
    ) -> AsyncIterator[Any]:
        calls.append(key)
        if len(calls) <= 2:
            raise EndpointConnectionError(endpoint_url="http://injected-fault")
        async for row in real_listing(self, client, bucket_name, key):
            yield row

    monkeypatch.setattr(S3Hook, "get_file_metadata_async", flaky_listing)
    event = _first_event(_trigger(topic, 0, datetime.now(UTC), wait=30))
    assert event == {"status": "success", "new_objects": 1, "first_key": key}
    assert len(calls) == 3
    retried = [line for line in capsys.readouterr().out.splitlines() if "trying again" in line]
    assert len(retried) == 2, retried
    assert f"(1 of {LISTING_ATTEMPTS} tries)" in retried[0], retried


@pytest.mark.parametrize(
    ("err", "lasting"),
    [
        (ClientError({"Error": {"Code": "NoSuchBucket"}}, "ListObjectsV2"), True),
        (ClientError({"Error": {"Code": "InvalidAccessKeyId"}}, "ListObjectsV2"), True),
        (ClientError({"Error": {"Code": "SignatureDoesNotMatch"}}, "ListObjectsV2"), True),
        (NoCredentialsError(), True),
        (ClientError({"Error": {"Code": "SlowDown"}}, "ListObjectsV2"), False),
        (ClientError({"Error": {"Code": "InternalError"}}, "ListObjectsV2"), False),
        (ClientError({}, "ListObjectsV2"), False),
        (EndpointConnectionError(endpoint_url="http://x"), False),
        (TimeoutError(), False),
    ],
)
def test_which_listing_errors_are_lasting(err: Exception, lasting: bool) -> None:
    assert is_lasting_error(err) is lasting

"""NewSinkObjectsTrigger against the stack's real S3 store (SeaweedFS)."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from include.pinterest.triggers import NewSinkObjectsTrigger

pytestmark = pytest.mark.stack


def _first_event(trigger: NewSinkObjectsTrigger) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())


def _trigger(
    topic: str, first_offset: int, sent_at: datetime, wait: float
) -> NewSinkObjectsTrigger:
    classpath, kwargs = NewSinkObjectsTrigger(
        bucket_name=os.environ["PINTEREST_BUCKET"],
        topic=topic,
        partition=0,
        first_offset=first_offset,
        sent_at=sent_at.isoformat(),
        deadline=(datetime.now(UTC) + timedelta(seconds=wait)).isoformat(),
        aws_conn_id="pinterest_s3",
        poke_interval=0.5,
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


def test_an_unreachable_bucket_is_an_error_event(s3: Any) -> None:
    trigger = NewSinkObjectsTrigger(
        bucket_name="no-such-bucket-for-trigger-test",
        topic="x.pin",
        partition=0,
        first_offset=0,
        sent_at=datetime.now(UTC).isoformat(),
        deadline=(datetime.now(UTC) + timedelta(seconds=5)).isoformat(),
        aws_conn_id="pinterest_s3",
    )
    event = _first_event(trigger)
    assert event["status"] == "error"
    assert "no-such-bucket-for-trigger-test" in event["message"]

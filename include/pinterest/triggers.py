"""A trigger that waits in the triggerer until the S3 sink wrote objects for a run.

It decides "new" itself, so the deferred task resumes exactly once: when a new object is
there, at its deadline, or on an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from include.pinterest.landing import new_objects, partition_prefix


class NewSinkObjectsTrigger(BaseTrigger):
    """
    Poll a topic partition's prefix until an object holds records sent at or after a point.

    Fires one event: ``{"status": "success", "new_objects": n, "first_key": key}``, or
    ``{"status": "timeout", "objects": n}`` at ``deadline``, or
    ``{"status": "error", "message": ...}`` when listing the bucket fails.

    :param bucket_name: Bucket the sink writes to.
    :param topic: Kafka topic whose objects are awaited.
    :param partition: Kafka partition.
    :param first_offset: First offset acknowledged for the run.
    :param sent_at: ISO 8601 time (with a zone) at which sending started.
    :param deadline: ISO 8601 time (with a zone) after which the trigger stops waiting.
    :param aws_conn_id: The AWS connection to the bucket.
    :param poke_interval: Seconds between two listings.
    """

    def __init__(
        self,
        *,
        bucket_name: str,
        topic: str,
        partition: int,
        first_offset: int,
        sent_at: str,
        deadline: str,
        aws_conn_id: str | None,
        poke_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.bucket_name = bucket_name
        self.topic = topic
        self.partition = partition
        self.first_offset = first_offset
        self.sent_at = sent_at
        self.deadline = deadline
        self.aws_conn_id = aws_conn_id
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the trigger's class path and arguments."""
        return (
            f"{__name__}.{type(self).__name__}",
            {
                "bucket_name": self.bucket_name,
                "topic": self.topic,
                "partition": self.partition,
                "first_offset": self.first_offset,
                "sent_at": self.sent_at,
                "deadline": self.deadline,
                "aws_conn_id": self.aws_conn_id,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """List the prefix every ``poke_interval`` seconds until one event can be fired."""
        prefix = partition_prefix(self.topic, self.partition)
        sent_at = datetime.fromisoformat(self.sent_at)
        deadline = datetime.fromisoformat(self.deadline)
        hook = S3Hook(aws_conn_id=self.aws_conn_id)
        try:
            async with await hook.get_async_conn() as client:
                while True:
                    files = [
                        row
                        async for row in hook.get_file_metadata_async(
                            client, self.bucket_name, prefix
                        )
                    ]
                    keys = new_objects(files, self.topic, self.first_offset, sent_at)
                    if keys:
                        yield TriggerEvent(
                            {"status": "success", "new_objects": len(keys), "first_key": keys[0]}
                        )
                        return
                    remaining = (deadline - datetime.now(UTC)).total_seconds()
                    if remaining <= 0:
                        yield TriggerEvent({"status": "timeout", "objects": len(files)})
                        return
                    self.log.info(
                        "No new object yet under s3://%s/%s (%d older); next look in %.0f s",
                        self.bucket_name,
                        prefix,
                        len(files),
                        min(self.poke_interval, remaining),
                    )
                    await asyncio.sleep(min(self.poke_interval, remaining))
        except Exception as err:
            yield TriggerEvent(
                {
                    "status": "error",
                    "message": f"listing s3://{self.bucket_name}/{prefix} failed: {err}",
                }
            )

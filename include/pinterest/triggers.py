"""A trigger that waits in the triggerer until the S3 sink wrote objects for a run.

It decides "new" itself, so the deferred task resumes exactly once: when a new object is
there, at its deadline, or on an error that trying again did not mend.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.triggers.base import BaseTrigger, TriggerEvent
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)

from include.pinterest.landing import new_objects, partition_prefix

#: How many failed listings in a row end the wait with an error event.
LISTING_ATTEMPTS = 5
#: S3 error codes that no retry mends.
LASTING_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "InvalidBucketName",
        "NoSuchBucket",
        "SignatureDoesNotMatch",
    }
)


class NewSinkObjectsTrigger(BaseTrigger):
    """
    Poll a topic partition's prefix until an object holds records sent at or after a point.

    Fires one event: ``{"status": "success", "new_objects": n, "first_key": key}``, or
    ``{"status": "timeout", "objects": n}`` at ``deadline``, or
    ``{"status": "error", "message": ...}`` when listing the bucket fails in a way no retry
    mends, or ``LISTING_ATTEMPTS`` times in a row.

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
        """List the prefix every ``poke_interval`` seconds until one event can be fired.

        A failed listing is tried again with a new client, up to ``LISTING_ATTEMPTS`` failures
        in a row and never past the deadline; an error no retry can mend (a missing bucket,
        refused credentials) ends the wait at once.
        """
        prefix = partition_prefix(self.topic, self.partition)
        hook = S3Hook(aws_conn_id=self.aws_conn_id)
        failures = 0
        while True:
            try:
                async with await hook.get_async_conn() as client:
                    while (event := await self._look(hook, client, prefix)) is None:
                        failures = 0
                        await asyncio.sleep(self._pause())
            except Exception as err:
                failures += 1
                if is_lasting_error(err) or failures >= LISTING_ATTEMPTS or self._remaining() <= 0:
                    message = (
                        f"listing s3://{self.bucket_name}/{prefix} failed "
                        f"({failures} time(s) in a row): {err}"
                    )
                    yield TriggerEvent({"status": "error", "message": message})
                    return
                self.log.warning(
                    "Listing s3://%s/%s failed (%d of %d tries): %s; trying again in %.1f s",
                    self.bucket_name,
                    prefix,
                    failures,
                    LISTING_ATTEMPTS,
                    err,
                    self._pause(),
                )
                await asyncio.sleep(self._pause())
            else:
                yield event
                return

    async def _look(self, hook: S3Hook, client: Any, prefix: str) -> TriggerEvent | None:
        """List ``prefix`` once; return the event to fire, or None to look again."""
        files = [
            row async for row in hook.get_file_metadata_async(client, self.bucket_name, prefix)
        ]
        sent_at = datetime.fromisoformat(self.sent_at)
        keys = new_objects(files, self.topic, self.first_offset, sent_at)
        if keys:
            return TriggerEvent(
                {"status": "success", "new_objects": len(keys), "first_key": keys[0]}
            )
        if self._remaining() <= 0:
            return TriggerEvent({"status": "timeout", "objects": len(files)})
        self.log.info(
            "No new object yet under s3://%s/%s (%d older); next look in %.0f s",
            self.bucket_name,
            prefix,
            len(files),
            self._pause(),
        )
        return None

    def _remaining(self) -> float:
        """Seconds left until the deadline; zero or less once it has passed."""
        return (datetime.fromisoformat(self.deadline) - datetime.now(UTC)).total_seconds()

    def _pause(self) -> float:
        """Seconds until the next look: ``poke_interval``, cut short by the deadline."""
        return min(self.poke_interval, max(self._remaining(), 0.0))


def is_lasting_error(err: BaseException) -> bool:
    """Return whether a failed S3 listing would fail the same way when tried again.

    That is a refusal by the store that names the bucket or the credentials, or credentials
    or arguments that botocore cannot use; connection faults, throttling and server errors
    are not.
    """
    if isinstance(err, ClientError):
        return err.response.get("Error", {}).get("Code") in LASTING_ERROR_CODES
    return isinstance(err, (NoCredentialsError, PartialCredentialsError, ParamValidationError))

"""Waiting for the Kafka Connect S3 sink: an ``S3KeySensor`` with a deadline it keeps.

The stock deferrable ``S3KeySensor`` has two gaps for this pipeline. Its trigger only fires
once some key matches, and ``airflow dags test`` runs triggers without their timeout, so with
no object at all under the prefix it waits for ever there; and where the triggerer enforces
the timeout, the error says only "Trigger/execution timeout", naming neither topic nor prefix.
:class:`SinkObjectsSensor` counts its timeout from the end of sending, hands the deadline to
its trigger, and fails with the topic, the prefix, how long it waited and what it found.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.amazon.aws.triggers.s3 import S3KeyTrigger
from airflow.sdk.exceptions import AirflowSensorTimeout
from airflow.triggers.base import TriggerEvent

from include.pinterest.landing import partition_prefix

#: Extra time given to the triggerer's own deferral timeout, so that the trigger's timeout
#: event (which names the topic) comes first.
DEFERRAL_SLACK_SECONDS = 60


class SinkObjectsTrigger(S3KeyTrigger):
    """
    An ``S3KeyTrigger`` that gives up at ``deadline`` with a ``timeout`` event.

    :param deadline: ISO 8601 time (with a zone) after which the trigger stops waiting.
    """

    def __init__(self, *, deadline: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialize the trigger's arguments and its classpath."""
        _, kwargs = super().serialize()
        return f"{__name__}.{type(self).__name__}", {**kwargs, "deadline": self.deadline}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait as ``S3KeyTrigger`` does, until its first event or the deadline."""
        remaining = (datetime.fromisoformat(self.deadline) - datetime.now(UTC)).total_seconds()
        events = cast("AsyncGenerator[TriggerEvent, None]", super().run())
        event: TriggerEvent | None
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                event = await anext(events, None)
        except TimeoutError:
            event = TriggerEvent({"status": "timeout"})
        finally:
            await events.aclose()
        if event is not None:
            yield event


class SinkObjectsSensor(S3KeySensor):
    """
    Wait, deferred, until the S3 sink wrote a run's objects for one topic, or fail in time.

    The timeout counts from the end of sending, read from the post task's summary
    (``topic`` and ``finished_at``), rather than from each deferral: a ``check_fn`` that finds
    only older objects re-defers the sensor, which would start a stock timeout afresh. On
    timeout it raises :class:`AirflowSensorTimeout` naming the topic, the prefix, how long it
    waited and whether the prefix held no object at all or only older ones. Every other
    argument is ``S3KeySensor``'s; ``timeout`` is the deadline after sending.

    :param post_task_id: The task whose return value describes what was sent.
    """

    def __init__(self, *, post_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.post_task_id = post_task_id
        self._topic = ""
        self._deadline = datetime.now(UTC)

    def execute(self, context: Any) -> None:
        self._read_summary(context)
        self.log.info(
            "Waiting until %s for new objects of topic %s under s3://%s/%s (timeout %.0f s "
            "after sending ended, polling every %.0f s)",
            self._deadline.isoformat(timespec="seconds"),
            self._topic,
            self.bucket_name,
            partition_prefix(self._topic),
            self.timeout,
            self.poke_interval,
        )
        super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        self._read_summary(context)
        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(self._timeout_message())
        super().execute_complete(context, event)

    def _read_summary(self, context: Any) -> None:
        summary = context["ti"].xcom_pull(task_ids=self.post_task_id)
        if not summary:
            raise ValueError(f"task {self.post_task_id} left no summary to wait for")
        self._topic = str(summary["topic"])
        finished = datetime.fromisoformat(summary["finished_at"])
        self._deadline = finished + timedelta(seconds=self.timeout)

    def _defer(self) -> None:
        remaining = max((self._deadline - datetime.now(UTC)).total_seconds(), 0.0)
        self.defer(
            timeout=timedelta(seconds=remaining + DEFERRAL_SLACK_SECONDS),
            trigger=SinkObjectsTrigger(
                deadline=self._deadline.isoformat(),
                bucket_name=str(self.bucket_name),
                bucket_key=self.bucket_key,
                wildcard_match=self.wildcard_match,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
                poke_interval=self.poke_interval,
                should_check_fn=bool(self.check_fn),
                use_regex=self.use_regex,
                metadata_keys=self.metadata_keys,
            ),
            method_name="execute_complete",
        )

    def _timeout_message(self) -> str:
        prefix = partition_prefix(self._topic)
        keys = self.hook.list_keys(bucket_name=self.bucket_name, prefix=prefix)
        found = f"only {len(keys)} older object(s) there" if keys else "no object at all there"
        waited = self.timeout + (datetime.now(UTC) - self._deadline).total_seconds()
        return (
            f"no new object for topic {self._topic} under s3://{self.bucket_name}/{prefix} "
            f"after {waited:.0f} s (timeout {self.timeout:.0f} s after sending ended; "
            f"{found}): is Kafka Connect's S3 sink running?"
        )

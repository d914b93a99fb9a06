"""Waiting for the Kafka Connect S3 sink: an ``S3KeySensor`` that knows what "new" means.

The stock deferrable ``S3KeySensor`` fires as soon as any key matches its pattern, and a
topic's prefix always holds older objects, so a ``check_fn`` refusing them sends the task
back and forth between worker and triggerer every few seconds, restarting its timeout each
time. :class:`SinkObjectsSensor` instead hands the run's first offset, its send time and a
deadline to :class:`~include.pinterest.triggers.NewSinkObjectsTrigger`, which decides in the
triggerer; the task resumes once, and a timeout names the topic, the prefix and how long it
waited.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout

from include.pinterest.landing import new_objects, partition_prefix
from include.pinterest.triggers import LISTING_ATTEMPTS, NewSinkObjectsTrigger, is_lasting_error

#: Extra time given to Airflow's own deferral timeout, so that the trigger's timeout event
#: (which names the topic) comes first.
DEFERRAL_SLACK_SECONDS = 60


class SinkObjectsSensor(S3KeySensor):
    """
    Wait until the S3 sink wrote objects holding a run's records for one topic partition.

    An object is new if its start offset is at or after the first offset the post task was
    given, or if it was written after sending started. The timeout counts from the end of
    sending, read from the post task's summary (``topic``, ``offsets``, ``started_at``,
    ``finished_at``). Every other argument is ``S3KeySensor``'s; ``bucket_key`` is shown in
    the UI and should name the partition's objects (``topics/<topic>/partition=0/*.json``).

    :param post_task_id: The task whose return value describes what was sent.
    :param partition: The Kafka partition whose objects are awaited.
    :raises AirflowSensorTimeout: when no new object came in time, naming the topic, the
        prefix, how long it waited and whether the prefix held only older objects or none.
    """

    def __init__(self, *, post_task_id: str, partition: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.post_task_id = post_task_id
        self.partition = partition
        self._listing_failures = 0

    def execute(self, context: Any) -> None:
        """Look once; if nothing new is there yet, wait in the triggerer (or poke)."""
        summary = self._summary(context)
        deadline = self._deadline(summary)
        self.log.info(
            "Waiting until %s for new objects of topic %s under s3://%s/%s (timeout %.0f s "
            "after sending ended, looking every %.0f s)",
            deadline.isoformat(timespec="seconds"),
            summary["topic"],
            self.bucket_name,
            partition_prefix(summary["topic"], self.partition),
            self.timeout,
            self.poke_interval,
        )
        if not self.deferrable:
            super().execute(context)
            return
        if self.poke(context):
            return
        self.defer(
            timeout=timedelta(
                seconds=max((deadline - datetime.now(UTC)).total_seconds(), 0.0)
                + DEFERRAL_SLACK_SECONDS
            ),
            trigger=NewSinkObjectsTrigger(
                bucket_name=str(self.bucket_name),
                topic=summary["topic"],
                partition=self.partition,
                first_offset=self._first_offset(summary),
                sent_at=summary["started_at"],
                deadline=deadline.isoformat(),
                aws_conn_id=self.aws_conn_id,
                poke_interval=self.poke_interval,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Any) -> bool:
        """Return whether a new object is there; raise once the deadline has passed.

        A failed listing counts as "not yet" unless no retry can mend it or it failed
        ``LISTING_ATTEMPTS`` times in a row; then its error is raised.
        """
        summary = self._summary(context)
        topic = summary["topic"]
        prefix = partition_prefix(topic, self.partition)
        try:
            files = list(self.hook.iter_file_metadata(prefix, str(self.bucket_name)))
        except Exception as err:
            self._listing_failures += 1
            if is_lasting_error(err) or self._listing_failures >= LISTING_ATTEMPTS:
                raise
            self.log.warning(
                "Listing s3://%s/%s failed (%d of %d tries): %s; looking again later",
                self.bucket_name,
                prefix,
                self._listing_failures,
                LISTING_ATTEMPTS,
                err,
            )
            return False
        self._listing_failures = 0
        sent_at = datetime.fromisoformat(summary["started_at"])
        keys = new_objects(files, topic, self._first_offset(summary), sent_at)
        if keys:
            self.log.info("Found %d new object(s) for topic %s, e.g. %s", len(keys), topic, keys[0])
            return True
        if datetime.now(UTC) >= self._deadline(summary):
            raise AirflowSensorTimeout(self._timeout_message(summary, len(files)))
        return False

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        """Finish after the trigger's one event.

        :raises AirflowSensorTimeout: on the trigger's timeout event.
        :raises AirflowException: on its error event.
        """
        summary = self._summary(context)
        status = event.get("status")
        if status == "success":
            self.log.info(
                "Found %d new object(s) for topic %s, e.g. %s",
                event["new_objects"],
                summary["topic"],
                event["first_key"],
            )
            return
        if status == "timeout":
            raise AirflowSensorTimeout(self._timeout_message(summary, int(event["objects"])))
        raise AirflowException(str(event.get("message", event)))

    def _summary(self, context: Any) -> dict[str, Any]:
        summary = context["ti"].xcom_pull(task_ids=self.post_task_id)
        if not summary:
            raise ValueError(f"task {self.post_task_id} left no summary to wait for")
        return dict(summary)

    def _first_offset(self, summary: dict[str, Any]) -> int:
        span = summary["offsets"].get(str(self.partition))
        if span is None:
            raise ValueError(
                f"task {self.post_task_id} acknowledged no record in partition "
                f"{self.partition} of topic {summary['topic']}"
            )
        return int(span["first"])

    def _deadline(self, summary: dict[str, Any]) -> datetime:
        finished = datetime.fromisoformat(summary["finished_at"])
        return finished + timedelta(seconds=self.timeout)

    def _timeout_message(self, summary: dict[str, Any], objects: int) -> str:
        prefix = partition_prefix(summary["topic"], self.partition)
        found = f"only {objects} older object(s) there" if objects else "no object at all there"
        waited = int(
            (datetime.now(UTC) - datetime.fromisoformat(summary["finished_at"])).total_seconds()
        )
        return (
            f"no new object for topic {summary['topic']} under s3://{self.bucket_name}/{prefix} "
            f"after {waited} s (timeout {self.timeout:.0f} s after sending ended; {found}): "
            "is Kafka Connect's S3 sink running?"
        )

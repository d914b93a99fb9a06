"""An operator that sends JSON records to a Kafka topic through a Kafka REST proxy."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator

from kafka_rest.batching import PendingRecord, iter_batches, iter_source, request_size
from kafka_rest.encoding import PRODUCE_BODY_OVERHEAD, dumps_compact, dumps_record, to_json_value
from kafka_rest.exceptions import (
    KafkaRestError,
    KafkaRestRecordsRefusedError,
    RecordEncodingError,
)
from kafka_rest.hooks import KafkaRestHook
from kafka_rest.results import RecordError, RecordOffset

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

#: API Gateway refuses request bodies over 10 MB.
MAX_BYTES_LIMIT = 10 * 1024 * 1024
FAILED_RECORDS_LOGGED = 20


@dataclass
class _Tally:
    sent: int = 0
    acknowledged: int = 0
    resent: int = 0
    requests: int = 0
    bytes: int = 0
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)

    def add_offset(self, outcome: RecordOffset) -> None:
        low, high = self.offsets.get(outcome.partition, (outcome.offset, outcome.offset))
        self.offsets[outcome.partition] = (min(low, outcome.offset), max(high, outcome.offset))


class KafkaRestOperator(BaseOperator):
    """
    Send JSON records to a Kafka topic through a Kafka REST proxy, and fail if any is lost.

    Records are encoded with :func:`~kafka_rest.encoding.encode_record` and sent in requests
    bounded by count and by body size. After each request, records that failed with a
    retryable error (a 5xx error code, a timeout, a request that failed after the hook's own
    retries) are sent again, and only those, up to ``max_send_attempts`` times; an
    acknowledged record is never sent again. A record that fails with an error not worth
    retrying, or still fails after the last attempt, fails the task with one
    :class:`~kafka_rest.exceptions.KafkaRestError`, and the records after it are not sent; when
    sending again cannot help (a record over ``max_bytes_per_request``, an error not worth
    retrying), it is a :class:`~kafka_rest.exceptions.KafkaRestRecordsRefusedError`, which
    Airflow does not retry.
    Delivery is at least once: a lost answer or a task retried by Airflow can send a record
    twice.

    Returns a summary for XCom, never the records: the topic, counts, requests, bytes,
    seconds, and the first and last offset acknowledged per partition.

    :param topic: The Kafka topic. (templated)
    :param records: A list of JSON-able mappings, or the URI of a JSON Lines file readable by
        :class:`airflow.sdk.ObjectStoragePath` (``s3://conn_id@bucket/key.jsonl``,
        ``file:///tmp/rows.jsonl``), read line by line. (templated: a URI string or an
        XComArg is rendered; the strings inside a literal list of records are data and are
        left alone)
    :param key_field: The field whose value becomes the record's Kafka key, as a string;
        every record must have it. Without it, records have no key.
    :param kafka_rest_conn_id: The connection to the proxy, see
        :class:`~kafka_rest.hooks.KafkaRestHook`. (templated)
    :param max_records_per_request: Most records in one request (default 1000).
    :param max_bytes_per_request: Largest request body, in bytes; at most 10 MiB, the API
        Gateway limit. A record larger than this on its own fails the task.
    :param max_send_attempts: How many times a record is sent before the task gives up on it.
        With the defaults (5 attempts, waits of 1, 2, 4 and 8 s, each attempt itself retried
        by the hook for about 6 s when no answer comes), a batch rides out a REST proxy or
        Kafka broker outage of about half a minute.
    :param retry_backoff: Seconds to wait before the first resend; doubled for each later one.
    """

    template_fields: Sequence[str] = ("topic", "records", "kafka_rest_conn_id")
    ui_color = "#e8f1fa"

    def __init__(
        self,
        *,
        topic: str,
        records: Sequence[Mapping[str, Any]] | str,
        key_field: str | None = None,
        kafka_rest_conn_id: str = KafkaRestHook.default_conn_name,
        max_records_per_request: int = 1000,
        max_bytes_per_request: int = 5 * 1024 * 1024,
        max_send_attempts: int = 5,
        retry_backoff: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(topic, str) or not topic.strip():
            raise ValueError(f"topic must be a non-empty string, got {topic!r}")
        if isinstance(records, Mapping | bytes):
            raise TypeError(
                f"records must be a list of mappings or the URI of a JSON Lines file, got "
                f"{type(records).__name__}"
            )
        if key_field is not None and (not isinstance(key_field, str) or not key_field):
            raise ValueError(f"key_field must be a non-empty string or None, got {key_field!r}")
        _check_int("max_records_per_request", max_records_per_request, 1, None)
        _check_int("max_bytes_per_request", max_bytes_per_request, 1, MAX_BYTES_LIMIT)
        _check_int("max_send_attempts", max_send_attempts, 1, None)
        if isinstance(retry_backoff, bool) or not isinstance(retry_backoff, int | float):
            raise ValueError(f"retry_backoff must be a number of seconds, got {retry_backoff!r}")
        if not 0 <= retry_backoff <= 300:
            raise ValueError(
                f"retry_backoff must be between 0 and 300 seconds, got {retry_backoff!r}"
            )
        self.topic = topic
        self.records = records
        self.key_field = key_field
        self.kafka_rest_conn_id = kafka_rest_conn_id
        self.max_records_per_request = max_records_per_request
        self.max_bytes_per_request = max_bytes_per_request
        self.max_send_attempts = max_send_attempts
        self.retry_backoff = retry_backoff

    def render_template(
        self,
        content: Any,
        context: Context,
        jinja_env: jinja2.Environment | None = None,
        seen_oids: set[int] | None = None,
    ) -> Any:
        """Render a templated field, leaving the strings inside a literal list of records alone."""
        if content is self.records and isinstance(content, list | tuple):
            return content
        return super().render_template(content, context, jinja_env, seen_oids)

    @cached_property
    def hook(self) -> KafkaRestHook:
        """Return the hook to the proxy, built on first use."""
        return KafkaRestHook(kafka_rest_conn_id=self.kafka_rest_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        tally = _Tally()
        self.log.info(
            "Sending records to topic %s through connection %s (at most %d records or %d bytes "
            "per request)",
            self.topic,
            self.kafka_rest_conn_id,
            self.max_records_per_request,
            self.max_bytes_per_request,
        )
        items = self._pending_records(iter_source(self.records), tally)
        for batch in iter_batches(items, self.max_records_per_request, self.max_bytes_per_request):
            self._send_batch(batch, tally)

        seconds = time.monotonic() - started
        offsets = {
            str(partition): {"first": first, "last": last}
            for partition, (first, last) in sorted(tally.offsets.items())
        }
        self.log.info(
            "Topic %s: %d records acknowledged in %d requests (%d bytes, %d resent) in %.1f s; "
            "offsets per partition: %s",
            self.topic,
            tally.acknowledged,
            tally.requests,
            tally.bytes,
            tally.resent,
            seconds,
            offsets or "none",
        )
        return {
            "topic": self.topic,
            "records_sent": tally.sent,
            "records_acknowledged": tally.acknowledged,
            "records_resent": tally.resent,
            "requests": tally.requests,
            "bytes": tally.bytes,
            "seconds": round(seconds, 3),
            "offsets": offsets,
            "started_at": started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
        }

    def _pending_records(
        self, source: Iterable[Mapping[str, Any]], tally: _Tally
    ) -> Iterator[PendingRecord]:
        for index, row in enumerate(source):
            try:
                value = dumps_record(row)
            except RecordEncodingError as e:
                raise RecordEncodingError(
                    e.column,
                    e.type_name,
                    f"{e.reason} (record {index}; {tally.acknowledged} records were "
                    "acknowledged before it)",
                ) from e
            key = self._key_of(row, index, tally)
            encoded = f'{{"key":{dumps_compact(key)},"value":{value}}}'.encode()
            size = len(encoded)
            if PRODUCE_BODY_OVERHEAD + size > self.max_bytes_per_request:
                raise KafkaRestRecordsRefusedError.for_records(
                    topic=self.topic,
                    failed=1,
                    total=index + 1,
                    status=None,
                    first_error=(
                        f"record {index} (key {key!r}) is {size} bytes, over "
                        f"max_bytes_per_request {self.max_bytes_per_request} on its own"
                    ),
                    failed_indexes=[index],
                    note=f"{tally.acknowledged} records were acknowledged before it",
                )
            yield PendingRecord(index, key, encoded)

    def _key_of(self, row: Mapping[str, Any], index: int, tally: _Tally) -> str | None:
        if self.key_field is None:
            return None
        if row.get(self.key_field) is None:
            raise ValueError(
                f"Record {index} has no value for key_field {self.key_field!r}; "
                f"{tally.acknowledged} records were acknowledged before it"
            )
        key = to_json_value(row[self.key_field], self.key_field)
        return key if isinstance(key, str) else dumps_compact(key)

    def _send_batch(self, batch: list[PendingRecord], tally: _Tally) -> None:
        pending = batch
        tally.sent = batch[-1].index + 1
        for attempt in range(1, self.max_send_attempts + 1):
            if attempt > 1:
                delay = self.retry_backoff * 2 ** (attempt - 2)
                self.log.warning(
                    "Resending %d unacknowledged records to topic %s (attempt %d of %d) in %.1f s",
                    len(pending),
                    self.topic,
                    attempt,
                    self.max_send_attempts,
                    delay,
                )
                time.sleep(delay)
                tally.resent += len(pending)
            tally.requests += 1
            tally.bytes += request_size(pending)
            self.log.debug(
                "Request %d: %d records from index %d to topic %s",
                tally.requests,
                len(pending),
                pending[0].index,
                self.topic,
            )
            try:
                result = self.hook.produce_encoded(
                    self.topic, [item.encoded for item in pending], raise_on_error=False
                )
            except KafkaRestError as e:
                if not e.retryable or attempt == self.max_send_attempts:
                    self._fail(pending, e.first_error or str(e), e.status, tally, e.retryable)
                self.log.warning("Request to topic %s failed: %s", self.topic, e)
                continue

            failed: list[PendingRecord] = []
            errors: list[RecordError] = []
            for item, outcome in zip(pending, result.outcomes, strict=True):
                if isinstance(outcome, RecordOffset):
                    tally.acknowledged += 1
                    tally.add_offset(outcome)
                else:
                    failed.append(item)
                    errors.append(outcome)
            if not failed:
                return
            if attempt == self.max_send_attempts or not all(e.retryable for e in errors):
                worst = next((e for e in errors if not e.retryable), errors[0])
                self._fail(failed, str(worst), result.status, tally, worst.retryable)
            self.log.warning(
                "Topic %s: %d of %d records failed with a retryable error; first: %s",
                self.topic,
                len(failed),
                len(pending),
                errors[0],
            )
            pending = failed

    def _fail(
        self,
        failed: list[PendingRecord],
        first_error: str,
        status: int | None,
        tally: _Tally,
        retryable: bool,
    ) -> NoReturn:
        shown = ", ".join(
            f"{item.index} (key {item.key!r})" if item.key is not None else str(item.index)
            for item in failed[:FAILED_RECORDS_LOGGED]
        )
        self.log.error(
            "Records not acknowledged by topic %s (first %d of %d, by index): %s",
            self.topic,
            min(len(failed), FAILED_RECORDS_LOGGED),
            len(failed),
            shown,
        )
        error = KafkaRestError if retryable else KafkaRestRecordsRefusedError
        raise error.for_records(
            topic=self.topic,
            failed=len(failed),
            total=tally.sent,
            status=status,
            first_error=first_error,
            failed_indexes=[item.index for item in failed],
            retryable=retryable,
            note=(
                f"{tally.acknowledged} acknowledged; records after index {tally.sent - 1}, "
                "if any, were not sent"
            ),
        )


def _check_int(name: str, value: Any, low: int, high: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")

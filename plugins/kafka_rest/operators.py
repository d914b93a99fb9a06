"""An operator that sends JSON records to a Kafka topic through a Kafka REST proxy."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator

from kafka_rest.batching import PendingRecord, iter_batches, iter_source
from kafka_rest.encoding import PRODUCE_BODY_OVERHEAD, dumps_compact, dumps_record, to_json_value
from kafka_rest.exceptions import (
    KafkaRestError,
    KafkaRestRecordsRefusedError,
    RecordEncodingError,
)
from kafka_rest.hooks import KafkaRestHook
from kafka_rest.sending import BatchSender, SendFailure, SendTally

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

#: API Gateway refuses request bodies over 10 MB.
MAX_BYTES_LIMIT = 10 * 1024 * 1024
#: Each request in flight has a thread of its own.
MAX_REQUESTS_IN_FLIGHT_LIMIT = 32
FAILED_RECORDS_LOGGED = 20


class KafkaRestOperator(BaseOperator):
    """
    Send JSON records to a Kafka topic through a Kafka REST proxy, and fail if any is lost.

    Records are encoded with :func:`~kafka_rest.encoding.dumps_record` and sent in requests
    bounded by count and by body size, with up to ``max_requests_in_flight`` requests waiting
    for an answer at once. Answers are settled in order: records that failed with a retryable
    error (a 5xx error code, a timeout, a request that failed after the hook's own retries)
    are sent again, and only those, up to ``max_send_attempts`` times; an acknowledged record
    is never sent again. A record that fails with an error not worth retrying, or still fails
    after the last attempt, fails the task with one
    :class:`~kafka_rest.exceptions.KafkaRestError` naming the records not acknowledged, once
    the requests already in flight have been answered; the records after them are not sent.
    When sending again cannot help (a record over ``max_bytes_per_request``, an error not
    worth retrying), it is a :class:`~kafka_rest.exceptions.KafkaRestRecordsRefusedError`,
    which Airflow does not retry.
    Delivery is at least once: a lost answer or a task retried by Airflow can send a record
    twice. Records of different requests may reach Kafka out of order unless
    ``max_requests_in_flight`` is 1.

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
    :param max_requests_in_flight: Most requests waiting for an answer at once, each from a
        thread of its own (default 4, at most 32). Use 1 to keep records in order.
    :param max_send_attempts: How many times a record is sent before the task gives up on it.
        With the defaults (5 attempts, waits of 1, 2, 4 and 8 s, each attempt itself retried
        by the hook for about 6 s when no answer comes), a batch rides out a REST proxy or
        Kafka broker outage of about half a minute.
    :param retry_backoff: Seconds to wait before the first resend; doubled for each later one.
    :raises ValueError: at construction, for a setting out of its range.
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
        max_requests_in_flight: int = 4,
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
        _check_int(
            "max_requests_in_flight", max_requests_in_flight, 1, MAX_REQUESTS_IN_FLIGHT_LIMIT
        )
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
        self.max_requests_in_flight = max_requests_in_flight
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
        self.log.info(
            "Sending records to topic %s through connection %s (at most %d records or %d bytes "
            "per request, %d requests in flight)",
            self.topic,
            self.kafka_rest_conn_id,
            self.max_records_per_request,
            self.max_bytes_per_request,
            self.max_requests_in_flight,
        )
        sender = BatchSender(
            self.hook,
            self.topic,
            max_in_flight=self.max_requests_in_flight,
            max_attempts=self.max_send_attempts,
            retry_backoff=self.retry_backoff,
            log=self.log,
        )
        with sender:
            failures = self._send_all(sender)
        tally = sender.tally
        if failures:
            self._fail(failures, tally)

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

    def _send_all(self, sender: BatchSender) -> list[SendFailure]:
        items = self._pending_records(iter_source(self.records), sender)
        for batch in iter_batches(items, self.max_records_per_request, self.max_bytes_per_request):
            failure = sender.submit(batch)
            if failure is not None:
                return [failure, *sender.drain(resend=False)]
        return sender.drain()

    def _pending_records(
        self, source: Iterable[Mapping[str, Any]], sender: BatchSender
    ) -> Iterator[PendingRecord]:
        for index, row in enumerate(source):
            try:
                value = dumps_record(row)
            except RecordEncodingError as e:
                raise RecordEncodingError(
                    e.column,
                    e.type_name,
                    f"{e.reason} (record {index}; {self._settled_before(sender)})",
                ) from e
            key, key_json = self._key_of(row, index, sender)
            encoded = f'{{"key":{key_json},"value":{value}}}'.encode()
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
                    note=self._settled_before(sender),
                )
            yield PendingRecord(index, key, encoded)

    def _key_of(
        self, row: Mapping[str, Any], index: int, sender: BatchSender
    ) -> tuple[str | None, str]:
        """Return the record's key as a string, and that string as JSON."""
        if self.key_field is None:
            return None, "null"
        value = row.get(self.key_field)
        if value is None:
            raise ValueError(
                f"Record {index} has no value for key_field {self.key_field!r}; "
                f"{self._settled_before(sender)}"
            )
        if type(value) is str:
            key = value
        elif type(value) is int:
            key = str(value)
        else:
            json_value = to_json_value(value, self.key_field)
            key = json_value if isinstance(json_value, str) else dumps_compact(json_value)
        return key, encode_basestring(key)

    def _settled_before(self, sender: BatchSender) -> str:
        """Wait for the requests in flight and say how many records were acknowledged."""
        failures = sender.drain()
        text = f"{sender.tally.acknowledged} records were acknowledged before it"
        if failures:
            self._log_not_acknowledged(failures)
            text += f" and {sum(len(failure.records) for failure in failures)} were not"
        return text

    def _log_not_acknowledged(self, failures: list[SendFailure]) -> None:
        records = [item for failure in failures for item in failure.records]
        shown = ", ".join(
            f"{item.position} (key {item.key!r})" if item.key is not None else str(item.position)
            for item in records[:FAILED_RECORDS_LOGGED]
        )
        self.log.error(
            "Records not acknowledged by topic %s (first %d of %d, by index): %s",
            self.topic,
            min(len(records), FAILED_RECORDS_LOGGED),
            len(records),
            shown,
        )

    def _fail(self, failures: list[SendFailure], tally: SendTally) -> NoReturn:
        self._log_not_acknowledged(failures)
        first = failures[0]
        retryable = all(failure.retryable for failure in failures)
        error = KafkaRestError if retryable else KafkaRestRecordsRefusedError
        failed_indexes = [item.position for failure in failures for item in failure.records]
        raise error.for_records(
            topic=self.topic,
            failed=len(failed_indexes),
            total=tally.sent,
            status=first.status,
            first_error=first.first_error,
            failed_indexes=failed_indexes,
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

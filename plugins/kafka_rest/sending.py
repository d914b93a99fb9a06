"""Post batches of encoded records to one topic, several requests at a time, settled in order."""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from kafka_rest.batching import PendingRecord, request_size
from kafka_rest.exceptions import KafkaRestError
from kafka_rest.hooks import KafkaRestHook
from kafka_rest.results import ProduceResult, RecordError, RecordOffset

_Answer = ProduceResult | KafkaRestError


class _Log(Protocol):
    def debug(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


@dataclass
class SendTally:
    """
    What a :class:`BatchSender` has done so far.

    :param sent: Records handed to the proxy: the index of the last one sent, plus one.
    :param acknowledged: Records the proxy acknowledged.
    :param resent: Records sent again after a retryable error.
    :param requests: Produce requests made, resends included.
    :param bytes: Bytes of request bodies sent, resends included.
    :param offsets: The lowest and highest offset acknowledged, by partition.
    """

    sent: int = 0
    acknowledged: int = 0
    resent: int = 0
    requests: int = 0
    bytes: int = 0
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)

    def add_offsets(self, outcomes: list[RecordOffset]) -> None:
        """Count acknowledged records and widen their partitions' offset ranges."""
        self.acknowledged += len(outcomes)
        for partition in {outcome.partition for outcome in outcomes}:
            offsets = [outcome.offset for outcome in outcomes if outcome.partition == partition]
            low, high = self.offsets.get(partition, (offsets[0], offsets[0]))
            self.offsets[partition] = (min(low, *offsets), max(high, *offsets))


@dataclass(frozen=True)
class SendFailure:
    """
    Records of one batch that were not acknowledged, and why.

    :param records: The records not acknowledged, in their original order.
    :param first_error: The error to report: the first one not worth retrying, else the first.
    :param status: HTTP status of the last answer, or ``None`` when no answer came.
    :param retryable: Whether sending the records again later may succeed.
    """

    records: list[PendingRecord]
    first_error: str
    status: int | None
    retryable: bool


class BatchSender:
    """
    Post batches of records to one topic, with up to ``max_in_flight`` requests at once.

    Each batch is posted from a worker thread as soon as a request slot is free, so encoding
    the next batch overlaps the proxy's work on the previous ones. Answers are settled in the
    order the batches were submitted: records that failed with a retryable error are sent
    again, and only those, up to ``max_attempts`` times in all, after ``retry_backoff``
    seconds and twice as long before each later resend; an acknowledged record is never sent
    again. With more than one request in flight, records of different batches may reach
    Kafka out of order; one request in flight keeps them in order (resends aside).

    Use it as a context manager: leaving it on an error waits for every request still in
    flight and counts their answers without resending; leaving it on a task timeout,
    termination or interrupt (a ``BaseException`` that is not an ``Exception``) does not wait.

    :param hook: The hook to the proxy; it gives each thread a session of its own.
    :param topic: The topic to send to.
    :param max_in_flight: Most requests waiting for an answer at once.
    :param max_attempts: How many times a record is sent before giving up on it.
    :param retry_backoff: Seconds to wait before the first resend.
    :param log: Where to log resends.
    """

    def __init__(
        self,
        hook: KafkaRestHook,
        topic: str,
        *,
        max_in_flight: int,
        max_attempts: int,
        retry_backoff: float,
        log: _Log,
    ) -> None:
        self.hook = hook
        self.topic = topic
        self.max_in_flight = max_in_flight
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.log = log
        self.tally = SendTally()
        # Read the connection once, here: from Python 3.12 cached_property takes no lock, so
        # workers starting together could each read it.
        hook.get_conn()
        self._in_flight: deque[tuple[list[PendingRecord], Future[_Answer]]] = deque()
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="kafka-rest-post")

    def __enter__(self) -> BatchSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, Exception) and self._in_flight:
            # A task timeout, a termination or an interrupt: stop now rather than wait for
            # answers; the threads end with their requests.
            self.log.warning(
                "Topic %s: stopped with %d requests in flight (records from index %d); they may "
                "or may not reach Kafka",
                self.topic,
                len(self._in_flight),
                self._in_flight[0][0][0].position,
            )
            self._pool.shutdown(wait=False, cancel_futures=True)
            return
        try:
            if exc is not None and self._in_flight:
                waited = len(self._in_flight)
                failures = self.drain(resend=False)
                self.log.warning(
                    "Topic %s: waited for %d requests in flight after an error; %d records "
                    "acknowledged in all, %d of those requests' records not acknowledged",
                    self.topic,
                    waited,
                    self.tally.acknowledged,
                    sum(len(failure.records) for failure in failures),
                )
        finally:
            self._pool.shutdown(wait=True)

    def submit(self, batch: list[PendingRecord]) -> SendFailure | None:
        """
        Post ``batch`` once a request slot is free, and return without waiting for its answer.

        When every slot is taken, the oldest batch is settled first; if it failed, ``batch``
        is not sent and that failure is returned.

        :param batch: Records to post in one request, in order; not empty.
        """
        if len(self._in_flight) >= self.max_in_flight:
            failure = self._settle_oldest(resend=True)
            if failure is not None:
                return failure
        self.tally.sent = batch[-1].position + 1
        self._count_request(batch)
        self.log.debug(
            "Request %d: %d records from index %d to topic %s",
            self.tally.requests,
            len(batch),
            batch[0].position,
            self.topic,
        )
        self._in_flight.append((batch, self._pool.submit(self._post, batch)))
        return None

    def drain(self, *, resend: bool = True) -> list[SendFailure]:
        """
        Wait for every batch in flight, settle each in order, and return those that failed.

        :param resend: Whether to resend records that failed with a retryable error, as
            :meth:`submit` does, or count them failed at once.
        """
        failures: list[SendFailure] = []
        while self._in_flight:
            failure = self._settle_oldest(resend=resend)
            if failure is not None:
                failures.append(failure)
        return failures

    def _post(self, batch: list[PendingRecord]) -> _Answer:
        try:
            return self.hook.produce_encoded(
                self.topic, [item.encoded for item in batch], raise_on_error=False
            )
        except KafkaRestError as e:
            return e

    def _count_request(self, batch: list[PendingRecord]) -> None:
        self.tally.requests += 1
        self.tally.bytes += request_size(batch)

    def _settle_oldest(self, *, resend: bool) -> SendFailure | None:
        batch, future = self._in_flight.popleft()
        failure = self._tally_answer(batch, future.result())
        attempt = 1
        while failure is not None and failure.retryable and resend and attempt < self.max_attempts:
            attempt += 1
            pending = failure.records
            delay = self.retry_backoff * 2 ** (attempt - 2)
            self.log.warning(
                "Resending %d unacknowledged records to topic %s (attempt %d of %d) in %.1f s",
                len(pending),
                self.topic,
                attempt,
                self.max_attempts,
                delay,
            )
            time.sleep(delay)
            self.tally.resent += len(pending)
            self._count_request(pending)
            failure = self._tally_answer(pending, self._post(pending))
        return failure

    def _tally_answer(self, batch: list[PendingRecord], answer: _Answer) -> SendFailure | None:
        if isinstance(answer, KafkaRestError):
            self.log.warning("Request to topic %s failed: %s", self.topic, answer)
            return SendFailure(
                batch, answer.first_error or str(answer), answer.status, answer.retryable
            )
        acknowledged = [o for o in answer.outcomes if isinstance(o, RecordOffset)]
        self.tally.add_offsets(acknowledged)
        if len(acknowledged) == len(batch):
            return None
        failures = [
            (item, outcome)
            for item, outcome in zip(batch, answer.outcomes, strict=True)
            if isinstance(outcome, RecordError)
        ]
        failed = [item for item, _ in failures]
        errors = [error for _, error in failures]
        worst = next((error for error in errors if not error.retryable), errors[0])
        self.log.warning(
            "Topic %s: %d of %d records failed (%s): %s",
            self.topic,
            len(failed),
            len(batch),
            "retryable" if worst.retryable else "not retryable",
            worst,
        )
        return SendFailure(failed, str(worst), answer.status, worst.retryable)

"""The outcome of one produce request, read from either proxy's answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kafka_rest.exceptions import KafkaRestError

#: HTTP statuses worth asking again about: the proxy or a gateway in front of it was
#: overloaded, timed out or failed, so the same request may succeed later.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Kafka's producer gives up with this when it cannot get a topic's metadata in
#: ``max.block.ms``. The Strimzi bridge reports it with code 404, as for an unknown topic, but
#: it is what a broker that is down or restarting looks like too, so it is worth retrying.
METADATA_TIMEOUT = "not present in metadata"


class RecordOffset(NamedTuple):
    """
    Where Kafka stored an acknowledged record.

    A tuple of two numbers, so that the garbage collector stops tracking it.
    """

    partition: int
    offset: int


@dataclass(frozen=True)
class RecordError:
    """Why the proxy did not acknowledge a record."""

    code: int | None
    message: str
    retryable: bool

    def __str__(self) -> str:
        code = "no error_code" if self.code is None else f"error_code {self.code}"
        return f"{code}: {self.message}"


@dataclass
class ProduceResult:
    """
    Per record, in the order sent, where Kafka stored it or why it failed.

    :param topic: Topic the records were sent to.
    :param status: HTTP status of the answer.
    :param outcomes: One entry per record sent.
    """

    topic: str
    status: int
    outcomes: list[RecordOffset | RecordError] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return how many records were sent."""
        return len(self.outcomes)

    @property
    def acknowledged(self) -> int:
        """Return how many records Kafka acknowledged."""
        return sum(isinstance(outcome, RecordOffset) for outcome in self.outcomes)

    @property
    def failed_indexes(self) -> list[int]:
        """Return the indexes of the records that failed."""
        return [i for i, outcome in enumerate(self.outcomes) if isinstance(outcome, RecordError)]

    @property
    def first_error(self) -> RecordError | None:
        """Return the error of the first failed record, if any failed."""
        for outcome in self.outcomes:
            if isinstance(outcome, RecordError):
                return outcome
        return None

    @property
    def ok(self) -> bool:
        """Return whether every record was acknowledged."""
        return self.first_error is None

    def offsets_by_partition(self) -> dict[int, tuple[int, int]]:
        """Return the first and last offset acknowledged in each partition."""
        ranges: dict[int, tuple[int, int]] = {}
        for outcome in self.outcomes:
            if isinstance(outcome, RecordOffset):
                low, high = ranges.get(outcome.partition, (outcome.offset, outcome.offset))
                ranges[outcome.partition] = (min(low, outcome.offset), max(high, outcome.offset))
        return ranges

    def raise_for_errors(self) -> None:
        """Raise :class:`KafkaRestError` if any record was not acknowledged."""
        failed = self.failed_indexes
        if not failed:
            return
        errors = [self.outcomes[i] for i in failed]
        raise KafkaRestError.for_records(
            topic=self.topic,
            failed=len(failed),
            total=self.total,
            status=self.status,
            first_error=str(errors[0]),
            failed_indexes=failed,
            retryable=all(isinstance(e, RecordError) and e.retryable for e in errors),
        )


def is_retryable_code(code: int | None) -> bool:
    """
    Return whether a record error code means that sending the record again may succeed.

    Strimzi reports HTTP-like three-digit codes; Confluent reports five-digit codes whose first
    three digits are an HTTP status (``40401``, ``50002``), and older Confluent versions report
    ``1`` (not retriable) or ``2`` (retriable).
    """
    if code is None:
        return False
    if code == 2:
        return True
    if 10000 <= code <= 99999:
        code //= 100
    return code in RETRYABLE_STATUSES or 500 <= code <= 599


def parse_produce_answer(topic: str, status: int, payload: Any, sent: int) -> ProduceResult:
    """
    Read the ``offsets`` of a successful produce answer, in Strimzi's or Confluent's shape.

    A record whose entry carries an ``error_code`` failed even though the answer was HTTP 200.
    An answer with fewer entries than records sent leaves the unmatched records failed; one
    with more entries cannot be matched to the records at all, so every record counts failed.

    :param topic: Topic the records were sent to.
    :param status: HTTP status of the answer.
    :param payload: The decoded JSON answer.
    :param sent: How many records the request carried.
    """
    offsets = payload.get("offsets") if isinstance(payload, dict) else None
    if not isinstance(offsets, list):
        error = RecordError(None, "the answer has no 'offsets' list", retryable=False)
        return ProduceResult(topic, status, [error] * sent)
    if len(offsets) > sent:
        error = RecordError(
            None,
            f"the answer has {len(offsets)} offsets for {sent} records sent",
            retryable=False,
        )
        return ProduceResult(topic, status, [error] * sent)

    outcomes = [_parse_entry(entry) for entry in offsets]
    if len(offsets) < sent:
        missing = RecordError(
            None,
            f"the answer has {len(offsets)} offsets for {sent} records sent",
            retryable=False,
        )
        outcomes.extend([missing] * (sent - len(offsets)))
    return ProduceResult(topic, status, outcomes)


def _parse_entry(entry: Any) -> RecordOffset | RecordError:
    if not isinstance(entry, dict):
        return RecordError(None, f"offsets entry is not an object: {entry!r:.100}", False)
    code = entry.get("error_code")
    message = entry.get("message") or entry.get("error")
    if code is not None or message:
        number = code if isinstance(code, int) and not isinstance(code, bool) else None
        text = str(message) if message else "no message"
        retryable = is_retryable_code(number) or METADATA_TIMEOUT in text
        return RecordError(number, text, retryable)
    partition, offset = entry.get("partition"), entry.get("offset")
    if isinstance(partition, int) and isinstance(offset, int):
        return RecordOffset(partition, offset)
    return RecordError(None, f"offsets entry has no partition and offset: {entry!r:.100}", False)

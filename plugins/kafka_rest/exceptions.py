"""Exceptions raised by the Kafka REST proxy hook, operator and encoder."""

from __future__ import annotations

from collections.abc import Sequence

from airflow.sdk.exceptions import AirflowException, AirflowFailException


class RecordEncodingError(TypeError, ValueError):
    """
    Refuse a value that JSON cannot hold faithfully.

    It is both a ``TypeError`` (bytes, sets, arbitrary objects) and a ``ValueError`` (NaN,
    Infinity), so callers may catch either.

    :param column: Path of the offending value inside the record, such as ``tags[2]``.
    :param type_name: Name of the offending value's type.
    :param reason: Why the value is refused.
    """

    def __init__(self, column: str, type_name: str, reason: str) -> None:
        self.column = column
        self.type_name = type_name
        self.reason = reason
        super().__init__(f"Column {column!r} holds a value of type {type_name}: {reason}")


class KafkaRestError(AirflowException):
    """
    Report records that the Kafka REST proxy did not acknowledge, or a request it refused.

    :param message: One line saying what failed; see :meth:`for_records` for the usual form.
    :param status: HTTP status of the answer, or ``None`` when no answer came.
    :param topic: Topic the records were meant for, if any.
    :param failed: How many records were not acknowledged.
    :param total: How many records were concerned.
    :param first_error: The first error, as the proxy or the transport reported it.
    :param failed_indexes: Indexes of the failed records, where known.
    :param retryable: Whether sending the same records again may succeed.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        topic: str | None = None,
        failed: int = 0,
        total: int = 0,
        first_error: str = "",
        failed_indexes: Sequence[int] = (),
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.topic = topic
        self.failed = failed
        self.total = total
        self.first_error = first_error
        self.failed_indexes = list(failed_indexes)
        self.retryable = retryable

    @classmethod
    def for_records(
        cls,
        *,
        topic: str,
        failed: int,
        total: int,
        status: int | None,
        first_error: str,
        failed_indexes: Sequence[int] = (),
        retryable: bool = False,
        note: str = "",
    ) -> KafkaRestError:
        """Build the one-line error for records not acknowledged by the proxy."""
        message = (
            f"{failed} of {total} records failed for topic {topic!r} ({describe_status(status)}): "
            f"first error: {first_error}"
        )
        if note:
            message = f"{message}; {note}"
        return cls(
            message,
            status=status,
            topic=topic,
            failed=failed,
            total=total,
            first_error=first_error,
            failed_indexes=failed_indexes,
            retryable=retryable,
        )


class KafkaRestRecordsRefusedError(KafkaRestError, AirflowFailException):
    """
    Report records that sending again cannot deliver, failing the task without Airflow retries.

    Raised for a record too large to send, or an error the proxy marks as not worth retrying
    (such as 403 or 422): a task retry would only send again the records acknowledged before.
    """


def describe_status(status: int | None) -> str:
    """Return ``HTTP <status>``, or say that no answer came."""
    return f"HTTP {status}" if status is not None else "no HTTP answer"

"""Read records from a list or a JSON Lines file and split them into produce requests."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from kafka_rest.encoding import PRODUCE_BODY_OVERHEAD

#: Bytes fetched from a remote JSON Lines file at a time (fsspec's S3 default is 50 MiB).
READ_BLOCK_SIZE = 8 * 1024 * 1024


class PendingRecord(NamedTuple):
    """
    A record ready to send, with what is needed to report on it.

    A tuple of plain values, so that the garbage collector stops tracking it: a task holds
    thousands of these at once.

    :param position: Position of the record in its source, from 0.
    :param key: The Kafka key, used in error reports; never the value.
    :param encoded: The Kafka record ``{"key": ..., "value": ...}`` as compact UTF-8 JSON,
        encoded once and sent as is, however often it is resent.
    """

    position: int
    key: str | None
    encoded: bytes

    @property
    def size(self) -> int:
        """Return the size of the encoded record in bytes."""
        return len(self.encoded)


def request_size(batch: Iterable[PendingRecord]) -> int:
    """Return the size in bytes of the produce body that carries ``batch``."""
    sizes = [item.size for item in batch]
    return PRODUCE_BODY_OVERHEAD + sum(sizes) + max(len(sizes) - 1, 0)


def iter_batches(
    items: Iterable[PendingRecord], max_records: int, max_bytes: int
) -> Iterator[list[PendingRecord]]:
    """
    Group records, in order, into batches within a count and a body size.

    A record too large to fit in a request on its own must be refused before it gets here.

    :param items: The records to group; read lazily.
    :param max_records: Most records in one batch.
    :param max_bytes: Largest produce body for one batch, in bytes.
    """
    batch: list[PendingRecord] = []
    size = PRODUCE_BODY_OVERHEAD
    for item in items:
        item_size = len(item.encoded)
        if batch and size + 1 + item_size > max_bytes:
            yield batch
            batch, size = [], PRODUCE_BODY_OVERHEAD
        size += item_size + (1 if batch else 0)
        batch.append(item)
        if len(batch) >= max_records:
            yield batch
            batch, size = [], PRODUCE_BODY_OVERHEAD
    if batch:
        yield batch


def read_json_lines(uri: str) -> Iterator[dict[str, Any]]:
    """
    Yield the JSON objects of a JSON Lines file, one line at a time.

    The file is opened with :class:`airflow.sdk.ObjectStoragePath`, so ``file://``, ``s3://``
    (``s3://conn_id@bucket/key``) and the other schemes it knows work. The file is fetched
    :data:`READ_BLOCK_SIZE` bytes at a time, so memory does not grow with its size. Blank lines
    are skipped; a line that is not a JSON object, or holds NaN or Infinity, is refused naming
    its number.

    :param uri: Where the file is.
    """
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(uri)
    # fsspec's remote files answer readline() from whole cache blocks, seeking back after
    # each line: a buffered reader on top makes reading a large file linear again.
    with (
        path.open("rb", block_size=READ_BLOCK_SIZE) as raw,
        io.BufferedReader(raw, buffer_size=1 << 20) as lines,
    ):
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_constant=_refuse_constant)
            except ValueError as e:
                raise ValueError(f"Line {number} of {uri} is not valid JSON: {e}") from None
            if not isinstance(value, dict):
                raise ValueError(
                    f"Line {number} of {uri} must be a JSON object, got {type(value).__name__}"
                )
            yield value


def iter_source(records: Iterable[Mapping[str, Any]] | str) -> Iterator[Mapping[str, Any]]:
    """
    Yield the records of an operator's ``records`` argument, after templating.

    :param records: A sequence of mappings, or the URI of a JSON Lines file.
    """
    if isinstance(records, str):
        if "://" not in records:
            raise ValueError(
                f"records must be a list of mappings or the URI of a JSON Lines file, got the "
                f"string {records[:100]!r}"
            )
        yield from read_json_lines(records)
        return
    if isinstance(records, Mapping | bytes) or not isinstance(records, Iterable):
        raise TypeError(
            f"records must be a list of mappings or the URI of a JSON Lines file, got "
            f"{type(records).__name__}"
        )
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(f"Record {index} must be a mapping, got {type(record).__name__}")
        yield record


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")

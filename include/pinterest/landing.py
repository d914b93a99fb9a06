"""Finding a run's records in the objects the Kafka Connect S3 sink wrote.

Objects are named ``topics/<topic>/partition=<p>/<topic>+<p>+<start offset>.json`` and hold one
JSON value per line, line ``i`` being the record at offset ``start + i``. Sinks differ in how
they pad the offset, so it is always read as a number.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OBJECT_NAME = re.compile(
    r"^topics/(?P<topic>[^/]+)/partition=(?P<partition>\d+)/"
    r"(?P<file_topic>[^/]+)\+(?P<file_partition>\d+)\+(?P<offset>\d+)\.json$"
)


@dataclass(frozen=True, order=True)
class SinkObject:
    """One object written by the S3 sink.

    :param start_offset: Offset of the object's first record.
    :param key: The object's key in the bucket.
    :param partition: Kafka partition of its records.
    """

    start_offset: int
    key: str
    partition: int


def partition_prefix(topic: str, partition: int = 0) -> str:
    """Return the key prefix under which the sink writes ``topic``'s ``partition``."""
    return f"topics/{topic}/partition={partition}/"


def parse_object_key(key: str, topic: str) -> SinkObject | None:
    """Return the sink object ``key`` names, or None if it is not a sink object of ``topic``."""
    match = OBJECT_NAME.match(key)
    if match is None or match["topic"] != topic or match["file_topic"] != topic:
        return None
    if int(match["partition"]) != int(match["file_partition"]):
        return None
    return SinkObject(int(match["offset"]), key, int(match["partition"]))


def objects_to_read(objects: Iterable[SinkObject], first: int, last: int) -> list[SinkObject]:
    """Return, in offset order, the objects that can hold offsets ``first`` to ``last``.

    That is the last object starting at or before ``first`` and every later one starting at
    or before ``last``.
    """
    ordered = sorted(objects)
    before = [obj for obj in ordered if obj.start_offset <= first]
    start = before[-1].start_offset if before else first
    return [obj for obj in ordered if start <= obj.start_offset <= last]


def new_objects(
    files: Iterable[dict[str, Any]], topic: str, first_offset: int, sent_at: datetime
) -> list[str]:
    """Return the keys among ``files`` written for this run's records.

    An object is new if it starts at or after ``first_offset``, the first offset the run was
    given, or if it was last modified after ``sent_at`` (it may then start earlier and still
    hold the run's first records). ``files`` are S3 listings with ``Key`` and ``LastModified``.
    """
    keys = []
    for file in files:
        obj = parse_object_key(str(file.get("Key", "")), topic)
        if obj is None:
            continue
        modified = file.get("LastModified")
        fresh = isinstance(modified, datetime) and modified >= sent_at
        if obj.start_offset >= first_offset or fresh:
            keys.append(obj.key)
    return keys


@dataclass
class LandingTally:
    """What was found of one partition's acknowledged offsets ``first`` to ``last``.

    :param first: First acknowledged offset.
    :param last: Last acknowledged offset.
    """

    first: int
    last: int
    found: Counter[str] = field(default_factory=Counter)
    offsets_seen: set[int] = field(default_factory=set)
    objects: int = 0

    @property
    def complete(self) -> bool:
        """Whether every offset from ``first`` to ``last`` was found in an object."""
        return len(self.offsets_seen) == self.last - self.first + 1

    def add_object(self, obj: SinkObject, lines: Iterator[bytes], id_column: str) -> None:
        """Count the records of ``obj`` (given as its ``lines``) that fall in the range.

        :raises ValueError: if a line is not a JSON object holding ``id_column``.
        """
        self.objects += 1
        for position, line in enumerate(lines):
            offset = obj.start_offset + position
            if offset < self.first or offset > self.last or offset in self.offsets_seen:
                continue
            try:
                value = json.loads(line)
                event_id = value[id_column]
            except (ValueError, TypeError, KeyError) as err:
                raise ValueError(
                    f"record at offset {offset} of s3 object {obj.key} is not a JSON object "
                    f"with {id_column!r}: {err}"
                ) from err
            self.offsets_seen.add(offset)
            self.found[str(event_id)] += 1


@dataclass(frozen=True)
class LandingResult:
    """The landing check's verdict for one topic.

    :param topic: The topic checked.
    :param expected: Events the run chose.
    :param acknowledged: Records the REST proxy acknowledged.
    :param landed: Acknowledged offsets found in S3.
    :param missing: Chosen event ids not found, at most 20 of them.
    :param missing_count: How many chosen events were not found.
    :param duplicates: Records found beyond the first for the same event id.
    :param unexpected: Records in the range whose event id the run did not choose.
    :param objects: Objects read.
    """

    topic: str
    expected: int
    acknowledged: int
    landed: int
    missing: tuple[str, ...]
    missing_count: int
    duplicates: int
    unexpected: int
    objects: int

    @property
    def ok(self) -> bool:
        """Whether every acknowledged record and every chosen event was found."""
        return self.missing_count == 0 and self.landed >= self.acknowledged

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a small JSON-able dict."""
        return {
            "topic": self.topic,
            "expected": self.expected,
            "acknowledged": self.acknowledged,
            "landed": self.landed,
            "missing": self.missing_count,
            "duplicates": self.duplicates,
            "unexpected": self.unexpected,
            "objects": self.objects,
            "ok": self.ok,
        }


def judge(
    topic: str, expected_ids: Iterable[int], acknowledged: int, tallies: Iterable[LandingTally]
) -> LandingResult:
    """Compare what the sink wrote (``tallies``) with what the run chose and sent."""
    found: Counter[str] = Counter()
    landed = 0
    objects = 0
    for tally in tallies:
        found.update(tally.found)
        landed += len(tally.offsets_seen)
        objects += tally.objects
    expected = {str(event_id) for event_id in expected_ids}
    missing = sorted((event_id for event_id in expected if event_id not in found), key=_id_order)
    duplicates = sum(count - 1 for event_id, count in found.items() if event_id in expected)
    unexpected = sum(count for event_id, count in found.items() if event_id not in expected)
    return LandingResult(
        topic=topic,
        expected=len(expected),
        acknowledged=acknowledged,
        landed=landed,
        missing=tuple(missing[:20]),
        missing_count=len(missing),
        duplicates=duplicates,
        unexpected=unexpected,
        objects=objects,
    )


def _id_order(event_id: str) -> tuple[int, str]:
    return (int(event_id), "") if event_id.isdigit() else (0, event_id)

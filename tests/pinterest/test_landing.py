from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.pinterest.landing import (
    LandingTally,
    SinkObject,
    judge,
    new_objects,
    objects_to_read,
    parse_object_key,
)

TOPIC = "128a59195de3.pin"


@pytest.mark.parametrize(
    ("key", "offset"),
    [
        (f"topics/{TOPIC}/partition=0/{TOPIC}+0+0000000042.json", 42),
        (f"topics/{TOPIC}/partition=0/{TOPIC}+0+00000000000000000042.json", 42),
        (f"topics/{TOPIC}/partition=0/{TOPIC}+0+42.json", 42),
    ],
)
def test_offsets_parse_as_numbers_whatever_the_padding(key: str, offset: int) -> None:
    assert parse_object_key(key, TOPIC) == SinkObject(offset, key, 0)


@pytest.mark.parametrize(
    "key",
    [
        f"topics/{TOPIC}/partition=0/{TOPIC}+1+42.json",
        "topics/other.pin/partition=0/other.pin+0+42.json",
        f"topics/{TOPIC}/partition=0/{TOPIC}+0+42.json.gz",
        f"staging/{TOPIC}+0+42.json",
    ],
)
def test_other_objects_are_ignored(key: str) -> None:
    assert parse_object_key(key, TOPIC) is None


def _obj(start: int) -> SinkObject:
    return SinkObject(start, f"k{start}", 0)


def test_objects_to_read_include_the_one_holding_the_first_offset() -> None:
    objects = [_obj(0), _obj(10), _obj(25), _obj(40), _obj(60)]
    assert [o.start_offset for o in objects_to_read(objects, 30, 45)] == [25, 40]
    assert [o.start_offset for o in objects_to_read(objects, 40, 40)] == [40]
    assert [o.start_offset for o in objects_to_read(objects[2:], 5, 30)] == [25]


def test_new_objects_by_offset_or_by_time() -> None:
    sent = datetime(2026, 1, 1, tzinfo=UTC)
    files = [
        {"Key": f"topics/{TOPIC}/partition=0/{TOPIC}+0+10.json", "LastModified": sent},
        {
            "Key": f"topics/{TOPIC}/partition=0/{TOPIC}+0+5.json",
            "LastModified": sent - timedelta(minutes=1),
        },
    ]
    assert new_objects(files, TOPIC, 10, sent) == [files[0]["Key"]]
    assert new_objects(files, TOPIC, 11, sent) == [files[0]["Key"]]
    assert new_objects(files, TOPIC, 11, sent + timedelta(seconds=1)) == []


def test_tally_counts_only_the_acknowledged_range() -> None:
    tally = LandingTally(first=12, last=14)
    lines = [b'{"index": %d}' % i for i in (100, 101, 102, 103, 104)]
    tally.add_object(SinkObject(10, "k", 0), iter(lines), "index")
    assert tally.complete
    assert dict(tally.found) == {"102": 1, "103": 1, "104": 1}


def test_duplicates_and_missing_are_counted_by_key() -> None:
    tally = LandingTally(first=0, last=3)
    lines = [b'{"ind": 1}', b'{"ind": 2}', b'{"ind": 2}', b'{"ind": 9}']
    tally.add_object(SinkObject(0, "k", 0), iter(lines), "ind")
    result = judge("t.geo", [1, 2, 3], acknowledged=4, tallies=[tally])
    assert (result.landed, result.duplicates, result.unexpected) == (4, 1, 1)
    assert result.missing == ("3",)
    assert not result.ok


def test_a_line_without_the_id_is_a_clear_error() -> None:
    tally = LandingTally(first=0, last=0)
    with pytest.raises(ValueError, match="offset 0 of s3 object k is not a JSON object"):
        tally.add_object(SinkObject(0, "k", 0), iter([b"not json"]), "ind")

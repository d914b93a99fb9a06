from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

from kafka_rest import (
    RecordEncodingError,
    dumps_compact,
    dumps_record,
    encode_record,
    encoding,
    to_json_value,
)
from kafka_rest.encoding import encoded_size


class TestEncodeRecord:
    def test_plain_values_pass_through(self):
        record = {"s": "é", "i": 7, "f": 1.5, "t": True, "n": None}

        encoded = encode_record(record)

        assert encoded == record
        assert encoded["t"] is True

    def test_datetimes_become_iso_8601(self):
        record = {
            "naive": datetime.datetime(2021, 3, 4, 5, 6, 7),
            "aware": datetime.datetime(2021, 3, 4, 5, 6, 7, 123000, tzinfo=datetime.UTC),
            "day": datetime.date(2020, 1, 31),
            "clock": datetime.time(23, 59, 1),
        }

        assert encode_record(record) == {
            "naive": "2021-03-04T05:06:07",
            "aware": "2021-03-04T05:06:07.123000+00:00",
            "day": "2020-01-31",
            "clock": "23:59:01",
        }

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (Decimal("42"), 42),
            (Decimal("1E+2"), 100),
            (Decimal("-0.00"), 0),
            (Decimal("3.25"), 3.25),
        ],
    )
    def test_decimals_become_numbers(self, value, expected):
        encoded = encode_record({"amount": value})["amount"]

        assert encoded == expected
        assert type(encoded) is type(expected)

    @pytest.mark.parametrize(
        "value",
        [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), Decimal("Infinity")],
    )
    def test_nan_and_infinity_are_refused_with_the_column(self, value):
        with pytest.raises(RecordEncodingError, match="'latitude'") as info:
            encode_record({"ok": 1, "latitude": value})

        assert info.value.column == "latitude"
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, TypeError)

    @pytest.mark.parametrize(
        ("value", "type_name"),
        [
            (b"\x00\x01", "bytes"),
            (bytearray(b"x"), "bytearray"),
            (memoryview(b"x"), "memoryview"),
            ({"a", "b"}, "set"),
            (frozenset({1}), "frozenset"),
            (1 + 2j, "complex"),
            (object(), "object"),
            (datetime.timedelta(seconds=3), "timedelta"),
        ],
    )
    def test_values_json_cannot_hold_are_refused(self, value, type_name):
        with pytest.raises(RecordEncodingError) as info:
            encode_record({"payload": value})

        assert info.value.column == "payload"
        assert info.value.type_name == type_name
        assert "'payload'" in str(info.value)
        assert type_name in str(info.value)

    def test_nested_values_are_encoded_and_named_by_path(self):
        record = {"meta": {"seen": datetime.date(2022, 2, 2), "tags": ["a", ("b", Decimal("2"))]}}

        assert encode_record(record) == {"meta": {"seen": "2022-02-02", "tags": ["a", ["b", 2]]}}

        with pytest.raises(RecordEncodingError, match=r"'meta\.tags\[2\]'"):
            encode_record({"meta": {"tags": ["a", "b", b"raw"]}})

    def test_non_string_keys_are_refused(self):
        with pytest.raises(RecordEncodingError, match="'meta'"):
            encode_record({"meta": {1: "one"}})
        with pytest.raises(RecordEncodingError, match="column names must be strings"):
            encode_record({1: "one"})

    def test_a_record_must_be_a_mapping(self):
        with pytest.raises(TypeError, match="got list"):
            encode_record([("a", 1)])  # type: ignore[arg-type]


class TestDumps:
    def test_compact_and_keeps_non_ascii(self):
        value = {"title": "Café ☕", "n": [1, 2]}

        text = dumps_compact(value)

        assert text == '{"title":"Café ☕","n":[1,2]}'
        assert encoded_size(value) == len(text.encode("utf-8"))
        assert encoded_size(value) > len(text)

    def test_refuses_nan(self):
        with pytest.raises(ValueError, match="JSON"):
            dumps_compact({"x": float("nan")})

    def test_round_trip(self):
        encoded = to_json_value({"when": datetime.datetime(2020, 1, 1)}, "row")

        assert json.loads(dumps_compact(encoded)) == {"when": "2020-01-01T00:00:00"}


PARITY_ROWS = [
    {"a": 1, "b": "x é 😀", "c": None, "d": True, "e": 2.5},
    {"when": datetime.datetime(2020, 1, 2, 3, 4, 5), "day": datetime.date(2021, 5, 6)},
    {"price": Decimal("3.25"), "whole": Decimal("7"), "at": datetime.time(1, 2)},
    {"nested": {"x": [1, 2, {"y": Decimal("1.5")}]}, "tup": (1, "a")},
    {"quote": 'say "hi"\\ \n\t\x00', "big": 2**70, "neg": -0.0, "tiny": 1e-300},
    {},
]


@pytest.fixture(params=["one C encoder", "JSONEncoder"])
def flat_encoder(request, monkeypatch):
    """Run a test with the shared C encoder, and again with the fallback without it."""
    if request.param == "JSONEncoder":
        monkeypatch.setattr(encoding, "_C_FLAT_ENCODER", None)
    elif encoding._C_FLAT_ENCODER is None:
        pytest.skip("this Python's json module has no C encoder")
    return request.param


@pytest.mark.parametrize("row", PARITY_ROWS)
def test_dumps_record_gives_the_same_text_as_the_slow_path(row, flat_encoder):
    assert dumps_record(row) == dumps_compact(encode_record(row))


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ({"ok": 1, "bad": float("nan")}, "bad"),
        ({"blob": b"\x00"}, "blob"),
        ({"d": Decimal("Infinity")}, "d"),
        ({"tags": {"a", "b"}}, "tags"),
        ({"n": {"x": float("inf")}}, "n.x"),
    ],
)
def test_dumps_record_refuses_what_the_slow_path_refuses_naming_the_column(
    row, column, flat_encoder
):
    with pytest.raises(RecordEncodingError) as info:
        dumps_record(row)
    assert info.value.column == column


def test_dumps_record_refuses_non_string_column_names():
    with pytest.raises(RecordEncodingError):
        dumps_record({1: "a"})

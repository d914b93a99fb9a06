from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import pytest

from include.pinterest.extract import MissingRowsError, iter_rows, select_rows_sql, write_json_lines
from include.pinterest.tables import GEO, PIN, quote_identifier


class RecordingCursor:
    """Answers queries from an in-memory table and records what it was asked."""

    def __init__(self, rows: dict[int, tuple[Any, ...]]) -> None:
        self.rows = rows
        self.queries: list[tuple[str, list[Any]]] = []
        self._result: list[tuple[Any, ...]] = []

    def execute(self, query: str, args: Sequence[Any]) -> None:
        self.queries.append((query, list(args)))
        self._result = [self.rows[i] for i in args if i in self.rows]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._result


def test_query_quotes_every_identifier_and_binds_every_value() -> None:
    sql = select_rows_sql(PIN, 3)
    assert sql.startswith("SELECT `index`, `unique_id`")
    assert sql.endswith("FROM `pinterest_data` WHERE `index` IN (%s, %s, %s)")


def test_identifiers_outside_the_allowlist_are_refused() -> None:
    with pytest.raises(ValueError, match="not an allowlisted"):
        quote_identifier("users; DROP TABLE x")


def test_rows_come_in_batch_order_in_chunks() -> None:
    rows = {i: (i, f"2020-01-0{i % 9 + 1}", 1.0, 2.0, "Chad") for i in range(10)}
    cursor = RecordingCursor(rows)
    got = list(iter_rows(cursor, GEO, [7, 3, 9, 1], ids_per_query=3))
    assert [row["ind"] for row in got] == [7, 3, 9, 1]
    assert [args for _, args in cursor.queries] == [[7, 3, 9], [1]]
    assert got[0]["country"] == "Chad"


def test_missing_rows_name_the_table_and_ids() -> None:
    cursor = RecordingCursor({1: (1, None, None, None, None)})
    with pytest.raises(MissingRowsError, match=r"2 events .* geolocation_data \(ind 4, 5\)"):
        list(iter_rows(cursor, GEO, [1, 4, 5]))


def test_json_lines_are_written_one_per_row() -> None:
    sink = io.BytesIO()
    count, size = write_json_lines(iter([{"a": 1}, {"a": "é"}]), sink, json.dumps)
    assert (count, size) == (2, len(sink.getvalue()))
    assert [json.loads(line) for line in sink.getvalue().splitlines()] == [{"a": 1}, {"a": "é"}]

"""Reading a batch's rows from one table and writing them out as JSON Lines."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, Protocol

from include.pinterest.tables import Table, quote_identifier

log = logging.getLogger(__name__)

DEFAULT_IDS_PER_QUERY = 1_000


class Cursor(Protocol):
    """The part of a DB-API cursor that extraction uses."""

    def execute(self, query: str, args: Sequence[Any]) -> Any:
        """Run ``query`` with bound ``args``."""

    def fetchall(self) -> Sequence[Sequence[Any]]:
        """Return every row of the last query."""


class MissingRowsError(LookupError):
    """Some events of the batch have no row in a table."""


def select_rows_sql(table: Table, id_count: int) -> str:
    """Return a query for ``table``'s columns of ``id_count`` events, with bound placeholders.

    :raises ValueError: if ``id_count`` is not positive.
    """
    if id_count < 1:
        raise ValueError(f"id_count must be positive, got {id_count}")
    columns = ", ".join(quote_identifier(column) for column in table.columns)
    placeholders = ", ".join(["%s"] * id_count)
    return (
        f"SELECT {columns} FROM {quote_identifier(table.name)}"
        f" WHERE {quote_identifier(table.id_column)} IN ({placeholders})"
    )


def iter_rows(
    cursor: Cursor,
    table: Table,
    event_ids: Sequence[int],
    ids_per_query: int = DEFAULT_IDS_PER_QUERY,
) -> Iterator[dict[str, Any]]:
    """Yield ``table``'s row of each event in ``event_ids``, in that order, as column -> value.

    Rows are fetched ``ids_per_query`` events at a time, so memory does not grow with the batch.

    :raises MissingRowsError: if an event has no row in ``table``, naming the table and ids.
    """
    id_position = table.columns.index(table.id_column)
    for start in range(0, len(event_ids), ids_per_query):
        chunk = event_ids[start : start + ids_per_query]
        cursor.execute(select_rows_sql(table, len(chunk)), list(chunk))
        by_id = {row[id_position]: row for row in cursor.fetchall()}
        missing = [event_id for event_id in chunk if event_id not in by_id]
        if missing:
            shown = ", ".join(str(event_id) for event_id in missing[:10])
            raise MissingRowsError(
                f"{len(missing)} events of the batch have no row in {table.name} "
                f"({table.id_column} {shown}{', ...' if len(missing) > 10 else ''})"
            )
        for event_id in chunk:
            yield dict(zip(table.columns, by_id[event_id], strict=True))


def write_json_lines(
    rows: Iterator[Mapping[str, Any]],
    sink: IO[bytes],
    to_json: Callable[[Mapping[str, Any]], str],
) -> tuple[int, int]:
    """Write each row as one line of JSON to ``sink``; return (rows written, bytes written).

    :raises: whatever ``to_json`` raises for a value JSON cannot hold.
    """
    count = 0
    size = 0
    for row in rows:
        line = to_json(row).encode() + b"\n"
        sink.write(line)
        count += 1
        size += len(line)
    return count, size

"""The seed data as a SQL script: the schema, then multi-row INSERT statements.

The script is meant for a MySQL container's init step (``/docker-entrypoint-initdb.d``), fed to
the ``mysql`` client, and gives the same rows as :func:`include.seed.loader.load_events` for the
same count and seed. Its literals read the same whatever the server's ``sql_mode``: strings that
hold a backslash or a control character other than newline and tab are written as hexadecimal
``_utf8mb4`` literals, every other string as a quoted literal with quotes doubled.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Final, TextIO

from include.seed.generator import TABLES, Event, SqlValue, Table, event_batches
from include.seed.schema import schema_sql

STATEMENT_EVENTS: Final = 500
_PLAIN_CONTROLS: Final = frozenset("\n\t")


def quote_identifier(name: str) -> str:
    """Return ``name`` backquoted, as MySQL needs for reserved words such as ``index``.

    :raises ValueError: if ``name`` holds a backquote or is empty.
    """
    if not name or "`" in name:
        raise ValueError(f"unsafe SQL identifier: {name!r}")
    return f"`{name}`"


def sql_literal(value: SqlValue) -> str:
    """Return ``value`` as a MySQL and MariaDB literal that reads back as the same value.

    Floats are written as ``repr`` with an exponent, as ``mysqlclient`` sends them, so that
    the server reads a double and not a decimal.

    :raises ValueError: for a float that is not finite or a datetime with a time zone.
    :raises TypeError: for any other type, ``bool`` included.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        raise TypeError("bool is not a column value here: use 0 or 1")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be stored in MySQL")
        text = repr(value)
        return text if "e" in text else f"{text}e0"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"datetime {value.isoformat()} has a time zone; DATETIME has none")
        return f"'{value.isoformat(sep=' ')}'"
    if isinstance(value, str):
        if "\\" in value or any(ord(c) < 0x20 and c not in _PLAIN_CONTROLS for c in value):
            return f"_utf8mb4 X'{value.encode('utf-8').hex()}'"
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}: {value!r}")


def insert_statement(table: Table, events: Sequence[Event]) -> str:
    """Return one multi-row INSERT of ``table``'s rows of ``events``, ending with ``;``.

    :raises ValueError: if ``events`` is empty, or as :func:`sql_literal`.
    :raises TypeError: as :func:`sql_literal`.
    """
    if not events:
        raise ValueError(f"no rows to insert into {table.name}")
    columns = ", ".join(quote_identifier(column) for column in table.columns)
    rows = ",\n".join(
        "(" + ", ".join(sql_literal(value) for value in table.values(event)) + ")"
        for event in events
    )
    return f"INSERT INTO {quote_identifier(table.name)} ({columns}) VALUES\n{rows};\n"


def sql_script(count: int, seed: int) -> Iterator[str]:
    """Yield the seed script in pieces: a header, the schema, then the INSERT statements.

    Each statement holds the rows of at most :data:`STATEMENT_EVENTS` events, well under the
    servers' default ``max_allowed_packet``.

    :raises ValueError: if ``count`` is negative.
    :raises OSError: if ``schema.sql`` cannot be read.
    """
    yield f"-- Seed data of the Pinterest pipeline: {count} events, seed {seed}.\n"
    yield "-- Written by `python -m include.seed sql`; do not edit.\n"
    yield "SET NAMES utf8mb4;\n\n"
    yield schema_sql()
    yield "\n"
    for batch in event_batches(count, seed, STATEMENT_EVENTS):
        for table in TABLES:
            yield insert_statement(table, batch)


def write_sql(out: TextIO, count: int, seed: int) -> None:
    """Write the whole seed script of :func:`sql_script` to ``out``.

    :raises ValueError: if ``count`` is negative.
    :raises OSError: if ``schema.sql`` cannot be read or ``out`` cannot be written.
    """
    for piece in sql_script(count, seed):
        out.write(piece)

"""Load the seed data into MySQL or MariaDB, once, with bound parameters.

:func:`load_events` applies the schema and fills the three tables only when all three are
empty. Tables that already hold the same number of rows are left alone; tables whose counts
differ are a half-finished or damaged load, and are refused rather than topped up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import MySQLdb

from include.seed.emitter import quote_identifier
from include.seed.generator import TABLES, event_batches
from include.seed.schema import schema_statements

DEFAULT_CHUNK_EVENTS: Final = 1_000
LOCK_TIMEOUT_SECONDS: Final = 60


class SeedError(Exception):
    """The seed data could not be loaded."""


class PartialLoadError(SeedError):
    """The three tables hold different numbers of rows, so an earlier load did not finish.

    :param counts: the row count of each table.
    """

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        listed = ", ".join(f"{table} has {rows} rows" for table, rows in counts.items())
        super().__init__(
            f"the tables are partially loaded ({listed}); empty all three and load again"
        )


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What :func:`load_events` did.

    :param events: events inserted, or the events already present when ``skipped``.
    :param skipped: True when the tables already held data and nothing was inserted.
    :param seconds: wall time of the whole call.
    """

    events: int
    skipped: bool
    seconds: float


def connect(
    *, host: str, port: int, user: str, password: str | None, database: str
) -> MySQLdb.Connection:
    """Open a utf8mb4 connection with autocommit off.

    :raises MySQLdb.OperationalError: if the server cannot be reached or refuses the login.
    """
    return MySQLdb.connect(
        host=host,
        port=port,
        user=user,
        password=password or "",
        database=database,
        charset="utf8mb4",
        connect_timeout=10,
        autocommit=False,
    )


def apply_schema(conn: MySQLdb.Connection) -> None:
    """Create the three tables if they do not exist.

    :raises MySQLdb.Error: if a statement fails.
    """
    with conn.cursor() as cursor:
        for statement in schema_statements():
            cursor.execute(statement)


def table_counts(conn: MySQLdb.Connection) -> dict[str, int]:
    """Return the row count of each of the three tables, in table order.

    :raises MySQLdb.Error: if a table is missing or cannot be read.
    """
    counts = {}
    with conn.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {quote_identifier(table.name)}")
            (counts[table.name],) = cursor.fetchone()
    conn.commit()
    return counts


def load_events(
    conn: MySQLdb.Connection, count: int, seed: int, chunk_events: int = DEFAULT_CHUNK_EVENTS
) -> LoadResult:
    """Apply the schema and, if all three tables are empty, insert ``count`` seeded events.

    Each chunk of ``chunk_events`` events is one transaction holding its rows of all three
    tables, so an interrupted load never leaves an event in one table and not in another.
    A named server lock keeps two loaders of the same database from racing.

    :raises ValueError: if ``count`` is negative or ``chunk_events`` is not positive.
    :raises PartialLoadError: if the tables hold different numbers of rows.
    :raises SeedError: if another loader holds the lock for :data:`LOCK_TIMEOUT_SECONDS`.
    :raises MySQLdb.Error: if a statement fails; the current chunk is rolled back.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    if chunk_events < 1:
        raise ValueError(f"chunk_events must be 1 or more, got {chunk_events}")
    started = time.monotonic()
    apply_schema(conn)
    with _server_lock(conn):
        counts = table_counts(conn)
        if len(set(counts.values())) > 1:
            raise PartialLoadError(counts)
        existing = next(iter(counts.values()))
        if existing:
            return LoadResult(existing, skipped=True, seconds=time.monotonic() - started)
        _insert(conn, count, seed, chunk_events)
    return LoadResult(count, skipped=False, seconds=time.monotonic() - started)


def _insert(conn: MySQLdb.Connection, count: int, seed: int, chunk_events: int) -> None:
    statements = {
        table.name: "INSERT INTO {} ({}) VALUES ({})".format(
            quote_identifier(table.name),
            ", ".join(quote_identifier(column) for column in table.columns),
            ", ".join(["%s"] * len(table.columns)),
        )
        for table in TABLES
    }
    for batch in event_batches(count, seed, chunk_events):
        try:
            with conn.cursor() as cursor:
                for table in TABLES:
                    rows = [table.values(event) for event in batch]
                    cursor.executemany(statements[table.name], rows)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise


@contextmanager
def _server_lock(conn: MySQLdb.Connection) -> Iterator[None]:
    name = "LEFT(CONCAT('pinterest_seed:', DATABASE()), 64)"
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT GET_LOCK({name}, %s)", (LOCK_TIMEOUT_SECONDS,))
        (acquired,) = cursor.fetchone()
    if acquired != 1:
        raise SeedError(
            f"another seed loader held the lock for {LOCK_TIMEOUT_SECONDS} s; "
            "wait for it to finish and run again"
        )
    try:
        yield
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT RELEASE_LOCK({name})")
            cursor.fetchall()

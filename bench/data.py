"""The benchmarks' data: real rows from the stack's MySQL, and extra events for the scale runs.

The benchmarks use a database of their own, ``pinterest_bench`` (see
:func:`bench.common.stack_env`), created and seeded like the stack's (11,000 events, seed 42)
on first use, so nothing they add reaches ``pinterest_data``. The scale benchmark adds the
events it lacks to its three tables, with ids from :data:`BENCH_ID_BASE` up, far above the
seed's. The rows come from the seed generator
(:func:`include.seed.generator.generate_events`, seed :data:`BENCH_SEED`) with their ids
shifted; each chunk of events is one transaction over the three tables, so the tables never
disagree on how many rows they hold. Adding is idempotent (only what is missing is added) and
:func:`remove_events` deletes them again, leaving the tables as the seed made them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import MySQLdb

from include.pinterest.batch import complete_event_ids_sql
from include.pinterest.tables import PIN, Table, quote_identifier
from include.seed.generator import TABLES as SEED_TABLES
from include.seed.generator import generate_events
from include.seed.loader import load_events

#: First id of the events the benchmarks add; the seed's ids stay far below it.
BENCH_ID_BASE = 10_000_000
BENCH_SEED = 20260
#: The stack's own seed, loaded into the benchmarks' database first.
SEED_EVENTS = 11_000
SEED = 42
CHUNK_EVENTS = 2_000


@contextmanager
def mysql() -> Iterator[MySQLdb.Connection]:
    """Open a connection to the stack's MySQL with the ``pinterest_mysql`` connection."""
    conn_info = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_MYSQL"])
    conn = MySQLdb.connect(
        host=conn_info["host"],
        port=int(conn_info["port"]),
        user=conn_info["login"],
        password=conn_info["password"],
        database=conn_info["schema"],
        charset="utf8mb4",
        autocommit=False,
    )
    try:
        yield conn
    finally:
        conn.close()


def complete_events(conn: MySQLdb.Connection) -> int:
    """Return how many events have a row in all three tables."""
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({complete_event_ids_sql()}) AS complete_events")
        (count,) = cursor.fetchone()
    conn.commit()
    return int(count)


def bench_events(conn: MySQLdb.Connection) -> int:
    """Return how many events the benchmarks added (rows of ``pinterest_data`` above the base)."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {quote_identifier(PIN.name)} "
            f"WHERE {quote_identifier(PIN.id_column)} >= %s",
            (BENCH_ID_BASE,),
        )
        (count,) = cursor.fetchone()
    conn.commit()
    return int(count)


def prepare_database() -> None:
    """Create the benchmarks' database with the stack's seed if it does not exist yet."""
    conn_info = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_MYSQL"])
    server = MySQLdb.connect(
        host=conn_info["host"],
        port=int(conn_info["port"]),
        user=conn_info["login"],
        password=conn_info["password"],
        charset="utf8mb4",
    )
    try:
        with server.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS {quote_identifier_name(conn_info['schema'])} "
                "CHARACTER SET utf8mb4"
            )
    finally:
        server.close()
    with mysql() as conn:
        load_events(conn, SEED_EVENTS, SEED)


def quote_identifier_name(name: str) -> str:
    """Return a database name backquoted, refusing anything but letters, digits and '_'."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected database name {name!r}")
    return f"`{name}`"


def ensure_events(needed: int) -> dict[str, Any]:
    """Add events until at least ``needed`` are complete; return what was there and added."""
    started = time.monotonic()
    prepare_database()
    with mysql() as conn:
        before = complete_events(conn)
        already = bench_events(conn)
        missing = max(needed - before, 0)
        if missing:
            _insert(conn, already, missing)
        after = complete_events(conn) if missing else before
    return {
        "complete_before": before,
        "added": missing,
        "complete_after": after,
        "seconds": round(time.monotonic() - started, 1),
    }


def remove_events() -> int:
    """Delete every event the benchmarks added, in one transaction; return how many."""
    with mysql() as conn:
        removed = bench_events(conn)
        with conn.cursor() as cursor:
            for table in SEED_TABLES:
                cursor.execute(
                    f"DELETE FROM {quote_identifier(table.name)} "
                    f"WHERE {quote_identifier(table.key)} >= %s",
                    (BENCH_ID_BASE,),
                )
        conn.commit()
    return removed


def _insert(conn: MySQLdb.Connection, already: int, count: int) -> None:
    statements = {
        table.name: "INSERT IGNORE INTO {} ({}) VALUES ({})".format(
            quote_identifier(table.name),
            ", ".join(quote_identifier(column) for column in table.columns),
            ", ".join(["%s"] * len(table.columns)),
        )
        for table in SEED_TABLES
    }
    events = islice(generate_events(already + count, BENCH_SEED), already, None)
    number = already
    while chunk := list(islice(events, CHUNK_EVENTS)):
        try:
            with conn.cursor() as cursor:
                for table in SEED_TABLES:
                    key_at = table.columns.index(table.key)
                    rows = []
                    for offset, event in enumerate(chunk):
                        values = list(table.values(event))
                        values[key_at] = BENCH_ID_BASE + number + offset
                        rows.append(tuple(values))
                    cursor.executemany(statements[table.name], rows)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        number += len(chunk)


def fetch_rows(table: Table, count: int) -> list[dict[str, Any]]:
    """Return the first ``count`` rows of ``table`` by event id, as column -> value."""
    columns = ", ".join(quote_identifier(column) for column in table.columns)
    with mysql() as conn, conn.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {quote_identifier(table.name)} "
            f"ORDER BY {quote_identifier(table.id_column)} LIMIT %s",
            (count,),
        )
        rows = [dict(zip(table.columns, row, strict=True)) for row in cursor.fetchall()]
    if len(rows) < count:
        raise ValueError(f"{table.name} holds {len(rows)} rows, fewer than the {count} needed")
    return rows

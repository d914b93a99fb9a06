"""The benchmarks' data: a database of their own, and real rows read from it.

The benchmarks read and fill ``pinterest_bench`` (see :func:`bench.common.stack_env`), never the
stack's ``pinterest_data``. It holds the seed generator's events (the stack's seed), as many as
the largest benchmark needs: it is reloaded, larger, only when it holds fewer, and kept between
runs, so a second ``make bench`` starts at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import MySQLdb

from include.pinterest.batch import complete_event_ids_sql
from include.pinterest.tables import TABLES, Table, quote_identifier
from include.seed.loader import apply_schema, connect, load_events

#: The stack's own seed.
SEED = 42


@contextmanager
def mysql(database: str | None = None) -> Iterator[MySQLdb.Connection]:
    """Connect with the ``pinterest_mysql`` connection, to its database or to ``database``."""
    info = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_MYSQL"])
    conn = connect(
        host=info["host"],
        port=int(info["port"]),
        user=info["login"],
        password=info["password"],
        database=database or info["schema"],
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


def ensure_events(needed: int) -> dict[str, Any]:
    """Make the benchmarks' database hold at least ``needed`` events; say what was done.

    :raises ValueError: if the connection's database name is not a plain identifier.
    """
    started = time.monotonic()
    name = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_MYSQL"])["schema"]
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected database name {name!r}")
    with mysql("information_schema") as server, server.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    with mysql() as conn:
        apply_schema(conn)
        before = complete_events(conn)
        loaded = 0
        if before < needed:
            with conn.cursor() as cursor:
                for table in TABLES:
                    cursor.execute(f"TRUNCATE TABLE {quote_identifier(table.name)}")
            load_events(conn, needed, SEED)
            loaded = needed
    return {
        "database": name,
        "complete_before": before,
        "loaded": loaded,
        "seconds": round(time.monotonic() - started, 1),
    }


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

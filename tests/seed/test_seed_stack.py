"""The seed loader and SQL script against the stack's MySQL.

The stack's user may only use the database ``pinterest_data``, already seeded. Tests that
load rows do it into session-scoped TEMPORARY tables of the same names, which hide the real
tables from that one connection and vanish with it; each such test first checks that the
tables it sees are empty, so it can never write to the real ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from include.seed.emitter import quote_identifier, sql_script
from include.seed.generator import DEFAULT_EVENTS, DEFAULT_SEED, TABLES, SqlValue, generate_events
from include.seed.loader import PartialLoadError, load_events, table_counts
from include.seed.schema import schema_statements
from tests.seed.mysql import MySqlSettings

pytestmark = pytest.mark.stack

REPO = Path(__file__).resolve().parents[2]
Rows = dict[str, list[tuple[SqlValue, ...]]]


def expected_rows(count: int, seed: int) -> Rows:
    rows: Rows = {table.name: [] for table in TABLES}
    for event in generate_events(count, seed):
        for table in TABLES:
            rows[table.name].append(table.values(event))
    return rows


def read_rows(conn: Any, limit: int | None = None) -> Rows:
    rows: Rows = {}
    with conn.cursor() as cursor:
        for table in TABLES:
            columns = ", ".join(quote_identifier(c) for c in table.columns)
            query = (
                f"SELECT {columns} FROM {quote_identifier(table.name)} "
                f"ORDER BY {quote_identifier(table.key)}"
            )
            if limit is not None:
                query += f" LIMIT {int(limit)}"
            cursor.execute(query)
            rows[table.name] = [tuple(row) for row in cursor.fetchall()]
    conn.commit()
    return rows


@contextmanager
def temporary_tables(conn: Any) -> Iterator[None]:
    """Hide the three tables behind empty TEMPORARY copies for this connection only."""
    with conn.cursor() as cursor:
        for statement in schema_statements():
            cursor.execute(
                statement.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMPORARY TABLE", 1)
            )
    try:
        assert set(table_counts(conn).values()) == {0}, "temporary tables do not hide the real"
        yield
    finally:
        with conn.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"DROP TEMPORARY TABLE IF EXISTS {quote_identifier(table.name)}")


def run_cli(settings: MySqlSettings, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "include.seed",
            "load",
            "--host",
            settings.host,
            "--port",
            str(settings.port),
            "--user",
            settings.user,
            "--database",
            settings.database,
        ],
        cwd=REPO,
        env={**os.environ, "MYSQL_PWD": password},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_stack_tables_hold_the_seeded_events(stack_conn: Any) -> None:
    count = int(os.environ.get("PINTEREST_SEED_EVENTS", DEFAULT_EVENTS))
    seed = int(os.environ.get("PINTEREST_SEED", DEFAULT_SEED))
    assert table_counts(stack_conn) == {table.name: count for table in TABLES}
    assert read_rows(stack_conn) == expected_rows(count, seed)


@pytest.mark.parametrize("sql_mode", ["", "NO_BACKSLASH_ESCAPES"])
def test_sql_script_gives_the_loaders_rows(stack_conn: Any, sql_mode: str) -> None:
    expected = expected_rows(2000, 7)
    with temporary_tables(stack_conn):
        result = load_events(stack_conn, 2000, 7, chunk_events=300)
        loaded = read_rows(stack_conn)
        with stack_conn.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"TRUNCATE TABLE {quote_identifier(table.name)}")
            cursor.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',', %s)", (sql_mode,))
            for piece in sql_script(2000, 7):
                if piece.startswith("INSERT"):
                    cursor.execute(piece)
        stack_conn.commit()
        scripted = read_rows(stack_conn)
    assert (result.events, result.skipped) == (2000, False)
    assert loaded == expected
    assert scripted == loaded


def test_loader_skips_full_tables_and_refuses_partial_ones(stack_conn: Any) -> None:
    with temporary_tables(stack_conn):
        load_events(stack_conn, 50, 3)
        again = load_events(stack_conn, 80, 3)
        with stack_conn.cursor() as cursor:
            cursor.execute("DELETE FROM `user_data` ORDER BY `ind` DESC LIMIT 1")
        stack_conn.commit()
        with pytest.raises(PartialLoadError, match="user_data has 49 rows") as caught:
            load_events(stack_conn, 50, 3)
    assert (again.events, again.skipped) == (50, True)
    assert caught.value.counts == {"pinterest_data": 50, "geolocation_data": 50, "user_data": 49}


def test_schema_holds_long_text_emoji_and_nulls(stack_conn: Any) -> None:
    description = "😍 Crème brûlée \\ 'quoted' " * 3000
    with temporary_tables(stack_conn):
        with stack_conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO `pinterest_data` (`index`, `description`, `title`) "
                "VALUES (%s, %s, %s)",
                (1, description, None),
            )
            cursor.execute("SELECT `description`, `title` FROM `pinterest_data`")
            stored = cursor.fetchone()
        stack_conn.rollback()
    assert len(description.encode("utf-8")) > 65_535
    assert stored == (description, None)


def test_cli_skips_loaded_tables_and_never_prints_the_password(
    mysql_settings: MySqlSettings,
) -> None:
    loaded = run_cli(mysql_settings, mysql_settings.password)
    refused = run_cli(mysql_settings, "wrong-password-7f3a")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("skipped: ")
    assert refused.returncode == 1
    assert "Access denied" in refused.stderr
    outputs = loaded.stdout + loaded.stderr + refused.stdout + refused.stderr
    assert "wrong-password-7f3a" not in outputs
    if mysql_settings.password:
        assert mysql_settings.password not in outputs


def test_sql_script_through_the_mysql_client(
    mysql_settings: MySqlSettings, scratch_database: str
) -> None:
    client = shutil.which("mysql") or shutil.which("mariadb")
    if client is None:
        pytest.skip("no mysql or mariadb command-line client on PATH")
    script = "".join(sql_script(2000, 7)).encode("utf-8")
    subprocess.run(
        [
            client,
            "--no-defaults",
            f"--host={mysql_settings.host}",
            f"--port={mysql_settings.port}",
            f"--user={mysql_settings.user}",
            scratch_database,
        ],
        input=script,
        env={**os.environ, "MYSQL_PWD": mysql_settings.password},
        capture_output=True,
        check=True,
        timeout=120,
    )
    conn = mysql_settings.connect(scratch_database)
    try:
        assert read_rows(conn) == expected_rows(2000, 7)
    finally:
        conn.close()

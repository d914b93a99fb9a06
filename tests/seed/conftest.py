"""Fixtures for the seed tests that need the stack's MySQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import MySQLdb
import pytest

from include.seed.loader import connect

CONN_VAR = "AIRFLOW_CONN_PINTEREST_MYSQL"


@dataclass(frozen=True)
class MySqlSettings:
    """Where the stack's MySQL is, from the Airflow connection ``pinterest_mysql``."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def connect(self, database: str | None = None) -> Any:
        """Open a connection to ``database``, by default the connection's schema."""
        return connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database or self.database,
        )


def parse_connection(value: str) -> MySqlSettings:
    """Read an Airflow connection given as JSON or as a ``mysql://`` URI."""
    if value.lstrip().startswith("{"):
        fields = json.loads(value)
        return MySqlSettings(
            host=fields.get("host") or "127.0.0.1",
            port=int(fields.get("port") or 3306),
            user=fields["login"],
            password=fields.get("password") or "",
            database=fields.get("schema") or "pinterest_data",
        )
    uri = urlsplit(value)
    return MySqlSettings(
        host=uri.hostname or "127.0.0.1",
        port=uri.port or 3306,
        user=unquote(uri.username or ""),
        password=unquote(uri.password or ""),
        database=uri.path.lstrip("/") or "pinterest_data",
    )


@pytest.fixture(scope="session")
def mysql_settings() -> MySqlSettings:
    value = os.environ.get(CONN_VAR)
    if not value:
        pytest.skip(f"{CONN_VAR} is not set: start the stack and eval \"$(make -s stack-env)\"")
    return parse_connection(value)


@pytest.fixture
def stack_conn(mysql_settings: MySqlSettings) -> Iterator[Any]:
    conn = mysql_settings.connect()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def scratch_database(mysql_settings: MySqlSettings) -> Iterator[str]:
    """Create an empty database ``pinterest_seed_test``, or skip if the user may not."""
    name = "pinterest_seed_test"
    conn = mysql_settings.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except MySQLdb.OperationalError as e:
        conn.close()
        pytest.skip(f"user {mysql_settings.user} cannot create database {name}: {e}")
    try:
        yield name
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()

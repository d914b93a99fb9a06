"""Fixtures for the seed tests that need the stack's MySQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import MySQLdb
import pytest

from tests.seed.mysql import MySqlSettings, parse_connection

CONN_VAR = "AIRFLOW_CONN_PINTEREST_MYSQL"


@pytest.fixture(scope="session")
def mysql_settings() -> MySqlSettings:
    value = os.environ.get(CONN_VAR)
    if not value:
        pytest.skip(f'{CONN_VAR} is not set: start the stack and eval "$(make -s stack-env)"')
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
    """Create an empty database ``pinterest_test_seed``, or skip if the user may not."""
    name = "pinterest_test_seed"
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

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from include.seed.emitter import (
    STATEMENT_EVENTS,
    quote_identifier,
    sql_literal,
    sql_script,
    write_sql,
)
from include.seed.generator import SqlValue
from include.seed.schema import schema_sql, schema_statements

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (0, "0"),
        (-12, "-12"),
        (-5.34445, "-5.34445e0"),
        (1e-05, "1e-05"),
        (datetime(2020, 4, 27, 13, 34, 16), "'2020-04-27 13:34:16'"),
        (datetime(2020, 4, 27, 13, 34, 16, 500), "'2020-04-27 13:34:16.000500'"),
        ("It's", "'It''s'"),
        ('say "hi"', "'say \"hi\"'"),
        ("two\nlines\tand tab", "'two\nlines\tand tab'"),
        ("café 😍", "'café 😍'"),
        ("¯\\_(ツ)_/¯", "_utf8mb4 X'c2af5c5f28e38384295f2fc2af'"),
        ("nul\x00", "_utf8mb4 X'6e756c00'"),
        ("cr\r", "_utf8mb4 X'63720d'"),
        ("", "''"),
    ],
)
def test_sql_literal(value: SqlValue, literal: str) -> None:
    assert sql_literal(value) == literal


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (True, TypeError, "bool"),
        (float("nan"), ValueError, "nan"),
        (float("inf"), ValueError, "inf"),
        (datetime(2020, 1, 1, tzinfo=UTC), ValueError, "time zone"),
        (b"bytes", TypeError, "bytes"),
    ],
)
def test_sql_literal_refuses(value: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        sql_literal(value)  # type: ignore[arg-type]


def test_quote_identifier() -> None:
    assert quote_identifier("index") == "`index`"
    with pytest.raises(ValueError, match="unsafe SQL identifier"):
        quote_identifier("a`b")


def test_schema_statements() -> None:
    statements = schema_statements()
    assert [s.split("(")[0].strip() for s in statements] == [
        "CREATE TABLE IF NOT EXISTS `pinterest_data`",
        "CREATE TABLE IF NOT EXISTS `geolocation_data`",
        "CREATE TABLE IF NOT EXISTS `user_data`",
    ]
    assert all("utf8mb4" in s and ";" not in s and "--" not in s for s in statements)
    assert "`index` INT NOT NULL" in statements[0]
    assert "`description` MEDIUMTEXT NULL" in statements[0]


def test_script_has_schema_then_chunked_inserts() -> None:
    text = "".join(sql_script(STATEMENT_EVENTS + 1, 42))
    assert text.index("SET NAMES utf8mb4;") < text.index(schema_sql())
    inserts = [line for line in text.splitlines() if line.startswith("INSERT INTO")]
    assert len(inserts) == 6
    assert inserts[0].startswith("INSERT INTO `pinterest_data` (`index`, `unique_id`,")


def test_script_of_no_events_is_only_the_schema() -> None:
    text = "".join(sql_script(0, 42))
    assert "INSERT" not in text
    assert schema_sql() in text


def test_script_is_byte_identical_for_the_same_seed() -> None:
    assert "".join(sql_script(300, 9)) == "".join(sql_script(300, 9))
    assert "".join(sql_script(300, 9)) != "".join(sql_script(300, 10))


def test_cli_sql_writes_the_script_as_utf8() -> None:
    expected = io.StringIO()
    write_sql(expected, 40, 3)
    result = subprocess.run(
        [sys.executable, "-m", "include.seed", "sql", "--events", "40", "--seed", "3"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "LANG": "C"},
        capture_output=True,
        check=True,
    )
    assert result.stdout == expected.getvalue().encode("utf-8")


def test_cli_help_documents_both_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "include.seed", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "load" in result.stdout
    assert "sql" in result.stdout
    assert "MYSQL_PWD" in result.stdout


def test_cli_refuses_negative_events() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "include.seed", "sql", "--events", "-3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "must be 0 or more, got -3" in result.stderr

"""The schema of the three source tables, read from ``include/sql/schema.sql``."""

from __future__ import annotations

from pathlib import Path
from typing import Final

SCHEMA_PATH: Final = Path(__file__).resolve().parent.parent / "sql" / "schema.sql"


def schema_sql() -> str:
    """Return the text of ``schema.sql``.

    :raises OSError: if the file cannot be read.
    """
    return SCHEMA_PATH.read_text(encoding="utf-8")


def schema_statements() -> list[str]:
    """Return the statements of ``schema.sql``, without comments or the final semicolons.

    The file's own rule makes this split safe: a semicolon ends a statement and appears
    nowhere else, and comments are whole lines starting with ``--``.

    :raises OSError: if the file cannot be read.
    """
    lines = [line for line in schema_sql().splitlines() if not line.lstrip().startswith("--")]
    statements = "\n".join(lines).split(";")
    return [statement.strip() for statement in statements if statement.strip()]

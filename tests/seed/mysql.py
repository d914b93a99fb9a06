"""Where the stack's MySQL is, read from the Airflow connection ``pinterest_mysql``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from include.seed.loader import connect


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

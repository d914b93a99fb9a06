"""The three source tables, their columns and the topic each one feeds.

This module is the allowlist: SQL identifiers are only ever taken from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A source table and the Kafka topic kind its rows go to.

    :param name: Table name in MySQL.
    :param id_column: Column holding the event id (the Kafka key).
    :param columns: Every column sent, in table order.
    :param kind: Topic suffix: the topic is ``<user_id>.<kind>``.
    """

    name: str
    id_column: str
    columns: tuple[str, ...]
    kind: str

    def topic(self, user_id: str) -> str:
        """Return the topic this table's rows go to for ``user_id``."""
        return f"{user_id}.{self.kind}"


PIN = Table(
    name="pinterest_data",
    id_column="index",
    columns=(
        "index",
        "unique_id",
        "title",
        "description",
        "poster_name",
        "follower_count",
        "tag_list",
        "is_image_or_video",
        "image_src",
        "downloaded",
        "save_location",
        "category",
    ),
    kind="pin",
)
GEO = Table(
    name="geolocation_data",
    id_column="ind",
    columns=("ind", "timestamp", "latitude", "longitude", "country"),
    kind="geo",
)
USER = Table(
    name="user_data",
    id_column="ind",
    columns=("ind", "first_name", "last_name", "age", "date_joined"),
    kind="user",
)

TABLES: tuple[Table, ...] = (PIN, GEO, USER)
TABLES_BY_KIND: dict[str, Table] = {table.kind: table for table in TABLES}


def table_for_kind(kind: str) -> Table:
    """Return the table that feeds topic kind ``kind``.

    :raises ValueError: if ``kind`` is not one of ``pin``, ``geo``, ``user``.
    """
    try:
        return TABLES_BY_KIND[kind]
    except KeyError:
        known = ", ".join(TABLES_BY_KIND)
        raise ValueError(f"unknown topic kind {kind!r}; expected one of {known}") from None


def quote_identifier(name: str) -> str:
    """Return ``name`` backquoted for MySQL, after checking it is an allowlisted identifier.

    ``index`` is a reserved word, so every identifier is quoted, not only that one.

    :raises ValueError: if ``name`` is not a table or column name of this module.
    """
    allowed = {table.name for table in TABLES} | {c for table in TABLES for c in table.columns}
    if name not in allowed:
        raise ValueError(f"{name!r} is not an allowlisted table or column name")
    return f"`{name}`"

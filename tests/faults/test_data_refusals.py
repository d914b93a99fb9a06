"""Data the pipeline must refuse, with the table, event and column named, before sending.

Each test fills a scratch database (``pinterest_faults_<random>``) and runs the task bodies
in this process against the real MySQL, S3-free staging in a temporary folder and, for the
oversized row, the real REST proxy.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from include.pinterest import tasks
from include.pinterest.params import RunSettings
from kafka_rest import KafkaRestOperator
from kafka_rest.exceptions import KafkaRestError, KafkaRestRecordsRefusedError
from stack.services import Context
from tests.faults.conftest import (
    drop_scratch_database,
    end_offsets,
    insert_rows,
    make_scratch_database,
)
from tests.seed.mysql import parse_connection

log = logging.getLogger(__name__)
pytestmark = pytest.mark.stack

MYSQL = "pinterest_mysql"
BIG = 6 * 1024 * 1024


def _pin(index: int, **values: Any) -> tuple[Any, ...]:
    row = {
        "unique_id": f"00000000-0000-0000-0000-{index:012d}",
        "title": f"title {index}",
        "description": "text",
        "poster_name": "p",
        "follower_count": "1k",
        "tag_list": "a",
        "is_image_or_video": "image",
        "image_src": "https://example.com/i.jpg",
        "downloaded": 1,
        "save_location": "Local save in /data/art",
        "category": "art",
    }
    row.update(values)
    return (index, *row.values())


@pytest.fixture
def scratch(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty scratch database that ``pinterest_mysql`` points at."""
    name, conn = make_scratch_database(env, secrets.token_hex(3))
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_MYSQL", conn)
    try:
        yield name
    finally:
        drop_scratch_database(env, name)


def _batch(tmp_path: Path, event_ids: list[int]) -> str:
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"run_key": "faults", "event_ids": event_ids}))
    return path.as_uri()


def _execute(env: dict[str, str], database: str, statement: str) -> None:
    conn = parse_connection(env["AIRFLOW_CONN_PINTEREST_MYSQL"]).connect(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_empty_tables_are_a_clear_error(scratch: str, ctx: Context, tmp_path: Path) -> None:
    settings = RunSettings("faults", 5, ctx.settings.bucket)

    with pytest.raises(ValueError, match="no post event has a row in all of") as info:
        tasks.choose_batch(settings, MYSQL, tmp_path.as_uri(), "run")

    assert "load the tables first" in str(info.value)
    log.info("empty tables: %s", info.value)


def test_a_binary_value_is_refused_naming_table_event_and_column(
    scratch: str, env: dict[str, str], tmp_path: Path
) -> None:
    _execute(env, scratch, "ALTER TABLE `pinterest_data` MODIFY `title` BLOB NULL")
    insert_rows(env, scratch, {"pinterest_data": [_pin(1), _pin(2, title=b"\x89PNG\x00\xff")]})

    with pytest.raises(tasks.UnsendableRowError) as info:
        tasks.extract_table("pin", MYSQL, _batch(tmp_path, [1, 2]), tmp_path.as_uri())

    assert str(info.value) == (
        "pinterest_data row index=1 cannot be sent: Column 'title' holds a value of type bytes: "
        "binary data has no JSON form; decode or base64-encode it first"
    )


def test_a_row_over_the_request_limit_is_refused_by_key_before_sending(
    scratch: str, env: dict[str, str], tmp_path: Path, ctx: Context, user_id: str
) -> None:
    rows = [_pin(1), _pin(2, description="x" * BIG), _pin(3)]
    insert_rows(env, scratch, {"pinterest_data": rows})
    staged = tasks.extract_table("pin", MYSQL, _batch(tmp_path, [1, 2, 3]), tmp_path.as_uri())
    topic = f"{user_id}.user"
    before = end_offsets(ctx, [topic])

    with pytest.raises(KafkaRestError) as info:
        KafkaRestOperator(
            task_id="post", topic=topic, records=staged["uri"], key_field="index"
        ).execute({})  # type: ignore[arg-type]

    message = str(info.value)
    assert isinstance(info.value, KafkaRestRecordsRefusedError), "Airflow would retry it"
    assert message.startswith(f"1 of 2 records failed for topic '{topic}' (no HTTP answer)")
    assert "record 1 (key '2') is " in message
    assert "over max_bytes_per_request 5242880 on its own; 0 records were acknowledged" in message
    assert end_offsets(ctx, [topic]) == before
    log.info("oversized row: %s", message)


def test_a_zero_datetime_is_read_as_null_by_the_driver(
    scratch: str, env: dict[str, str], tmp_path: Path
) -> None:
    conn = parse_connection(env["AIRFLOW_CONN_PINTEREST_MYSQL"]).connect(scratch)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = ''")
            cursor.execute(
                "INSERT INTO `geolocation_data` VALUES (1, '0000-00-00 00:00:00', 1.5, 2.5, 'x')"
            )
        conn.commit()
    finally:
        conn.close()

    staged = tasks.extract_table("geo", MYSQL, _batch(tmp_path, [1]), tmp_path.as_uri())

    line = Path(staged["uri"].removeprefix("file://")).read_text()
    assert json.loads(line)["timestamp"] is None

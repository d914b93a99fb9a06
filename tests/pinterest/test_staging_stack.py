"""Staged files on the stack's S3: written in bounded parts, read back whole and in order.

A task's memory must not grow with the batch: a staged file is uploaded in parts of
``STAGING_BLOCK_SIZE`` and read back a block at a time. The rows come from a
scratch database of the seed generator's events, large enough for a file of two parts.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from include.pinterest import tasks
from include.pinterest.params import RunSettings
from include.pinterest.staging import STAGING_BLOCK_SIZE
from include.pinterest.tables import PIN
from include.seed.loader import load_events
from kafka_rest.batching import read_json_lines
from tests.seed.mysql import parse_connection

pytestmark = pytest.mark.stack

#: Pin rows are about 620 bytes of JSON: 15,000 of them make a file of more than 8 MiB.
EVENTS = 15_000
CONN_ID = "staging_test_mysql"


@pytest.fixture(scope="module")
def scratch_conn_id() -> Iterator[str]:
    """A MySQL connection to a new database holding ``EVENTS`` seed events; dropped after."""
    value = os.environ.get("AIRFLOW_CONN_PINTEREST_MYSQL")
    if not value:
        pytest.skip("the local stack has not been set up: run make stack-up")
    mysql = parse_connection(value)
    name = f"pinterest_test_staging_{secrets.token_hex(4)}"
    server = mysql.connect()
    try:
        with server.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn = mysql.connect(name)
        try:
            load_events(conn, EVENTS, 7)
        finally:
            conn.close()
        variable = f"AIRFLOW_CONN_{CONN_ID.upper()}"
        os.environ[variable] = json.dumps({**json.loads(value), "schema": name})
        try:
            yield CONN_ID
        finally:
            del os.environ[variable]
    finally:
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


@pytest.fixture
def staging(s3: Any) -> Iterator[tuple[str, str]]:
    """A fresh staging folder in the stack's bucket, as (bucket, URI); emptied after."""
    bucket = os.environ.get("PINTEREST_BUCKET") or "user-128a59195de3-bucket"
    prefix = f"staging/tests/staging-{secrets.token_hex(4)}"
    yield bucket, f"s3://pinterest_s3@{bucket}/{prefix}"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/").get("Contents", [])
    if listed:
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": item["Key"]} for item in listed]}
        )


def test_a_large_staged_file_is_uploaded_in_bounded_parts_and_read_back_whole(
    scratch_conn_id: str, staging: tuple[str, str], s3: Any
) -> None:
    bucket, folder = staging
    settings = RunSettings(user_id="staging-test", batch_size=EVENTS, bucket=bucket)
    batch = tasks.choose_batch(settings, scratch_conn_id, folder, "staging-test")
    staged = tasks.extract_table("pin", scratch_conn_id, batch["uri"], folder)
    assert staged["rows"] == EVENTS
    assert staged["bytes"] > STAGING_BLOCK_SIZE, "the file must need more than one part"

    key = staged["uri"].split(f"{bucket}/", 1)[1]
    attributes = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts"])
    parts = attributes.get("ObjectParts", {}).get("Parts", [])
    assert len(parts) >= 2, f"{key} was uploaded in one piece, not in parts: {attributes}"
    assert sum(part["Size"] for part in parts) == staged["bytes"]

    rows = list(read_json_lines(staged["uri"]))
    assert [row["index"] for row in rows] == tasks.read_batch(batch["uri"])
    longest_line = max(len(tasks.row_to_json(PIN, row).encode()) for row in rows)
    # A part is cut at the first write that reaches the block size: one line over at most.
    assert max(part["Size"] for part in parts) <= STAGING_BLOCK_SIZE + longest_line + 1

"""Bodies of the pinterest_emulation tasks: connection ids in, small summaries out.

Each function does one task's work with Airflow hooks and returns a JSON-able dict small
enough for XCom; rows go through staged files (see :mod:`include.pinterest.staging`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import MySQLdb
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import BotoCoreError, ClientError

from include.pinterest.batch import batch_seed, choose_events, complete_event_ids_sql
from include.pinterest.extract import Cursor, iter_rows, write_json_lines
from include.pinterest.landing import (
    LandingResult,
    LandingTally,
    judge,
    objects_to_read,
    parse_object_key,
    partition_prefix,
)
from include.pinterest.params import RunSettings
from include.pinterest.staging import STAGING_BLOCK_SIZE
from include.pinterest.tables import TABLES, Table, table_for_kind
from kafka_rest.encoding import dumps_record
from kafka_rest.exceptions import RecordEncodingError

log = logging.getLogger(__name__)


class MissingTopicsError(AirflowException):
    """The REST proxy does not list some of the run's topics."""


class BucketUnavailableError(AirflowException):
    """The run's bucket does not exist, or the S3 connection may not use it."""


class SourceDatabaseError(AirflowException):
    """MySQL could not be reached, refused the login, or failed a query."""


class UnsendableRowError(ValueError):
    """A row holds a value that cannot be sent as JSON."""


class LandingError(AirflowException):
    """Acknowledged records were not all found in S3 in time."""


def require_topics(settings: RunSettings, listed: Iterable[str], proxy: str) -> list[str]:
    """Return the run's three topics if the REST proxy at ``proxy`` lists them all.

    :raises MissingTopicsError: naming the topics it does not list.
    """
    wanted = [table.topic(settings.user_id) for table in TABLES]
    available = set(listed)
    missing = [topic for topic in wanted if topic not in available]
    if missing:
        raise MissingTopicsError(
            f"the REST proxy at {proxy} does not list topic(s) {', '.join(missing)}; "
            f"create them (make stack-up does) or check param user_id={settings.user_id!r}"
        )
    return wanted


def require_bucket(s3_conn_id: str, bucket: str) -> None:
    """Check that ``bucket`` exists and that connection ``s3_conn_id`` may use it.

    Some S3-compatible stores create a missing bucket on the first write; checking first
    refuses a mistyped bucket before anything is sent.

    :raises BucketUnavailableError: naming the bucket, the connection and what S3 answered.
    """
    hook = S3Hook(aws_conn_id=s3_conn_id)
    try:
        client = hook.get_conn()
        client.head_bucket(Bucket=bucket)
    except ClientError as err:
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            why = "it does not exist"
        elif status in (401, 403):
            why = "S3 refused the credentials (check its login and password, or the role)"
        else:
            why = f"S3 answered HTTP {status}: {err}"
        raise BucketUnavailableError(
            f"bucket {bucket!r} cannot be used through connection {s3_conn_id!r}: {why}"
        ) from err
    except BotoCoreError as err:
        raise BucketUnavailableError(
            f"S3 cannot be reached through connection {s3_conn_id!r} to check bucket "
            f"{bucket!r}: {err}"
        ) from err


@contextmanager
def _mysql_errors(mysql_conn_id: str, what: str) -> Iterator[None]:
    try:
        yield
    except MySQLdb.Error as err:
        conn = MySqlHook.get_connection(mysql_conn_id)
        where = f"{conn.host}:{conn.port or 3306}, database {conn.schema!r}"
        raise SourceDatabaseError(
            f"MySQL ({where}, connection {mysql_conn_id!r}) failed while {what}: {err}"
        ) from err


def choose_batch(
    settings: RunSettings, mysql_conn_id: str, staging: str, run_key: str
) -> dict[str, Any]:
    """Choose the run's events, stage their ids as ``batch.json`` and describe the batch.

    :param run_key: Text naming the run (its logical date, or its id); the same key always
        gives the same events from the same tables.
    :raises ValueError: if no event has a row in all three tables.
    :raises SourceDatabaseError: if MySQL cannot be reached or fails the query.
    """
    started = time.monotonic()
    with _mysql_errors(mysql_conn_id, "listing the events of the three tables"):
        rows = MySqlHook(mysql_conn_id=mysql_conn_id).get_records(complete_event_ids_sql())
    available = [int(row[0]) for row in rows]
    chosen = choose_events(available, settings.batch_size, batch_seed(settings.user_id, run_key))
    path = ObjectStoragePath(staging) / "batch.json"
    with path.open("w") as handle:
        json.dump({"run_key": run_key, "event_ids": chosen}, handle)
    seconds = time.monotonic() - started
    log.info(
        "Chose %d of %d complete events (run key %s) in %.1f s; staged at %s",
        len(chosen),
        len(available),
        run_key,
        seconds,
        path,
    )
    if len(chosen) < settings.batch_size:
        log.warning("batch_size=%d but only %d events exist", settings.batch_size, len(chosen))
    return {"uri": str(path), "events": len(chosen), "available": len(available)}


def read_batch(uri: str) -> list[int]:
    """Return the event ids staged at ``uri`` by :func:`choose_batch`."""
    with ObjectStoragePath(uri).open("r") as handle:
        return [int(event_id) for event_id in json.load(handle)["event_ids"]]


def row_to_json(table: Table, row: Mapping[str, Any]) -> str:
    """Return ``row`` as compact JSON.

    :raises UnsendableRowError: naming the table, the event and the column whose value JSON
        cannot hold.
    """
    try:
        return dumps_record(row)
    except RecordEncodingError as err:
        raise UnsendableRowError(
            f"{table.name} row {table.id_column}={row.get(table.id_column)!r} cannot be sent: {err}"
        ) from err


def extract_table(kind: str, mysql_conn_id: str, batch_uri: str, staging: str) -> dict[str, Any]:
    """Read the batch's rows of the table feeding ``kind`` and stage them as JSON Lines.

    :raises MissingRowsError: if an event of the batch has no row in the table.
    :raises UnsendableRowError: if a row holds a value JSON cannot hold.
    :raises SourceDatabaseError: if MySQL cannot be reached or fails a query.
    """
    table = table_for_kind(kind)
    event_ids = read_batch(batch_uri)
    started = time.monotonic()
    path = ObjectStoragePath(staging) / f"{table.name}.jsonl"
    with _mysql_errors(mysql_conn_id, f"reading {table.name}"):
        connection = MySqlHook(mysql_conn_id=mysql_conn_id).get_conn()
        try:
            cursor = cast("Cursor", connection.cursor())
            rows = iter_rows(cursor, table, event_ids)
            with path.open("wb", block_size=STAGING_BLOCK_SIZE) as sink:
                count, size = write_json_lines(rows, sink, lambda row: row_to_json(table, row))
        finally:
            connection.close()
    seconds = time.monotonic() - started
    log.info(
        "Extracted %d rows (%d bytes of JSON) from %s in %.1f s; staged at %s",
        count,
        size,
        table.name,
        seconds,
        path,
    )
    return {"uri": str(path), "table": table.name, "rows": count, "bytes": size}


def verify_landing(
    settings: RunSettings,
    s3_conn_id: str,
    batch_uri: str,
    post_summaries: Mapping[str, Mapping[str, Any]],
    timeout: float,
    poll_interval: float = 2.0,
) -> dict[str, Any]:
    """Check that every acknowledged record of the run landed in S3; return the counts per topic.

    Objects are read until every acknowledged offset has been found, or ``timeout`` seconds.

    :raises LandingError: if a chosen event or an acknowledged offset was not found, with the
        per-topic counts.
    """
    hook = S3Hook(aws_conn_id=s3_conn_id)
    event_ids = read_batch(batch_uri)
    started = time.monotonic()
    results: list[LandingResult] = []
    for kind, summary in post_summaries.items():
        table = table_for_kind(kind)
        tallies = {
            int(partition): LandingTally(first=int(span["first"]), last=int(span["last"]))
            for partition, span in summary["offsets"].items()
        }
        _read_until_complete(
            hook, settings.bucket, summary["topic"], table, tallies, started, timeout, poll_interval
        )
        results.append(
            judge(
                summary["topic"], event_ids, int(summary["records_acknowledged"]), tallies.values()
            )
        )
    for result in results:
        log.info(
            "Topic %s: %d events chosen, %d acknowledged, %d landed, %d missing, "
            "%d duplicates, %d unexpected, %d objects read",
            result.topic,
            result.expected,
            result.acknowledged,
            result.landed,
            result.missing_count,
            result.duplicates,
            result.unexpected,
            result.objects,
        )
    failed = [result for result in results if not result.ok]
    if failed:
        detail = "; ".join(
            f"{r.topic}: {r.landed} of {r.acknowledged} acknowledged records landed, "
            f"{r.missing_count} chosen events missing (first: {', '.join(r.missing[:5]) or '-'})"
            for r in failed
        )
        raise LandingError(
            f"records missing in s3://{settings.bucket} after {timeout:.0f} s: {detail}"
        )
    return {
        "bucket": settings.bucket,
        "seconds": round(time.monotonic() - started, 1),
        "topics": {
            kind: result.as_dict() for kind, result in zip(post_summaries, results, strict=True)
        },
    }


def _read_until_complete(
    hook: S3Hook,
    bucket: str,
    topic: str,
    table: Table,
    tallies: Mapping[int, LandingTally],
    started: float,
    timeout: float,
    poll_interval: float,
) -> None:
    read: set[str] = set()
    while True:
        for partition, tally in tallies.items():
            if tally.complete:
                continue
            keys = hook.list_keys(bucket_name=bucket, prefix=partition_prefix(topic, partition))
            objects = [obj for key in keys if (obj := parse_object_key(key, topic))]
            for obj in objects_to_read(objects, tally.first, tally.last):
                if obj.key in read:
                    continue
                body = hook.get_key(obj.key, bucket_name=bucket).get()["Body"]
                tally.add_object(obj, body.iter_lines(), table.id_column)
                read.add(obj.key)
        if all(tally.complete for tally in tallies.values()):
            return
        if time.monotonic() - started > timeout:
            return
        time.sleep(poll_interval)

"""Fixtures for the fault and bad-input tests, run against the real local stack.

Every test that stops a service starts it again in its teardown and waits until the whole
stack is healthy, because other tests run after it. The tests send to their own topics
(``faults-<random>.pin`` and so on, created here and deleted at the end), so that runs by
other people on the same stack neither disturb nor are disturbed by the offsets checked here.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from include.seed.loader import apply_schema
from stack import launcher
from stack.run_pipeline import latest_run_xcoms
from stack.services import SERVICES, Context
from stack.settings import REPO
from tests.seed.mysql import parse_connection
from tests.support import records_in

DAG_ID = "pinterest_emulation"
KINDS = ("pin", "geo", "user")
ID_COLUMNS = {"pin": "index", "geo": "ind", "user": "ind"}
DAGS_TEST_TIMEOUT = 300


@dataclass(frozen=True)
class DagRun:
    """The outcome of one ``airflow dags test``: exit code, wall seconds, everything printed."""

    code: int
    seconds: float
    output: str


@pytest.fixture(scope="session")
def env() -> dict[str, str]:
    """The environment for ``airflow`` commands against the stack, its database migrated."""
    if "AIRFLOW_CONN_PINTEREST_S3" not in os.environ:
        pytest.skip("the local stack has not been set up: run make stack-up")
    environment = dict(os.environ)
    subprocess.run(
        [str(REPO / ".venv/bin/airflow"), "db", "migrate"],
        env=environment,
        capture_output=True,
        check=True,
    )
    return environment


@pytest.fixture(scope="session")
def ctx() -> Context:
    """The launcher's settings and secrets."""
    return launcher.context()


def healthy(ctx: Context) -> list[str]:
    """Return the names of the services that are not healthy."""
    return [row[0] for row in launcher.status_rows(ctx) if row[4] != "healthy"]


def restore(ctx: Context) -> None:
    """Start every stopped service and wait until the whole stack is healthy."""
    for svc in SERVICES:
        if svc.name in healthy(ctx):
            launcher.start_service(ctx, svc.name)
    deadline = time.monotonic() + 120
    while bad := healthy(ctx):
        if time.monotonic() > deadline:
            raise AssertionError(f"stack not healthy after restore: {bad}")
        time.sleep(1)


@pytest.fixture
def stack(ctx: Context) -> Iterator[Context]:
    """The launcher context, with the stack healthy before the test and again after it."""
    restore(ctx)
    try:
        yield ctx
    finally:
        restore(ctx)


def kafka_conf(ctx: Context) -> dict[str, str]:
    return {"bootstrap.servers": ctx.settings.kafka_bootstrap}


def create_topics(ctx: Context, user_id: str) -> list[str]:
    """Create the three topics of ``user_id`` (one partition each)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    names = [f"{user_id}.{kind}" for kind in KINDS]
    admin = AdminClient(kafka_conf(ctx))
    for future in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        future.result(30)
    return names


def delete_topics(ctx: Context, names: list[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(kafka_conf(ctx))
    for future in admin.delete_topics(names).values():
        future.result(30)


def end_offsets(ctx: Context, topics: list[str]) -> dict[str, int]:
    """Return the end offset of partition 0 of each topic."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**kafka_conf(ctx), "group.id": "faults-offsets"})
    try:
        return {
            topic: consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
            for topic in topics
        }
    finally:
        consumer.close()


@pytest.fixture(scope="session")
def user_id(ctx: Context) -> Iterator[str]:
    """A user id of our own, with its three topics; topics and objects are removed at the end."""
    name = f"faults-{secrets.token_hex(4)}"
    topics = create_topics(ctx, name)
    try:
        yield name
    finally:
        delete_topics(ctx, topics)
        delete_prefix(s3_client(ctx), ctx.settings.bucket, [f"topics/{t}/" for t in topics])


def s3_client(ctx: Context) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=ctx.settings.s3_endpoint,
        aws_access_key_id=ctx.secrets.s3_access_key,
        aws_secret_access_key=ctx.secrets.s3_secret_key,
        region_name="us-east-1",
    )


@pytest.fixture(scope="session")
def s3(ctx: Context) -> Any:
    """A boto3 S3 client for the stack's SeaweedFS."""
    return s3_client(ctx)


def delete_prefix(client: Any, bucket: str, prefixes: list[str]) -> None:
    for prefix in prefixes:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])


def landed(client: Any, bucket: str, topic: str, id_column: str) -> Counter[str]:
    """Count, by event id, the records of every object the sink wrote for ``topic``."""
    found: Counter[str] = Counter()
    for record in records_in(client, bucket, topic):
        found[str(record[id_column])] += 1
    return found


def dags_test(
    env: Mapping[str, str],
    logical_date: str,
    conf: Mapping[str, Any] | None = None,
    **extra_env: str,
) -> DagRun:
    """Run ``airflow dags test`` once, capturing what it prints."""
    argv = [str(REPO / ".venv/bin/airflow"), "dags", "test", DAG_ID, logical_date]
    if conf is not None:
        argv += ["-c", json.dumps(conf)]
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        check=False,
        timeout=DAGS_TEST_TIMEOUT,
    )
    return DagRun(proc.returncode, time.monotonic() - started, proc.stdout + proc.stderr)


def task_states(env: Mapping[str, str]) -> dict[str, str | None]:
    """Return the state of every task of the DAG's latest run, by task id."""
    code = (
        "import json\n"
        "from airflow.models.dagrun import DagRun\n"
        "from airflow.models.taskinstance import TaskInstance\n"
        "from airflow.utils.session import create_session\n"
        "from sqlalchemy import select\n"
        "with create_session() as s:\n"
        f"    run = s.scalar(select(DagRun).where(DagRun.dag_id == {DAG_ID!r})"
        ".order_by(DagRun.id.desc()).limit(1))\n"
        "    rows = s.execute(select(TaskInstance.task_id, TaskInstance.state).where("
        "TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id)).all()\n"
        "    print(json.dumps({t: (str(v) if v else None) for t, v in rows}))\n"
    )
    out = subprocess.run(
        [str(REPO / ".venv/bin/python"), "-c", code],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def xcoms(env: Mapping[str, str]) -> dict[str, Any]:
    """Return the return values of the tasks of the DAG's latest run."""
    return latest_run_xcoms(dict(env))


def error_lines(output: str) -> list[str]:
    """Return the lines of ``airflow dags test`` output that report a task's error."""
    return [line for line in output.splitlines() if "error" in line.lower()]


def make_scratch_database(env: dict[str, str], suffix: str) -> tuple[str, str]:
    """Create ``pinterest_faults_<suffix>`` with the three empty tables; return (name, conn)."""
    mysql = parse_connection(env["AIRFLOW_CONN_PINTEREST_MYSQL"])
    name = f"pinterest_faults_{suffix}"
    conn = mysql.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    conn = mysql.connect(name)
    try:
        apply_schema(conn)
        conn.commit()
    finally:
        conn.close()
    fields = json.loads(env["AIRFLOW_CONN_PINTEREST_MYSQL"])
    return name, json.dumps({**fields, "schema": name})


def drop_scratch_database(env: dict[str, str], name: str) -> None:
    conn = parse_connection(env["AIRFLOW_CONN_PINTEREST_MYSQL"]).connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def insert_rows(env: dict[str, str], name: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    conn = parse_connection(env["AIRFLOW_CONN_PINTEREST_MYSQL"]).connect(name)
    try:
        with conn.cursor() as cursor:
            for table, values in rows.items():
                marks = ", ".join(["%s"] * len(values[0]))
                cursor.executemany(f"INSERT INTO `{table}` VALUES ({marks})", values)
        conn.commit()
    finally:
        conn.close()

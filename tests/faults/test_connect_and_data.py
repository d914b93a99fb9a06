"""Kafka Connect stopped, odd but valid data, and credentials kept out of what a run writes.

Three ``airflow dags test`` runs over a scratch database of 20 odd events (every nullable
column NULL, unicode and emoji, a 64 KB description, SQL-looking text):

1. Connect stopped, on topics with no object yet: the sensors end at their shortened timeout
   naming topic, prefix and wait, and saying the prefix holds no object at all.
2. Connect started again, the same logical date re-run, with an API key on the proxy
   connection: everything lands, intact, run 1's records too; no secret in output or XCom.
3. Connect stopped again: the sensors end saying the prefix holds only older objects.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack import launcher
from stack.services import Context
from tests.faults.conftest import (
    ID_COLUMNS,
    KINDS,
    DagRun,
    create_topics,
    dags_test,
    delete_prefix,
    delete_topics,
    drop_scratch_database,
    insert_rows,
    landed,
    make_scratch_database,
    records_in,
    restore,
    s3_client,
    task_states,
    xcoms,
)

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.stack, pytest.mark.slow]

EVENTS = 20
SENSOR_TIMEOUT = 20
FIRST_DATE = "2026-03-04T01:00:00+00:00"
SECOND_DATE = "2026-03-04T02:00:00+00:00"
UNICODE_TITLE = 'Café ☕ — 日本語 🎉👩‍👩‍👧 "quoted" back\\slash\nnew line'
SQL_TEXT = "O'Brien'); DROP TABLE user_data; --"
COUNTRY = "C\u00f4te d\u2019Ivoire"
LONG_DESCRIPTION = ("Long description é 🎨 " * 3200)[: 64 * 1024]


def scratch_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Rows of the three tables: event 1 all NULL, 2 unicode and SQL text, 3 a 64 KB text."""
    pins: list[tuple[Any, ...]] = [(1, *([None] * 11))]
    geos: list[tuple[Any, ...]] = [(1, None, None, None, None)]
    users: list[tuple[Any, ...]] = [(1, None, None, None, None)]
    for i in range(2, EVENTS + 1):
        title = UNICODE_TITLE if i == 2 else f"title {i}"
        description = LONG_DESCRIPTION if i == 3 else f"description {i}"
        pins.append(
            (i, f"00000000-0000-0000-0000-{i:012d}", title, description, "poster", "8k",
             "a,b", "image", "https://example.com/i.jpg", 1, "Local save in /data/art", "art")
        )  # fmt: skip
        geos.append((i, "2021-05-06 07:08:09", 48.85, 2.35, COUNTRY))
        users.append((i, "Zoë", SQL_TEXT if i == 2 else "Smith", 30, "2020-01-02 03:04:05"))
    return {"pinterest_data": pins, "geolocation_data": geos, "user_data": users}


@pytest.fixture(scope="module")
def scenario(env: dict[str, str], ctx: Context) -> Iterator[dict[str, Any]]:
    """Run the three DAG runs once; the tests below read what they left."""
    suffix = secrets.token_hex(3)
    user_id = f"faults-connect-{suffix}"
    database, mysql_conn = make_scratch_database(env, suffix)
    insert_rows(env, database, scratch_rows())
    topics = create_topics(ctx, user_id)
    api_key = secrets.token_urlsafe(24)
    proxy = json.loads(env["AIRFLOW_CONN_KAFKA_REST_PROXY"])
    keyed_proxy = json.dumps({**proxy, "extra": {"headers": {"x-api-key": api_key}}})
    run_env = {
        **env,
        "AIRFLOW_CONN_PINTEREST_MYSQL": mysql_conn,
        "PINTEREST_SENSOR_TIMEOUT": str(SENSOR_TIMEOUT),
        "PINTEREST_LANDING_TIMEOUT": "30",
    }
    conf = {"user_id": user_id, "batch_size": EVENTS}
    found: dict[str, Any] = {"user_id": user_id, "topics": topics, "api_key": api_key}
    restore(ctx)
    try:
        launcher.stop_service(ctx, "connect")
        found["no_objects"] = dags_test(run_env, FIRST_DATE, conf)
        found["no_objects_states"] = task_states(run_env)
        launcher.start_service(ctx, "connect")
        found["rerun"] = dags_test(
            run_env, FIRST_DATE, conf, AIRFLOW_CONN_KAFKA_REST_PROXY=keyed_proxy
        )
        found["rerun_xcoms"] = xcoms(run_env)
        launcher.stop_service(ctx, "connect")
        found["old_objects"] = dags_test(run_env, SECOND_DATE, conf)
        found["old_objects_states"] = task_states(run_env)
        yield found
    finally:
        restore(ctx)
        drop_scratch_database(env, database)
        delete_topics(ctx, topics)
        delete_prefix(s3_client(ctx), ctx.settings.bucket, [f"topics/{t}/" for t in topics])


def _sensor_errors(run: DagRun) -> list[str]:
    return [
        line[line.index("no new object") :]
        for line in run.output.splitlines()
        if "no new object for topic" in line and "AirflowSensorTimeout" in line
    ]


def test_connect_stopped_the_sensors_time_out_naming_topic_prefix_and_wait(
    scenario: dict[str, Any], ctx: Context
) -> None:
    run: DagRun = scenario["no_objects"]
    states = scenario["no_objects_states"]
    assert run.code != 0
    for kind in KINDS:
        assert states[f"post_{kind}"] == "success"
        assert states[f"wait_{kind}"] == "failed"
    assert states["verify_landing"] == "upstream_failed"
    errors = _sensor_errors(run)
    for topic in scenario["topics"]:
        prefix = f"s3://{ctx.settings.bucket}/topics/{topic}/partition=0/"
        mine = [e for e in errors if f"topic {topic} under {prefix} after " in e]
        assert mine, f"no sensor timeout naming {topic}: {errors}"
        assert (
            f"(timeout {SENSOR_TIMEOUT} s after sending ended; no object at all there)" in (mine[0])
        )
    log.info("connect stopped, empty prefix: run %.0f s; user sees: %s", run.seconds, errors[0])


def test_after_connect_restarts_a_rerun_lands_everything_counting_duplicates(
    scenario: dict[str, Any], ctx: Context, s3: Any
) -> None:
    run: DagRun = scenario["rerun"]
    assert run.code == 0, run.output[-3000:]
    verdicts = scenario["rerun_xcoms"]["verify_landing"]["topics"]
    for kind in KINDS:
        assert verdicts[kind]["ok"] is True
        assert verdicts[kind]["landed"] == EVENTS
        assert verdicts[kind]["missing"] == 0
        found = landed(s3, ctx.settings.bucket, f"{scenario['user_id']}.{kind}", ID_COLUMNS[kind])
        assert set(found) == {str(i) for i in range(1, EVENTS + 1)}
        assert all(count == 2 for count in found.values()), found
    log.info("re-run after connect restarted: %.0f s; pin: %s", run.seconds, verdicts["pin"])


def test_odd_values_land_intact(scenario: dict[str, Any], ctx: Context, s3: Any) -> None:
    user_id = scenario["user_id"]
    pins = {r["index"]: r for r in records_in(s3, ctx.settings.bucket, f"{user_id}.pin")}
    geos = {r["ind"]: r for r in records_in(s3, ctx.settings.bucket, f"{user_id}.geo")}
    users = {r["ind"]: r for r in records_in(s3, ctx.settings.bucket, f"{user_id}.user")}
    assert all(value is None for key, value in pins[1].items() if key != "index")
    assert all(value is None for key, value in geos[1].items() if key != "ind")
    assert all(value is None for key, value in users[1].items() if key != "ind")
    assert pins[2]["title"] == UNICODE_TITLE
    assert users[2]["last_name"] == SQL_TEXT
    assert geos[2]["country"] == COUNTRY
    assert geos[2]["timestamp"] == "2021-05-06T07:08:09"
    assert pins[3]["description"] == LONG_DESCRIPTION
    assert len(LONG_DESCRIPTION) == 64 * 1024


def test_connect_stopped_with_older_objects_says_so(scenario: dict[str, Any], ctx: Context) -> None:
    run: DagRun = scenario["old_objects"]
    states = scenario["old_objects_states"]
    assert run.code != 0
    assert {states[f"wait_{kind}"] for kind in KINDS} == {"failed"}
    errors = _sensor_errors(run)
    for topic in scenario["topics"]:
        mine = [e for e in errors if f"topic {topic} under " in e]
        assert mine, f"no sensor timeout naming {topic}: {errors}"
        assert " older object(s) there): is Kafka Connect's S3 sink running?" in mine[0]
    log.info("connect stopped, older objects: run %.0f s; user sees: %s", run.seconds, errors[0])


def test_no_credential_reaches_output_logs_or_xcom(
    scenario: dict[str, Any], ctx: Context, env: dict[str, str]
) -> None:
    written = [scenario[name].output for name in ("no_objects", "rerun", "old_objects")]
    written.append(json.dumps(scenario["rerun_xcoms"]))
    logs = Path(env["AIRFLOW_HOME"]) / "logs"
    written += [path.read_text(errors="replace") for path in logs.rglob("*") if path.is_file()]
    text = "\n".join(written)
    for name, secret in (
        ("MySQL password", ctx.secrets.mysql_password),
        ("S3 secret key", ctx.secrets.s3_secret_key),
        ("API key", scenario["api_key"]),
    ):
        assert secret not in text, f"the {name} appears in what the run wrote"
    log.info("searched %d characters (%d log files): no secret", len(text), len(written) - 4)

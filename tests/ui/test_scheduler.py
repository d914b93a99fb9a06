"""``pinterest_emulation`` triggered through the REST API and run by the real scheduler.

The run goes through the LocalExecutor, the deferrable S3 sensors through the triggerer, and
the records through the REST proxy, Kafka and the S3 sink into SeaweedFS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from stack import procs
from stack.settings import SINK_NAME, TOPIC_KINDS, Settings
from tests.ui.airflow_api import AirflowApi, RunWatch, parse_time

pytestmark = [pytest.mark.stack, pytest.mark.slow]

BATCH_SIZE = 25
RUN_TIMEOUT_S = 480.0
DEFER_TIMEOUT_S = 180.0
# What a task's log shows when it deferred and the triggerer fired its trigger.
DEFERRAL_LOG_LINES = ("pausing task as deferred", "trigger fired event")


@pytest.fixture(scope="module")
def conf(airflow_ui_settings: Settings) -> dict[str, Any]:
    """The params of the triggered run."""
    return {
        "user_id": airflow_ui_settings.user_id,
        "batch_size": BATCH_SIZE,
        "bucket": airflow_ui_settings.bucket,
    }


def _connector_state(url: str) -> str:
    answer = requests.get(f"{url}/status", timeout=10)
    answer.raise_for_status()
    return str(answer.json()["connector"]["state"])


@contextmanager
def sink_paused(settings: Settings) -> Iterator[None]:
    """Pause the Kafka Connect S3 sink, so that a sensor's first poke finds nothing new."""
    url = f"http://127.0.0.1:{settings.port('CONNECT_PORT')}/connectors/{SINK_NAME}"
    requests.put(f"{url}/pause", timeout=10).raise_for_status()
    try:
        assert procs.wait_for(lambda: _connector_state(url) == "PAUSED", 30), "sink not paused"
        yield
    finally:
        requests.put(f"{url}/resume", timeout=10).raise_for_status()
        assert procs.wait_for(lambda: _connector_state(url) == "RUNNING", 30), "sink not resumed"


def _idle(api: AirflowApi) -> bool:
    """Return True when no run is active and the scheduler has created this hour's run."""
    next_run = api.dag()["next_dagrun_run_after"]
    caught_up = next_run is not None and parse_time(next_run) > datetime.now(UTC)
    return caught_up and not api.runs(state=["queued", "running"])


def _all_deferred(watch: RunWatch) -> bool:
    return all("deferred" in watch.states.get(f"wait_{kind}", ()) for kind in TOPIC_KINDS)


@pytest.fixture(scope="module")
def watched(api: AirflowApi, conf: dict[str, Any], airflow_ui_settings: Settings) -> RunWatch:
    """Trigger the DAG with ``conf`` and wait until the run finishes.

    The sink is paused from before the trigger until every ``wait_*`` sensor has deferred, so
    the sensors must go through the triggerer; the unpaused DAG's scheduled run for this hour
    is let finish first, as ``max_active_runs`` is 1.

    """
    api.set_paused(False)
    assert procs.wait_for(lambda: _idle(api), RUN_TIMEOUT_S, interval=3), api.runs()[:3]
    with sink_paused(airflow_ui_settings):
        run = api.trigger(conf, datetime.now(UTC).replace(microsecond=0))
        assert run["run_type"] == "manual"
        watch = api.wait_for_run(run["dag_run_id"], DEFER_TIMEOUT_S, until=_all_deferred)
    return api.wait_for_run(run["dag_run_id"], RUN_TIMEOUT_S, watch=watch)


def test_run_succeeds_under_the_scheduler(
    api: AirflowApi, watched: RunWatch, conf: dict[str, Any]
) -> None:
    assert watched.state == "success", api.explain(watched)
    assert watched.run["conf"] == conf
    final = {ti["task_id"]: ti["state"] for ti in api.task_instances(watched.run_id)}
    assert set(final) >= {f"wait_{kind}" for kind in TOPIC_KINDS} | {"verify_landing"}
    assert set(final.values()) == {"success"}, final
    executors = {ti["executor"] for ti in api.task_instances(watched.run_id)}
    assert executors <= {None, "LocalExecutor"}, executors


def test_sensors_were_deferred_to_the_triggerer(api: AirflowApi, watched: RunWatch) -> None:
    assert watched.state == "success", api.explain(watched)
    deferred = [kind for kind in TOPIC_KINDS if "deferred" in watched.states[f"wait_{kind}"]]
    assert deferred, f"no wait_* task was seen deferred: {watched.describe()}"
    for kind in deferred:
        task_id = f"wait_{kind}"
        ti = next(t for t in api.task_instances(watched.run_id) if t["task_id"] == task_id)
        events = [e.lower() for e in api.log_events(watched.run_id, task_id, ti["try_number"])]
        for line in DEFERRAL_LOG_LINES:
            assert any(line in event for event in events), f"{task_id}: no {line!r} in {events}"


def _start_offset(key: str) -> int:
    return int(key.rsplit("+", 1)[1].split(".", 1)[0])


def _records_at(s3: Any, bucket: str, topic: str, first: int, last: int) -> int:
    """Count the records in S3 whose offset in partition 0 lies in ``first..last``."""
    prefix = f"topics/{topic}/partition=0/"
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    assert keys, f"no objects under s3://{bucket}/{prefix}"
    found = 0
    for key in sorted(keys, key=_start_offset):
        start = _start_offset(key)
        if start > last:
            break
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        lines = [line for line in body.splitlines() if line.strip()]
        found += sum(1 for i in range(len(lines)) if first <= start + i <= last)
    return found


def test_records_landed_in_s3(
    api: AirflowApi, watched: RunWatch, conf: dict[str, Any], s3: Any
) -> None:
    assert watched.state == "success", api.explain(watched)
    verdict = api.xcom(watched.run_id, "verify_landing")
    assert verdict["bucket"] == conf["bucket"]
    for kind in TOPIC_KINDS:
        topic = f"{conf['user_id']}.{kind}"
        assert verdict["topics"][kind]["ok"] is True, verdict["topics"][kind]
        assert verdict["topics"][kind]["landed"] >= BATCH_SIZE
        post = api.xcom(watched.run_id, f"post_{kind}")
        assert post["topic"] == topic
        span = post["offsets"]["0"]
        first, last = int(span["first"]), int(span["last"])
        assert last - first + 1 == BATCH_SIZE, post
        assert _records_at(s3, conf["bucket"], topic, first, last) == BATCH_SIZE

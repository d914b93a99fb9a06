"""``pinterest_emulation`` triggered through the REST API and run by the real scheduler.

The run goes through the LocalExecutor, the deferrable S3 sensors through the triggerer, and
the records through the REST proxy, Kafka and the S3 sink into SeaweedFS.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from stack.settings import TOPIC_KINDS, Settings
from tests.ui.airflow_api import AirflowApi, RunWatch

pytestmark = [pytest.mark.stack, pytest.mark.slow]

BATCH_SIZE = 25
RUN_TIMEOUT_S = 480.0
DEFERRAL_MARKERS = ("deferr", "trigger")


@pytest.fixture(scope="module")
def conf(airflow_ui_settings: Settings) -> dict[str, Any]:
    """The params of the triggered run."""
    return {
        "user_id": airflow_ui_settings.user_id,
        "batch_size": BATCH_SIZE,
        "bucket": airflow_ui_settings.bucket,
    }


@pytest.fixture(scope="module")
def watched(api: AirflowApi, conf: dict[str, Any]) -> RunWatch:
    """Unpause the DAG, trigger it with ``conf`` and wait until the run finishes."""
    api.set_paused(False)
    logical_date = datetime.now(UTC).replace(microsecond=0)
    run = api.trigger(conf, logical_date)
    assert run["run_type"] == "manual"
    return api.wait_for_run(run["dag_run_id"], RUN_TIMEOUT_S)


def test_run_succeeds_under_the_scheduler(
    api: AirflowApi, watched: RunWatch, conf: dict[str, Any]
) -> None:
    assert watched.state == "success", watched.describe()
    assert watched.run["conf"] == conf
    final = {ti["task_id"]: ti["state"] for ti in api.task_instances(watched.run_id)}
    assert set(final) >= {f"wait_{kind}" for kind in TOPIC_KINDS} | {"verify_landing"}
    assert set(final.values()) == {"success"}, final
    executors = {ti["executor"] for ti in api.task_instances(watched.run_id)}
    assert executors <= {None, "LocalExecutor"}, executors


def test_sensors_were_deferred_to_the_triggerer(api: AirflowApi, watched: RunWatch) -> None:
    assert watched.state == "success", watched.describe()
    evidence = {}
    for kind in TOPIC_KINDS:
        task_id = f"wait_{kind}"
        ti = next(t for t in api.task_instances(watched.run_id) if t["task_id"] == task_id)
        events = api.log_events(watched.run_id, task_id, ti["try_number"])
        deferred_lines = [
            e for e in events if any(marker in e.lower() for marker in DEFERRAL_MARKERS)
        ]
        evidence[task_id] = ("deferred" in watched.states[task_id], deferred_lines[:3])
    assert any(seen or lines for seen, lines in evidence.values()), (
        f"no wait_* task went through the triggerer: {evidence}"
    )


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
    assert watched.state == "success", watched.describe()
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

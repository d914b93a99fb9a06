"""``airflow dags test pinterest_emulation`` on the real local stack."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import pytest

from stack.run_pipeline import airflow, latest_run_xcoms, run_dag
from tests.support import records_in

pytestmark = [pytest.mark.stack, pytest.mark.slow]

KINDS = {"pin": "index", "geo": "ind", "user": "ind"}
LOGICAL_DATE = "2026-02-01T05:00:00+00:00"
BATCH_SIZE = 40


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    if "AIRFLOW_CONN_PINTEREST_S3" not in os.environ:
        pytest.skip("the local stack has not been set up: run make stack-up")
    environment = dict(os.environ)
    assert airflow(environment, "db", "migrate") == 0
    return environment


@pytest.fixture(scope="module")
def first_run(env: dict[str, str]) -> dict[str, Any]:
    code, _ = run_dag(env, LOGICAL_DATE, {"batch_size": BATCH_SIZE})
    assert code == 0, "airflow dags test failed: see the captured output"
    return latest_run_xcoms(env)


def _staged_ids(s3: Any, uri: str) -> list[int]:
    bucket, key = uri.split("@", 1)[1].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return [int(i) for i in json.loads(body)["event_ids"]]


def test_every_chosen_event_lands_in_all_three_topics(first_run: dict[str, Any], s3: Any) -> None:
    chosen = _staged_ids(s3, first_run["choose_batch"]["uri"])
    assert len(chosen) == BATCH_SIZE
    bucket = first_run["verify_landing"]["bucket"]
    for kind, id_column in KINDS.items():
        post = first_run[f"post_{kind}"]
        assert post["records_acknowledged"] == BATCH_SIZE
        records = records_in(s3, bucket, post["topic"])
        landed_ids = {r[id_column] for r in records if id_column in r}
        assert set(chosen) <= landed_ids, f"{post['topic']}: {set(chosen) - landed_ids} missing"
        verdict = first_run["verify_landing"]["topics"][kind]
        assert verdict["ok"] is True
        assert verdict["landed"] >= BATCH_SIZE
        assert verdict["missing"] == 0


def test_records_hold_the_table_columns_as_json(first_run: dict[str, Any], s3: Any) -> None:
    bucket = first_run["verify_landing"]["bucket"]
    chosen = set(_staged_ids(s3, first_run["choose_batch"]["uri"]))
    pins = [
        r
        for r in records_in(s3, bucket, first_run["post_pin"]["topic"])
        if r.get("index") in chosen
    ]
    geos = [
        r for r in records_in(s3, bucket, first_run["post_geo"]["topic"]) if r.get("ind") in chosen
    ]
    assert {"index", "unique_id", "title", "follower_count", "category"} <= set(pins[-1])
    assert {"ind", "timestamp", "latitude", "longitude", "country"} == set(geos[-1])
    located = [g for g in geos if g["latitude"] is not None and g["timestamp"] is not None]
    assert located, "no geolocation record with a latitude and a timestamp"
    assert isinstance(located[-1]["latitude"], float)
    assert datetime.fromisoformat(located[-1]["timestamp"]).year > 1900


def test_a_rerun_of_the_same_logical_date_chooses_the_same_events(
    first_run: dict[str, Any], env: dict[str, str], s3: Any
) -> None:
    chosen = _staged_ids(s3, first_run["choose_batch"]["uri"])
    code, _ = run_dag(env, LOGICAL_DATE, {"batch_size": BATCH_SIZE})
    assert code == 0
    second = latest_run_xcoms(env)
    assert _staged_ids(s3, second["choose_batch"]["uri"]) == chosen
    assert second["verify_landing"]["topics"]["pin"]["ok"] is True

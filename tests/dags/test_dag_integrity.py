from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

DAGS = Path(__file__).resolve().parents[2] / "dags"
KINDS = ("pin", "geo", "user")


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    real_connect = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"the DAG file opened a connection to {address} while parsing")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        return DagBag(dag_folder=str(DAGS))
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def dag(dagbag: DagBag) -> Any:
    return dagbag.dags["pinterest_emulation"]


def test_every_dag_file_imports_without_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert list(dagbag.dag_ids) == ["pinterest_emulation"]


def test_schedule_and_run_limits(dag: Any) -> None:
    assert dag.schedule == "@hourly"
    assert dag.timetable.expression in {"@hourly", "0 * * * *"}
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.start_date.tzinfo is not None
    assert dag.doc_md
    assert "kafka_rest_proxy" in dag.doc_md
    assert dag.default_args["retries"] >= 1
    assert dag.default_args["retry_delay"] >= timedelta(seconds=10)


def test_tasks_and_their_order(dag: Any) -> None:
    expected = {"check_rest_proxy", "choose_batch", "verify_landing"} | {
        f"{step}_{kind}" for step in ("extract", "post", "wait") for kind in KINDS
    }
    assert set(dag.task_ids) == expected
    assert dag.get_task("choose_batch").upstream_task_ids == {"check_rest_proxy"}
    for kind in KINDS:
        assert dag.get_task(f"extract_{kind}").upstream_task_ids == {"choose_batch"}
        assert dag.get_task(f"post_{kind}").upstream_task_ids == {f"extract_{kind}"}
        assert dag.get_task(f"wait_{kind}").upstream_task_ids == {f"post_{kind}"}
    assert dag.get_task("verify_landing").upstream_task_ids == {
        "choose_batch",
        *(f"wait_{kind}" for kind in KINDS),
    }


def test_posts_and_sensors_are_wired_to_their_topics(dag: Any) -> None:
    for kind in KINDS:
        post = dag.get_task(f"post_{kind}")
        assert type(post).__name__ == "KafkaRestOperator"
        assert post.topic == "{{ params.user_id }}." + kind
        assert post.key_field == ("index" if kind == "pin" else "ind")
        wait = dag.get_task(f"wait_{kind}")
        assert isinstance(wait, S3KeySensor)
        assert wait.deferrable is True
        assert wait.bucket_key == "topics/{{ params.user_id }}." + kind + "/partition=0/*.json"
        assert wait.aws_conn_id == "pinterest_s3"


def test_params_have_defaults_and_limits(dag: Any) -> None:
    params = dag.params
    assert params["user_id"] == "128a59195de3"
    assert params["batch_size"] == 500
    assert params.get_param("batch_size").schema["maximum"] == 100_000
    assert params.get_param("batch_size").schema["minimum"] == 1
    assert params["bucket"]


def test_an_asset_per_topic_prefix_is_published(dag: Any) -> None:
    outlets = dag.get_task("verify_landing").outlets
    assert sorted(asset.uri.split("/topics/")[1].rstrip("/") for asset in outlets) == [
        f"128a59195de3.{kind}" for kind in sorted(KINDS)
    ]

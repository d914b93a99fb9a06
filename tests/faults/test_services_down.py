"""A service down or misconfigured before the run: a clear error naming it, nothing sent."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from include.pinterest import tasks
from include.pinterest.params import RunSettings
from stack import launcher
from stack.services import Context
from tests.faults.conftest import KINDS, dags_test, end_offsets, task_states

log = logging.getLogger(__name__)
pytestmark = pytest.mark.stack

BATCH = {"batch_size": 20}
#: The hook's defaults: 3 retries with a backoff factor of 1 s sleep 0 + 2 + 4 s.
PROXY_DOWN_BOUND_SECONDS = 10


def _topics(user_id: str) -> list[str]:
    return [f"{user_id}.{kind}" for kind in KINDS]


def _failed_first(env: Mapping[str, str]) -> dict[str, Any]:
    states = task_states(env)
    assert states["check_rest_proxy"] == "failed", states
    for kind in KINDS:
        assert states[f"post_{kind}"] != "success", states
    return states


def test_rest_proxy_down_fails_the_first_task_in_bounded_time_and_sends_nothing(
    stack: Context, env: dict[str, str], user_id: str
) -> None:
    before = end_offsets(stack, _topics(user_id))
    launcher.stop_service(stack, "rest-proxy")

    run = dags_test(env, "2026-03-02T01:00:00+00:00", {**BATCH, "user_id": user_id})

    assert run.code != 0
    _failed_first(env)
    proxy = f"http://127.0.0.1:{stack.settings.port('REST_PROXY_PORT')}"
    message = next(line for line in run.output.splitlines() if "failed without an answer" in line)
    assert f"Kafka REST proxy at {proxy} after up to 4 attempts" in message
    took = float(message.split(" attempts in ")[1].split(" s:")[0])
    assert took < PROXY_DOWN_BOUND_SECONDS, message
    log.info(
        "proxy down: check_rest_proxy gave up after %.1f s (dags test %.0f s); user sees: %s",
        took,
        run.seconds,
        message[message.index("GET /topics") :][:300],
    )
    assert end_offsets(stack, _topics(user_id)) == before


def test_a_missing_bucket_is_refused_before_anything_is_sent(
    stack: Context, env: dict[str, str], user_id: str
) -> None:
    before = end_offsets(stack, _topics(user_id))

    run = dags_test(
        env,
        "2026-03-02T02:00:00+00:00",
        {**BATCH, "user_id": user_id, "bucket": f"{user_id}-no-such-bucket"},
    )

    assert run.code != 0
    _failed_first(env)
    expected = (
        f"bucket '{user_id}-no-such-bucket' cannot be used through connection 'pinterest_s3': "
        "it does not exist"
    )
    assert expected in run.output
    assert end_offsets(stack, _topics(user_id)) == before
    log.info("missing bucket: %s (dags test %.0f s)", expected, run.seconds)


def test_wrong_s3_keys_are_refused_before_anything_is_sent(
    stack: Context, env: dict[str, str], user_id: str
) -> None:
    before = end_offsets(stack, _topics(user_id))
    s3 = json.loads(env["AIRFLOW_CONN_PINTEREST_S3"])
    s3["password"] = "not-the-secret-key"

    run = dags_test(
        env,
        "2026-03-02T03:00:00+00:00",
        {**BATCH, "user_id": user_id},
        AIRFLOW_CONN_PINTEREST_S3=json.dumps(s3),
    )

    assert run.code != 0
    _failed_first(env)
    assert "cannot be used through connection 'pinterest_s3': S3 refused the credentials" in (
        run.output
    )
    assert "not-the-secret-key" not in run.output
    assert end_offsets(stack, _topics(user_id)) == before


def test_mysql_down_is_named_with_host_database_and_connection(
    stack: Context, tmp_path: Any
) -> None:
    launcher.stop_service(stack, "mariadb")
    settings = RunSettings("faults", 5, stack.settings.bucket)

    with pytest.raises(tasks.SourceDatabaseError) as info:
        tasks.choose_batch(settings, "pinterest_mysql", tmp_path.as_uri(), "run")

    port = stack.settings.port("MYSQL_PORT")
    assert str(info.value).startswith(
        f"MySQL (127.0.0.1:{port}, database 'pinterest_data', connection 'pinterest_mysql') "
        "failed while listing the events of the three tables: (2002, "
    )
    log.info("mysql down: %s", info.value)

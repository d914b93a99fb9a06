"""
### pinterest_emulation

Sends a batch of Pinterest post events from MySQL through a Kafka REST proxy into Kafka, and
checks that the Kafka Connect S3 sink wrote every one of them to S3.

1. `check_rest_proxy` validates the params, checks that the bucket exists and that the proxy
   lists the three topics `<user_id>.pin`, `<user_id>.geo` and `<user_id>.user`.
2. `choose_batch` picks `batch_size` events present in all three tables; the same logical
   date always picks the same events.
3. `extract_<kind>` reads each table's rows of those events with `MySqlHook` and stages them as
   JSON Lines next to the bucket (`staging/`), so rows never go through XCom.
4. `post_<kind>` sends them to the topic with `KafkaRestOperator`, keyed by the event id.
5. `wait_<kind>` (deferrable `S3KeySensor`, with a deadline counted from the end of sending)
   waits for new objects under `topics/<topic>/partition=0/`, and fails naming the topic, the
   prefix and how long it waited if none comes.
6. `verify_landing` reads those objects and fails unless every acknowledged record landed,
   reporting counts and duplicates per topic.

**Connections**: `pinterest_mysql` (MySQL), `kafka_rest_proxy` (HTTP; the host may carry a
path such as an API Gateway stage), `pinterest_s3` (AWS; `endpoint_url` in the extra for an
S3-compatible store). **Params**: `user_id`, `batch_size` (1 to 100,000), `bucket`.

**Timeouts**, read from the environment when the DAG is parsed:
`PINTEREST_SENSOR_TIMEOUT` (default 300 s), how long each `wait_<kind>` waits for the sink
after sending ended; `PINTEREST_LANDING_TIMEOUT` (default 120 s), how long `verify_landing`
keeps reading objects until every acknowledged record is found.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from include.pinterest import tasks
from include.pinterest.params import (
    BUCKET_PATTERN,
    DEFAULT_BATCH_SIZE,
    DEFAULT_USER_ID,
    MAX_BATCH_SIZE,
    USER_ID_PATTERN,
    InvalidParamError,
    RunSettings,
    default_bucket,
    validate_params,
)
from include.pinterest.sensors import SinkObjectsSensor
from include.pinterest.staging import staging_url
from include.pinterest.tables import TABLES
from kafka_rest import KafkaRestHook, KafkaRestOperator

MYSQL_CONN_ID = "pinterest_mysql"
REST_PROXY_CONN_ID = "kafka_rest_proxy"
S3_CONN_ID = "pinterest_s3"


def _seconds_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{name}={raw!r} must be a positive number of seconds")
    return seconds


SENSOR_TIMEOUT_SECONDS = _seconds_from_env("PINTEREST_SENSOR_TIMEOUT", 300)
LANDING_TIMEOUT_SECONDS = _seconds_from_env("PINTEREST_LANDING_TIMEOUT", 120)
USER_ID = os.environ.get("PINTEREST_USER_ID", DEFAULT_USER_ID)
DEFAULT_BUCKET = os.environ.get("PINTEREST_BUCKET", default_bucket(USER_ID))

TOPIC_ASSETS = {
    table.kind: Asset(
        name=f"pinterest_{table.kind}_objects",
        uri=f"s3://{DEFAULT_BUCKET}/topics/{table.topic(USER_ID)}/",
    )
    for table in TABLES
}


def _settings(params: dict[str, Any]) -> RunSettings:
    try:
        return validate_params(params)
    except InvalidParamError as err:
        raise AirflowFailException(str(err)) from err


def _run_key(context: dict[str, Any]) -> str:
    logical_date = context.get("logical_date")
    return logical_date.isoformat() if logical_date else str(context["run_id"])


@dag(
    dag_id="pinterest_emulation",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=50),
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=20),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=5),
    },
    params={
        "user_id": Param(
            USER_ID,
            type="string",
            pattern=USER_ID_PATTERN,
            description="Topic prefix: records go to <user_id>.pin, .geo and .user.",
        ),
        "batch_size": Param(
            DEFAULT_BATCH_SIZE,
            type="integer",
            minimum=1,
            maximum=MAX_BATCH_SIZE,
            description="How many post events to send.",
        ),
        "bucket": Param(
            DEFAULT_BUCKET,
            type="string",
            pattern=BUCKET_PATTERN,
            description="Bucket the Kafka Connect S3 sink writes to.",
        ),
    },
    doc_md=__doc__,
    tags=["pinterest", "kafka", "s3"],
)
def pinterest_emulation() -> None:
    """Move a batch of post events from MySQL through the Kafka REST proxy to S3."""

    @task(retries=0)
    def check_rest_proxy(**context: Any) -> list[str]:
        settings = _settings(context["params"])
        tasks.require_bucket(S3_CONN_ID, settings.bucket)
        hook = KafkaRestHook(kafka_rest_conn_id=REST_PROXY_CONN_ID)
        return tasks.require_topics(settings, hook.list_topics(), hook.base_url)

    @task
    def choose_batch(**context: Any) -> dict[str, Any]:
        settings = _settings(context["params"])
        staging = staging_url(S3_CONN_ID, settings.bucket, context["dag"].dag_id, context["run_id"])
        return tasks.choose_batch(settings, MYSQL_CONN_ID, staging, _run_key(context))

    @task
    def extract(kind: str, batch: dict[str, Any], **context: Any) -> dict[str, Any]:
        settings = _settings(context["params"])
        staging = staging_url(S3_CONN_ID, settings.bucket, context["dag"].dag_id, context["run_id"])
        return tasks.extract_table(kind, MYSQL_CONN_ID, batch["uri"], staging)

    @task(outlets=list(TOPIC_ASSETS.values()))
    def verify_landing(batch: dict[str, Any], **context: Any) -> dict[str, Any]:
        settings = _settings(context["params"])
        summaries = {
            table.kind: context["ti"].xcom_pull(task_ids=f"post_{table.kind}") for table in TABLES
        }
        return tasks.verify_landing(
            settings, S3_CONN_ID, batch["uri"], summaries, LANDING_TIMEOUT_SECONDS
        )

    checked = check_rest_proxy()
    batch = choose_batch()
    checked >> batch
    waits = []
    for table in TABLES:
        extracted = extract.override(task_id=f"extract_{table.kind}")(table.kind, batch)
        post = KafkaRestOperator(
            task_id=f"post_{table.kind}",
            kafka_rest_conn_id=REST_PROXY_CONN_ID,
            topic=f"{{{{ params.user_id }}}}.{table.kind}",
            records=extracted["uri"],
            key_field=table.id_column,
        )
        wait = SinkObjectsSensor(
            task_id=f"wait_{table.kind}",
            post_task_id=post.task_id,
            aws_conn_id=S3_CONN_ID,
            bucket_name="{{ params.bucket }}",
            bucket_key=f"topics/{{{{ params.user_id }}}}.{table.kind}/partition=0/*.json",
            wildcard_match=True,
            deferrable=True,
            poke_interval=3,
            timeout=SENSOR_TIMEOUT_SECONDS,
            retries=0,
        )
        post >> wait
        waits.append(wait)
    waits >> verify_landing(batch)


pinterest_emulation()

"""Landing latency: from the last record acknowledged to the object holding it visible in S3.

Each trial waits a random pause within one flush interval (so that the trials fall at
different points of the sink's flush cycle), sends a batch to ``bench.pin`` with
:class:`KafkaRestOperator`, notes when the operator returned (its last request's answer),
then lists the sink's objects of the topic every :data:`POLL_S` seconds and reads the new
ones until one holds the last acknowledged offset. Object names carry their first offset; an
object's line count gives its last.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

import boto3

from bench.common import REST_CONN_ID, median
from bench.topics import SUNK
from include.pinterest.landing import parse_object_key, partition_prefix

POLL_S = 0.1
TIMEOUT_S = 90.0
#: Seed of the pauses between trials, which spread the trials over the sink's flush cycle.
PAUSE_SEED = 5


def s3_client() -> Any:
    """Return a boto3 S3 client built from the ``pinterest_s3`` connection."""
    conn = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_S3"])
    extra = conn.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra)
    return boto3.client(
        "s3",
        endpoint_url=extra.get("endpoint_url"),
        region_name=extra.get("region_name", "us-east-1"),
        aws_access_key_id=conn["login"],
        aws_secret_access_key=conn["password"],
    )


class Watcher:
    """Find the object holding an offset of :data:`SUNK`, reading each object at most once."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self.spans: dict[str, tuple[int, int]] = {}

    def holds(self, offset: int) -> bool:
        """List the topic's objects, read the new ones, and return whether one holds ``offset``."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=partition_prefix(SUNK)):
            for item in page.get("Contents", []):
                obj = parse_object_key(item["Key"], SUNK)
                if obj is None or obj.key in self.spans or obj.start_offset > offset:
                    continue
                body = self.client.get_object(Bucket=self.bucket, Key=obj.key)["Body"].read()
                lines = sum(1 for line in body.splitlines() if line.strip())
                self.spans[obj.key] = (obj.start_offset, obj.start_offset + lines - 1)
        return any(first <= offset <= last for first, last in self.spans.values())

    def wait_for(self, offset: int, timeout: float = TIMEOUT_S) -> float | None:
        """Poll until an object holds ``offset``; return when (perf_counter), or None."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.holds(offset):
                return time.perf_counter()
            time.sleep(POLL_S)
        return None


def trial(watcher: Watcher, rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Send ``rows`` once and return the seconds from the last acknowledgement to landing."""
    from kafka_rest import KafkaRestOperator

    task = KafkaRestOperator(
        task_id="bench_landing",
        kafka_rest_conn_id=REST_CONN_ID,
        topic=SUNK,
        records=rows,
        key_field=key,
    )
    summary = task.execute({})  # type: ignore[arg-type]
    acked_at = time.perf_counter()
    last = int(summary["offsets"]["0"]["last"])
    landed_at = watcher.wait_for(last)
    return {
        "records": summary["records_acknowledged"],
        "last_offset": last,
        "latency_s": None if landed_at is None else round(landed_at - acked_at, 3),
    }


def run(
    bucket: str, rows: list[dict[str, Any]], key: str, trials: int, flush_s: float
) -> dict[str, Any]:
    """Warm the sink up on the topic, run ``trials`` trials and return the latencies."""
    watcher = Watcher(s3_client(), bucket)
    # The sink subscribes to new topics by pattern within seconds: wait for it, untimed.
    warm_up = trial(watcher, rows[:1], key)
    if warm_up["latency_s"] is None:
        return {
            "skipped": f"nothing landed under {partition_prefix(SUNK)} within {TIMEOUT_S:.0f} s",
        }
    results = []
    pauses = random.Random(PAUSE_SEED)
    for _ in range(trials):
        # Without a pause each trial would start just after the sink's last flush.
        time.sleep(pauses.uniform(0, flush_s))
        results.append(trial(watcher, rows, key))
    latencies = [r["latency_s"] for r in results if r["latency_s"] is not None]
    target = flush_s + 5.0
    figure = median(latencies) if latencies else None
    return {
        "records_per_trial": len(rows),
        "flush_interval_s": flush_s,
        "latency_s": figure,
        "max_latency_s": max(latencies) if latencies else None,
        "lost_trials": len(results) - len(latencies),
        "target_s": target,
        "met": figure is not None and max(latencies) <= target and len(latencies) == len(results),
        "trials": results,
    }

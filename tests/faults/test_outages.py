"""A service lost in the middle of a large post: retries finish it and every record lands.

``KafkaRestOperator`` sends 20,000 records to the real REST proxy with its default settings
while the REST proxy is killed (SIGKILL) and started again, or Kafka is restarted. Every
record must then be found in S3, and duplicates (records the proxy wrote before an answer
was lost) are counted, not hidden.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from kafka_rest import KafkaRestOperator
from stack import launcher, procs
from stack.services import Context
from tests.faults.conftest import end_offsets, landed

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.stack, pytest.mark.slow]

RECORDS = 20_000
LANDING_TIMEOUT = 90
#: How long the killed proxy stays down before it is started (which takes 3 to 6 s more).
PROXY_DOWN_SECONDS = 8
#: How long Kafka stays down: longer than the proxy producer's delivery.timeout.ms (10 s), so
#: that records fail in the proxy and the operator must resend them.
KAFKA_DOWN_SECONDS = 12


def _rows() -> list[dict[str, Any]]:
    return [
        {"index": i, "title": f"pin {i}", "description": "d" * 200, "category": "travel"}
        for i in range(RECORDS)
    ]


def _post_through(ctx: Context, topic: str, outage: Callable[[], None]) -> dict[str, Any]:
    """Post the records, run ``outage`` once the first ones are acknowledged; return a report."""
    start = end_offsets(ctx, [topic])[topic]
    operator = KafkaRestOperator(task_id="post", topic=topic, records=_rows(), key_field="index")
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["summary"] = operator.execute({})  # type: ignore[arg-type]
        except Exception as err:
            outcome["error"] = err

    began = time.monotonic()
    sender = threading.Thread(target=send)
    sender.start()
    while end_offsets(ctx, [topic])[topic] == start and sender.is_alive():
        time.sleep(0.05)
    acknowledged_before = end_offsets(ctx, [topic])[topic] - start
    outage_began = time.monotonic()
    outage()
    outage_seconds = time.monotonic() - outage_began
    sender.join(timeout=300)
    assert not sender.is_alive(), "the operator did not finish within 300 s"
    assert "error" not in outcome, f"the post failed: {outcome.get('error')}"
    return {
        "summary": outcome["summary"],
        "seconds": time.monotonic() - began,
        "outage_seconds": outage_seconds,
        "in_kafka_before_outage": acknowledged_before,
    }


def _wait_for_every_record(ctx: Context, s3: Any, topic: str) -> tuple[int, int]:
    """Wait until every record is in S3; return (distinct events, duplicates)."""
    deadline = time.monotonic() + LANDING_TIMEOUT
    while True:
        found = landed(s3, ctx.settings.bucket, topic, "index")
        missing = RECORDS - len(found)
        if missing == 0 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert missing == 0, f"{missing} of {RECORDS} records never landed in S3 for {topic}"
    return len(found), sum(count - 1 for count in found.values())


def _report(name: str, report: dict[str, Any], duplicates: int) -> None:
    summary = report["summary"]
    log.info(
        "%s: %d acknowledged in %d requests (%d resent) in %.1f s; outage %.1f s after %d "
        "records were in Kafka; %d duplicates in S3",
        name,
        summary["records_acknowledged"],
        summary["requests"],
        summary["records_resent"],
        report["seconds"],
        report["outage_seconds"],
        report["in_kafka_before_outage"],
        duplicates,
    )


def test_rest_proxy_killed_mid_post_every_record_lands(
    stack: Context, user_id: str, s3: Any
) -> None:
    topic = f"{user_id}.pin"

    def kill_and_restart() -> None:
        pid = procs.read_pid(stack.settings.pid_file("rest-proxy"), str(stack.settings.home))
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        procs.wait_for(lambda: not procs.is_alive(pid), 10)
        time.sleep(PROXY_DOWN_SECONDS)
        launcher.start_service(stack, "rest-proxy")

    report = _post_through(stack, topic, kill_and_restart)

    summary = report["summary"]
    assert summary["records_acknowledged"] == RECORDS
    assert summary["records_resent"] > 0
    distinct, duplicates = _wait_for_every_record(stack, s3, topic)
    assert distinct == RECORDS
    _report("rest proxy killed", report, duplicates)


def test_kafka_restarted_mid_post_every_record_lands(stack: Context, user_id: str, s3: Any) -> None:
    topic = f"{user_id}.geo"

    def restart() -> None:
        launcher.stop_service(stack, "kafka")
        time.sleep(KAFKA_DOWN_SECONDS)
        launcher.start_service(stack, "kafka")

    report = _post_through(stack, topic, restart)

    assert report["summary"]["records_acknowledged"] == RECORDS
    distinct, duplicates = _wait_for_every_record(stack, s3, topic)
    assert distinct == RECORDS
    _report("kafka restarted", report, duplicates)

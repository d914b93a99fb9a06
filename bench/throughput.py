"""Records per second: a native producer, our operator, and the original one-POST-per-record loop.

Every function sends the same pin rows (real rows of the stack's ``pinterest_data``, already
read into memory) and returns the records and the seconds it took, from the first record
handed over to the last one acknowledged. Encoding the rows as JSON is part of the timed work
of each way of sending, as it is in production.

Each way starts its clock right after a full garbage collection. This process holds Airflow
(about 170,000 objects), so a full collection takes about 0.13 s; one starting inside a timed
send of 10,000 records, about one send in four, halved that send's rate and made the medians
swing. Collecting first leaves each timed send too short to trigger another.
"""

from __future__ import annotations

import gc
import inspect
import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import requests
from confluent_kafka import KafkaError, Message, Producer

from kafka_rest import KafkaRestHook, KafkaRestOperator
from kafka_rest.hooks import PRODUCE_CONTENT_TYPE

#: The producer settings of the REST proxy (``stack/conf/rest-proxy.properties``), so that
#: the native producer differs from it only by not going through HTTP.
NATIVE_CONFIG = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
}


def operator_default(name: str) -> Any:
    """Return the default of one of :class:`KafkaRestOperator`'s settings."""
    return inspect.signature(KafkaRestOperator.__init__).parameters[name].default


@dataclass(frozen=True)
class Run:
    """One timed send.

    :param records: Records acknowledged.
    :param seconds: Wall time from the first record handed over to the last acknowledgement.
    :param requests: HTTP requests made (0 for the native producer).
    """

    records: int
    seconds: float
    requests: int = 0

    @property
    def rate(self) -> float:
        """Return records per second."""
        return self.records / self.seconds

    def as_dict(self) -> dict[str, Any]:
        """Return the run as JSON-able figures."""
        return {**asdict(self), "seconds": round(self.seconds, 4), "rate": round(self.rate, 1)}


def native(bootstrap: str, topic: str, rows: Sequence[Mapping[str, Any]], key: str) -> Run:
    """Send ``rows`` with a confluent-kafka producer, acks=all, and wait for every delivery.

    :raises RuntimeError: if any record was not delivered.
    """
    producer = Producer({"bootstrap.servers": bootstrap, **NATIVE_CONFIG})
    failures: list[KafkaError] = []
    delivered = 0

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        nonlocal delivered
        if error is not None:
            failures.append(error)
        else:
            delivered += 1

    # Warm up: fetch metadata and open the connection before the clock starts.
    producer.produce(topic, b"{}", b"warm-up")
    producer.flush(30)
    gc.collect()
    started = time.perf_counter()
    for row in rows:
        value = json.dumps(row, separators=(",", ":"), ensure_ascii=False, default=str)
        while True:
            try:
                producer.produce(
                    topic, value.encode(), str(row[key]).encode(), on_delivery=on_delivery
                )
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(60)
    seconds = time.perf_counter() - started
    if failures or remaining or delivered != len(rows):
        first = failures[0] if failures else f"{remaining} records still queued"
        raise RuntimeError(
            f"native producer: {delivered} of {len(rows)} records delivered to {topic}; "
            f"first problem: {first}"
        )
    return Run(delivered, seconds)


def operator(
    conn_id: str,
    topic: str,
    rows: Sequence[Mapping[str, Any]],
    key: str,
    **settings: Any,
) -> Run:
    """Send ``rows`` with :class:`KafkaRestOperator` (default settings unless given).

    :raises RuntimeError: if the operator reports fewer acknowledgements than rows.
    """
    task = KafkaRestOperator(
        task_id="bench_post",
        kafka_rest_conn_id=conn_id,
        topic=topic,
        records=list(rows),
        key_field=key,
        **settings,
    )
    # Read the connection before the clock starts, as for the native producer.
    _ = task.hook.settings
    gc.collect()
    started = time.perf_counter()
    summary = task.execute({})  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    if summary["records_acknowledged"] != len(rows):
        raise RuntimeError(
            f"operator: {summary['records_acknowledged']} of {len(rows)} records acknowledged"
        )
    return Run(summary["records_acknowledged"], seconds, summary["requests"])


def one_post_per_record(conn_id: str, topic: str, rows: Sequence[Mapping[str, Any]]) -> Run:
    """Send each row in its own POST, as the original ``user_posting_emulation.py`` did.

    Like the original, each request goes through ``requests.request`` (a new session, hence a
    new TCP connection, per record) with a ``json.dumps(..., default=str)`` body holding one
    record without a key; its ``sleep`` between records is left out.

    :raises RuntimeError: if a request is not answered with HTTP 200 and an offset.
    """
    url = f"{KafkaRestHook(kafka_rest_conn_id=conn_id).base_url}/topics/{topic}"
    headers = {"Content-Type": PRODUCE_CONTENT_TYPE}
    gc.collect()
    started = time.perf_counter()
    for row in rows:
        payload = json.dumps({"records": [{"value": row}]}, default=str)
        response = requests.request("POST", url, headers=headers, data=payload, timeout=30)
        if response.status_code != 200 or "error_code" in response.text:
            raise RuntimeError(
                f"one POST per record: HTTP {response.status_code}: {response.text[:200]!r}"
            )
    return Run(len(rows), time.perf_counter() - started, len(rows))


def raw_posts(
    conn_id: str,
    topic: str,
    rows: Sequence[Mapping[str, Any]],
    key: str,
    per_request: int,
    in_flight: int,
) -> Run:
    """Post ``rows`` as bodies encoded before the clock starts, ``in_flight`` at a time.

    This is the REST proxy's share of the operator's time: the same requests, as many at once,
    without the operator's encoding, checks and bookkeeping.

    :raises RuntimeError: if a request is not answered with HTTP 200.
    """
    hook = KafkaRestHook(kafka_rest_conn_id=conn_id)
    bodies = [
        json.dumps(
            {
                "records": [
                    {"key": str(row[key]), "value": row} for row in rows[i : i + per_request]
                ]
            },
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        ).encode()
        for i in range(0, len(rows), per_request)
    ]
    url = f"{hook.base_url}/topics/{topic}"
    headers = {"Content-Type": PRODUCE_CONTENT_TYPE}

    def post(body: bytes) -> None:
        response = hook.get_conn().post(url, data=body, headers=headers, timeout=30)
        if response.status_code != 200 or "error_code" in response.text:
            raise RuntimeError(f"raw post: HTTP {response.status_code}: {response.text[:200]!r}")

    with ThreadPoolExecutor(in_flight) as pool:
        gc.collect()
        started = time.perf_counter()
        list(pool.map(post, bodies))
        seconds = time.perf_counter() - started
    return Run(len(rows), seconds, len(bodies))

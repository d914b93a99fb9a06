"""The benchmarks' own topics, created and deleted with the Kafka admin API.

The throughput and scale benchmarks send to ``bench-<kind>``, which the S3 sink's
``topics.regex`` (``.+\\.(pin|geo|user)``) does not match, so the sink does not compete for
the two cores while they are timed. The landing benchmark sends to ``bench.pin``, and the
full-size DAG runs to ``bench.<kind>``, which it matches. The admin API of ``confluent-kafka``
is used rather than the Kafka command-line tool the launcher uses, because each run of that
tool starts a JVM for several seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

#: Topics the S3 sink ignores, by kind.
UNSUNK = {kind: f"bench-{kind}" for kind in ("pin", "geo", "user")}
#: Topics the S3 sink writes to S3, by kind: the DAG's topics for user id ``bench``.
SUNK_BY_KIND = {kind: f"bench.{kind}" for kind in ("pin", "geo", "user")}
#: The topic of the landing benchmark.
SUNK = SUNK_BY_KIND["pin"]
#: Records older than this are deleted by the broker, so repeated runs do not fill the disk.
RETENTION_MS = 3_600_000
TIMEOUT_S = 30.0


def admin(bootstrap: str) -> AdminClient:
    """Return an admin client of the broker at ``bootstrap``."""
    return AdminClient({"bootstrap.servers": bootstrap})


def existing(client: AdminClient) -> set[str]:
    """Return the names of the broker's topics."""
    return set(client.list_topics(timeout=TIMEOUT_S).topics)


def create(client: AdminClient, names: list[str]) -> None:
    """Create the topics in ``names`` that are missing: one partition, replication 1."""
    missing = [name for name in names if name not in existing(client)]
    if not missing:
        return
    new = [
        NewTopic(
            name, num_partitions=1, replication_factor=1, config={"retention.ms": str(RETENTION_MS)}
        )
        for name in missing
    ]
    for name, future in client.create_topics(new, operation_timeout=TIMEOUT_S).items():
        try:
            future.result()
        except KafkaException as e:
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise RuntimeError(f"could not create topic {name}: {e}") from e
    _wait(client, lambda names_now: set(missing) <= names_now, f"topics {missing} to appear")


def delete(client: AdminClient, names: list[str]) -> None:
    """Delete the topics in ``names`` that exist, and wait until the broker no longer lists them."""
    present = [name for name in names if name in existing(client)]
    if not present:
        return
    for name, future in client.delete_topics(present, operation_timeout=TIMEOUT_S).items():
        try:
            future.result()
        except KafkaException as e:
            if "UNKNOWN_TOPIC" not in str(e):
                raise RuntimeError(f"could not delete topic {name}: {e}") from e
    _wait(client, lambda names_now: not set(present) & names_now, f"topics {present} to go")


def recreate(client: AdminClient, names: list[str]) -> None:
    """Delete and create ``names`` again, so they start empty at offset 0."""
    delete(client, names)
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            create(client, names)
            return
        except RuntimeError:
            # A topic being deleted cannot be created again for a moment.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _wait(client: AdminClient, done: Callable[[set[str]], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not done(existing(client)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {TIMEOUT_S:.0f} s waiting for {what}")
        time.sleep(0.2)

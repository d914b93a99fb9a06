"""The project's S3 sink in the running Connect worker: count flush, complete landing, refusals."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from typing import Any

import pytest

from stack.settings import SINK_NAME, Settings
from tests.stack.test_services import rest

pytestmark = pytest.mark.stack

MAX_RECORDS = 1000
CONNECTOR_CLASS = "org.pinterestemulation.connect.s3.S3SinkConnector"


def start_offset(topic: str, key: str) -> int | None:
    """Return the start offset in an object key of the stack's layout, or None."""
    match = re.fullmatch(
        rf"topics/{re.escape(topic)}/partition=0/{re.escape(topic)}\+0\+(\d+)\.json", key
    )
    return int(match.group(1)) if match else None


def objects_from(s3: Any, bucket: str, topic: str, first: int) -> dict[int, str]:
    """Return start offset -> key of the partition-0 objects that may hold ``first`` or later."""
    found = {}
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"topics/{topic}/partition=0/"
    )
    for page in pages:
        for item in page.get("Contents", []):
            offset = start_offset(topic, item["Key"])
            if offset is not None and offset > first - MAX_RECORDS:
                found[offset] = item["Key"]
    return found


def test_a_large_post_lands_once_in_objects_cut_by_count(settings: Settings, s3: Any) -> None:
    topic = settings.topics[1]
    run = str(uuid.uuid4())
    records = [{"key": str(i), "value": {"run": run, "i": i}} for i in range(2500)]
    status, body = rest(settings, f"/topics/{topic}", {"records": records})
    assert status == 200
    offsets = [entry["offset"] for entry in body["offsets"]]
    assert len(offsets) == 2500
    assert all(isinstance(offset, int) for offset in offsets), body

    landed: dict[int, int] = {}
    sizes: dict[str, int] = {}
    holding: set[str] = set()
    deadline = time.monotonic() + 60
    while len(landed) < 2500 and time.monotonic() < deadline:
        for start, key in sorted(objects_from(s3, settings.bucket, topic, min(offsets)).items()):
            if key in sizes:
                continue
            lines = s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read().splitlines()
            sizes[key] = len(lines)
            for index, line in enumerate(lines):
                value = json.loads(line)
                if isinstance(value, dict) and value.get("run") == run:
                    assert value["i"] not in landed, f"record {value['i']} landed twice"
                    landed[value["i"]] = start + index
                    holding.add(key)
        time.sleep(0.5)

    assert sorted(landed) == list(range(2500)), f"{2500 - len(landed)} records missing"
    assert [landed[i] for i in range(2500)] == offsets
    assert len(holding) >= 3, holding
    assert max(sizes[key] for key in holding) == MAX_RECORDS
    assert all(sizes[key] <= MAX_RECORDS for key in sizes)


def validate(settings: Settings, config: dict[str, str]) -> dict[str, list[str]]:
    """Ask Connect to validate a sink configuration; return the errors by key."""
    url = (
        f"http://127.0.0.1:{settings.port('CONNECT_PORT')}"
        f"/connector-plugins/{CONNECTOR_CLASS}/config/validate"
    )
    request = urllib.request.Request(
        url,
        data=json.dumps(config).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    return {
        item["value"]["name"]: item["value"]["errors"]
        for item in answer["configs"]
        if item["value"]["errors"]
    }


SUPPORTED = {
    "connector.class": CONNECTOR_CLASS,
    "topics": "x.pin",
    "aws.s3.bucket.name": "bucket",
    "file.name.template": (
        "topics/{{topic}}/partition={{partition}}/{{topic}}+{{partition}}+{{start_offset}}.json"
    ),
    "format.output.type": "jsonl",
    "format.output.fields": "value",
    "format.output.envelope": "false",
    "file.compression.type": "none",
}


def test_the_stack_configuration_is_valid(settings: Settings) -> None:
    assert validate(settings, {**SUPPORTED, "name": SINK_NAME}) == {}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("file.compression.type", "gzip"),
        ("format.output.type", "csv"),
        ("format.output.fields", "key,value"),
        ("format.output.envelope", "true"),
        ("file.name.template", "{{topic}}/{{start_offset:padding=true}}"),
        ("file.name.template", "{{topic}}-{{start_offset}}"),
        ("aws.s3.endpoint", "ftp://127.0.0.1"),
        ("file.max.records", "-1"),
    ],
)
def test_unsupported_values_are_refused_by_key(settings: Settings, key: str, value: str) -> None:
    errors = validate(settings, {**SUPPORTED, "name": "probe", key: value})

    assert list(errors) == [key], errors

"""The running local stack: every service answers, binds to loopback only, and data flows."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from stack import procs
from stack.services import SERVICES
from stack.settings import MYSQL_DATABASE, MYSQL_USER, Secrets, Settings
from tests.stack.helpers import run_launcher

pytestmark = pytest.mark.stack

JSON_V2 = "application/vnd.kafka.json.v2+json"
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1"}


def rest(settings: Settings, path: str, body: Any = None, content_type: str = JSON_V2) -> Any:
    """Call the REST proxy; return (status, parsed JSON body)."""
    url = f"http://127.0.0.1:{settings.port('REST_PROXY_PORT')}{path}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_status_reports_every_service_healthy() -> None:
    result = run_launcher("status", timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    rows = result.stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == [svc.name for svc in SERVICES]
    assert all(row.split()[-1] == "healthy" for row in rows), result.stdout


def test_tables_hold_the_seeded_rows(settings: Settings, keys: Secrets) -> None:
    import MySQLdb

    conn = MySQLdb.connect(
        host="127.0.0.1",
        port=settings.port("MYSQL_PORT"),
        user=MYSQL_USER,
        password=keys.mysql_password,
        database=MYSQL_DATABASE,
    )
    try:
        cursor = conn.cursor()
        counts = {}
        for table in ("pinterest_data", "geolocation_data", "user_data"):
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
            counts[table] = cursor.fetchone()[0]
    finally:
        conn.close()

    assert set(counts.values()) == {settings.seed_events}, counts


def test_rest_proxy_lists_the_three_topics(settings: Settings) -> None:
    status, topics = rest(settings, "/topics")

    assert status == 200
    assert set(settings.topics) <= set(topics)


def test_unknown_topic_fails_per_record_within_seconds(settings: Settings) -> None:
    started = time.monotonic()

    status, body = rest(
        settings,
        f"/topics/no-such-{uuid.uuid4().hex}.pin",
        {
            "records": [
                {"key": "k", "value": {"a": 1}},
                {"key": "k", "value": {"a": 2}},
            ]
        },
    )

    assert status == 200
    assert [entry["error_code"] for entry in body["offsets"]] == [404, 404]
    assert time.monotonic() - started < 15


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ({"records": [{"value": {"a": 1}}]}, "application/json", 415),
        ({"records": []}, JSON_V2, 422),
        ({"rows": [{"value": 1}]}, JSON_V2, 422),
    ],
)
def test_rest_proxy_refuses_bad_requests(
    settings: Settings, body: Any, content_type: str, expected: int
) -> None:
    status, answer = rest(settings, f"/topics/{settings.topics[0]}", body, content_type)

    assert status == expected
    assert answer["error_code"] == expected
    assert answer["message"]


def test_record_posted_to_the_proxy_lands_in_s3(settings: Settings, s3: Any) -> None:
    topic = settings.topics[0]
    probe = str(uuid.uuid4())
    value = {"probe": probe, "n": 7, "text": "caf\u00e9 +=/"}
    status, body = rest(settings, f"/topics/{topic}", {"records": [{"key": "k", "value": value}]})
    assert status == 200, body
    offset = body["offsets"][0]["offset"]

    name, line = wait_for_line(s3, settings.bucket, f"topics/{topic}/partition=0/", probe)

    assert json.loads(line) == value
    # Compact UTF-8 JSON; Connect's JsonConverter does not keep the order of an object's keys.
    assert line == json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False)
    match = re.fullmatch(
        rf"topics/{re.escape(topic)}/partition=0/{re.escape(topic)}\+0\+(\d+)\.json", name
    )
    assert match, name
    assert int(match.group(1)) <= offset


def wait_for_line(s3: Any, bucket: str, prefix: str, needle: str) -> tuple[str, str]:
    """Poll the bucket for up to 30 s for an object under ``prefix`` with a line holding needle."""
    deadline = time.monotonic() + 30
    seen: set[str] = set()
    while time.monotonic() < deadline:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        for item in listing.get("Contents", []):
            if item["Key"] in seen:
                continue
            seen.add(item["Key"])
            text = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
            for line in text.splitlines():
                if needle in line:
                    return item["Key"], line
        time.sleep(1)
    pytest.fail(f"no object under s3://{bucket}/{prefix} holds {needle} after 30 s")


@pytest.mark.parametrize("wrong", ["access", "secret"])
def test_wrong_s3_keys_are_refused(settings: Settings, keys: Secrets, wrong: str) -> None:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id="WRONGKEY0000" if wrong == "access" else keys.s3_access_key,
        aws_secret_access_key="wrong-secret" if wrong == "secret" else keys.s3_secret_key,
        region_name="us-east-1",
    )

    with pytest.raises(ClientError) as info:
        client.list_objects_v2(Bucket=settings.bucket)

    code = info.value.response["Error"]["Code"]
    assert code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}, code


def test_every_listening_port_is_on_loopback_only(
    settings: Settings, stack_ports: set[int]
) -> None:
    pids = [procs.read_pid(settings.pid_file(svc.name), str(settings.home)) for svc in SERVICES]
    sockets = procs.sockets_of(pid for pid in pids if pid is not None)

    assert sockets
    assert {addr for _, addr, _ in sockets} <= LOOPBACK, sockets
    main_ports = {settings.port(svc.port) for svc in SERVICES}
    assert main_ports <= {port for _, _, port in sockets}

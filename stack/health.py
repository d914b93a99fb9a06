"""Health checks of the stack's services; each answers True or False and never raises."""

from __future__ import annotations

import json
import socket
import struct
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

API_VERSIONS_KEY = 18


def kafka_answers(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """Return True if a Kafka broker at host:port answers an ApiVersions request without error."""
    client_id = b"stack-health"
    header = struct.pack(">hhih", API_VERSIONS_KEY, 0, 1, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(struct.pack(">i", len(header)) + header)
            size = struct.unpack(">i", _recv(sock, 4))[0]
            body = _recv(sock, size)
    except (OSError, struct.error):
        return False
    correlation_id, error_code = struct.unpack(">ih", body[:6])
    return correlation_id == 1 and error_code == 0


def _recv(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def http_json(url: str, timeout_s: float = 3.0) -> Any:
    """GET ``url`` and return its JSON body, or None on any error or non-2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = response.read()
    except (OSError, urllib.error.URLError, ValueError):
        return None
    try:
        return json.loads(body) if body else {}
    except ValueError:
        return None


def http_ok(url: str, timeout_s: float = 3.0) -> bool:
    """Return True if GET ``url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return 200 <= response.status < 300
    except (OSError, urllib.error.URLError, ValueError):
        return False


def mysql_answers(socket_path: Path) -> bool:
    """Return True if MariaDB answers ``SELECT 1`` as root on its Unix socket."""
    import MySQLdb

    try:
        conn = MySQLdb.connect(unix_socket=str(socket_path), user="root", connect_timeout=2)
    except MySQLdb.Error:
        return False
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)
    except MySQLdb.Error:
        return False
    finally:
        conn.close()


def bucket_answers(endpoint: str, bucket: str, key: str, secret: str) -> bool:
    """Return True if the S3 store at ``endpoint`` has ``bucket`` and accepts the keys."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1}),
    )
    try:
        client.head_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError):
        return False
    return True


def connector_running(connect_url: str, name: str) -> bool:
    """Return True if Connect reports connector ``name`` and all its tasks RUNNING."""
    status = http_json(f"{connect_url}/connectors/{name}/status")
    if not isinstance(status, dict):
        return False
    tasks = status.get("tasks") or []
    return (
        status.get("connector", {}).get("state") == "RUNNING"
        and bool(tasks)
        and all(task.get("state") == "RUNNING" for task in tasks)
    )

"""Helpers shared by tests in several folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def records_in(client: Any, bucket: str, topic: str) -> list[dict[str, Any]]:
    """Return every record of every object the S3 sink wrote for ``topic``, in key order."""
    records = []
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"topics/{topic}/partition=0/"
    )
    for page in pages:
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            records += [json.loads(line) for line in body.splitlines() if line.strip()]
    return records


def stdout_under_hash_seeds(code: str, hash_seeds: tuple[str, ...] = ("1", "2")) -> set[str]:
    """Run ``code`` in a fresh interpreter per ``PYTHONHASHSEED``; return the distinct outputs."""
    return {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in hash_seeds
    }

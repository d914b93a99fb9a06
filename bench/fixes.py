"""Previews of product fixes the benchmarks propose, applied only with ``BENCH_PREVIEW_FIXES=1``.

They let ``make bench`` show the figures a fix would give before the product's owners make
it. They patch the imported product modules of the benchmark's own task processes; nothing
on disk changes, and without the variable the product runs as it is.

* ``read_json_lines``: ``kafka_rest.batching.read_json_lines`` iterates over the file that
  ``ObjectStoragePath.open("rb")`` returns. For S3 that is an fsspec ``AbstractBufferedFile``,
  whose ``readline`` reads a whole block (s3fs: 50 MiB) from its cache for every line and
  seeks back, so reading a staged file costs lines x min(block, file size): quadratic up to
  50 MiB. The preview wraps the file in ``io.BufferedReader``, which reads 1 MiB at a time.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any

PREVIEW_VARIABLE = "BENCH_PREVIEW_FIXES"
READ_BUFFER_BYTES = 1 << 20


def enabled() -> bool:
    """Return whether the previews are switched on in this process's environment."""
    return os.environ.get(PREVIEW_VARIABLE, "0") not in ("", "0", "false", "no")


def buffered_read_json_lines(uri: str) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSON Lines file, like ``read_json_lines``, in linear time."""
    from airflow.sdk import ObjectStoragePath

    from kafka_rest import batching

    with (
        ObjectStoragePath(uri).open("rb") as handle,
        io.BufferedReader(handle, buffer_size=READ_BUFFER_BYTES) as lines,
    ):
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_constant=batching._refuse_constant)
            except ValueError as e:
                raise ValueError(f"Line {number} of {uri} is not valid JSON: {e}") from None
            if not isinstance(value, dict):
                raise ValueError(
                    f"Line {number} of {uri} must be a JSON object, got {type(value).__name__}"
                )
            yield value


def apply() -> list[str]:
    """Patch the product modules if the previews are enabled; return the names applied."""
    if not enabled():
        return []
    from kafka_rest import batching

    batching.read_json_lines = buffered_read_json_lines
    return ["read_json_lines"]

"""Where a run keeps its batch and extracted rows between tasks.

Rows never travel through XCom: each task writes them to object storage and passes on a URI.
The default location is a ``staging/`` prefix in the run's bucket, reached through the S3
connection; ``PINTEREST_STAGING_URL`` moves it (any ``ObjectStoragePath`` URI, such as
``file:///data/staging`` or ``s3://other_conn@other-bucket/prefix``).
"""

from __future__ import annotations

import os
import re

STAGING_URL_VARIABLE = "PINTEREST_STAGING_URL"
#: Bytes a staged file is written in: the part size of an S3 multipart upload, and so the most
#: a task buffers, whatever the batch size. S3 parts are at least 5 MiB; 8 MiB is the AWS
#: CLI's part size. (fsspec's S3 default, 50 MiB, made a task's memory grow with the batch
#: up to about three times that.)
STAGING_BLOCK_SIZE = 8 * 1024 * 1024


def staging_url(s3_conn_id: str, bucket: str, dag_id: str, run_id: str) -> str:
    """Return the URI of the folder holding one run's staged files.

    The run id is reduced to characters that are safe in every object store's keys.
    """
    base = os.environ.get(STAGING_URL_VARIABLE) or f"s3://{s3_conn_id}@{bucket}/staging"
    run_part = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    return f"{base.rstrip('/')}/{dag_id}/{run_part}"

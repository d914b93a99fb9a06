"""Run parameters of the pipeline: their limits and their validation.

The same limits feed the DAG's trigger form (as JSON schema) and the check that runs before
anything is sent, so a value the form would refuse is refused on every other path too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_USER_ID = "128a59195de3"
DEFAULT_BATCH_SIZE = 500
MAX_BATCH_SIZE = 100_000

# A user id becomes part of three topic names and of S3 keys: letters, digits, '_' and '-'
# only, so it can neither add a path segment nor a topic-name dot.
USER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# S3 bucket naming rules (general purpose buckets); the trigger form gets them too, the
# IP-address rule included (validate_bucket checks that one again with ipaddress).
BUCKET_PATTERN = (
    r"^(?!xn--)(?!sthree-)(?!.*\.\.)(?!.*-s3alias$)(?!.*--ol-s3$)(?!(\d{1,3}\.){3}\d{1,3}$)"
    r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
)


class InvalidParamError(ValueError):
    """A run parameter is missing or has a value the pipeline refuses."""


@dataclass(frozen=True)
class RunSettings:
    """Validated parameters of one run.

    :param user_id: Prefix of the three topic names.
    :param batch_size: How many post events to send.
    :param bucket: Bucket the S3 sink writes to.
    """

    user_id: str
    batch_size: int
    bucket: str


def default_bucket(user_id: str = DEFAULT_USER_ID) -> str:
    """Return the bucket name the original pipeline used for ``user_id``."""
    return f"user-{user_id}-bucket"


def validate_user_id(value: Any) -> str:
    """Return ``value`` if it is a usable user id.

    :raises InvalidParamError: if it is not a string of 1 to 64 letters, digits, '_' or '-'.
    """
    if not isinstance(value, str) or not re.fullmatch(USER_ID_PATTERN, value):
        raise InvalidParamError(
            f"param user_id={value!r} is invalid: use 1 to 64 letters, digits, '_' or '-'"
        )
    return value


def validate_batch_size(value: Any) -> int:
    """Return ``value`` as an int if it is a batch size from 1 to ``MAX_BATCH_SIZE``.

    Integral strings (as a form may send) are accepted; booleans and fractions are not.

    :raises InvalidParamError: if it is not a whole number in range.
    """
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        number = int(value)
    else:
        number = None
    if number is None or not 1 <= number <= MAX_BATCH_SIZE:
        raise InvalidParamError(
            f"param batch_size={value!r} is invalid: use a whole number from 1 to {MAX_BATCH_SIZE}"
        )
    return number


def validate_bucket(value: Any) -> str:
    """Return ``value`` if S3 would accept it as a bucket name.

    :raises InvalidParamError: if it breaks the S3 bucket naming rules.
    """
    if not isinstance(value, str) or not re.fullmatch(BUCKET_PATTERN, value):
        raise InvalidParamError(
            f"param bucket={value!r} is invalid: S3 bucket names are 3 to 63 lowercase "
            "letters, digits, '.' and '-', starting and ending with a letter or digit"
        )
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return value
    raise InvalidParamError(f"param bucket={value!r} is invalid: it looks like an IP address")


def validate_params(params: Mapping[str, Any]) -> RunSettings:
    """Validate the DAG run's params and return them as :class:`RunSettings`.

    :raises InvalidParamError: naming the first bad param and its value.
    """
    user_id = validate_user_id(params.get("user_id", DEFAULT_USER_ID))
    batch_size = validate_batch_size(params.get("batch_size", DEFAULT_BATCH_SIZE))
    bucket = validate_bucket(params.get("bucket") or default_bucket(user_id))
    return RunSettings(user_id=user_id, batch_size=batch_size, bucket=bucket)

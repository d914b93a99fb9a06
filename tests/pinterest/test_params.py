from __future__ import annotations

import pytest

from include.pinterest.params import (
    MAX_BATCH_SIZE,
    InvalidParamError,
    RunSettings,
    validate_params,
)


def test_defaults_give_the_original_user_and_bucket() -> None:
    assert validate_params({}) == RunSettings("128a59195de3", 500, "user-128a59195de3-bucket")


def test_bucket_follows_user_id_when_not_given() -> None:
    assert validate_params({"user_id": "abc"}).bucket == "user-abc-bucket"


@pytest.mark.parametrize("value", [1, MAX_BATCH_SIZE, "25", " 7 "])
def test_batch_size_accepts_whole_numbers_in_range(value: object) -> None:
    assert validate_params({"batch_size": value}).batch_size == int(str(value))


@pytest.mark.parametrize(
    "value", [0, -1, MAX_BATCH_SIZE + 1, "ten", "1.5", 2.0, True, None, "", [5]]
)
def test_batch_size_refuses_bad_values_naming_them(value: object) -> None:
    with pytest.raises(InvalidParamError, match=r"batch_size=") as err:
        validate_params({"batch_size": value})
    assert repr(value) in str(err.value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "has space",
        "a/b",
        "a.b",
        "../etc",
        "x" * 65,
        "x'; DROP TABLE user_data; --",
        "{{ 7 * 7 }}",
        "é",
        7,
    ],
)
def test_user_id_refuses_anything_that_could_change_a_topic_or_path(value: object) -> None:
    with pytest.raises(InvalidParamError, match="user_id="):
        validate_params({"user_id": value})


@pytest.mark.parametrize(
    "value",
    [
        "ab",
        "Upper-case",
        "-leading-dash",
        "trailing-dash-",
        "two..dots",
        "xn--punycode",
        "192.168.1.2",
        "under_score",
        "b" * 64,
        "a/b",
    ],
)
def test_bucket_refuses_names_s3_would_refuse(value: str) -> None:
    with pytest.raises(InvalidParamError, match="bucket="):
        validate_params({"bucket": value})


@pytest.mark.parametrize("value", ["abc", "my.bucket-1", "b" * 63])
def test_bucket_accepts_valid_names(value: str) -> None:
    assert validate_params({"bucket": value}).bucket == value

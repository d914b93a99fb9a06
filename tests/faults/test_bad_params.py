"""Bad and hostile params: refused by the trigger-time schema and by the first task."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import ParamValidationError

from include.pinterest.params import InvalidParamError, validate_params
from include.pinterest.tables import quote_identifier
from tests.faults.conftest import dags_test

DAGS = Path(__file__).resolve().parents[2] / "dags"

BAD_PARAMS = [
    {"batch_size": 0},
    {"batch_size": -1},
    {"batch_size": 100_001},
    {"batch_size": "ten"},
    {"batch_size": 2.5},
    {"user_id": "has space"},
    {"user_id": "a/b"},
    {"user_id": "a.b"},
    {"user_id": "x" * 65},
    {"user_id": ""},
    {"user_id": "x/../y"},
    {"user_id": "x'; DROP TABLE pinterest_data; --"},
    {"user_id": "{{ 7*7 }}"},
    {"bucket": "Upper_Case"},
    {"bucket": "ab"},
    {"bucket": "192.168.1.1"},
    {"bucket": "xn--bucket"},
    {"bucket": "bucket..name"},
    {"bucket": "x/../y"},
    {"bucket": "b'; DROP TABLE x; --"},
]


@pytest.fixture(scope="module")
def dag() -> Any:
    return DagBag(dag_folder=str(DAGS)).dags["pinterest_emulation"]


def _name(conf: dict[str, Any]) -> str:
    ((key, value),) = conf.items()
    return f"{key}={str(value)[:20]!r}"


@pytest.mark.parametrize("conf", BAD_PARAMS, ids=_name)
def test_refused_by_the_trigger_form_schema_and_by_the_first_task(
    dag: Any, conf: dict[str, Any]
) -> None:
    ((key, value),) = conf.items()
    params = copy.deepcopy(dag.params)
    with pytest.raises(ParamValidationError, match=f"Invalid input for param {key}"):
        params[key] = value
    with pytest.raises(InvalidParamError, match=f"param {key}="):
        validate_params({**dag.params.dump(), **conf})


def test_values_at_the_limits_are_accepted(dag: Any) -> None:
    params = copy.deepcopy(dag.params)
    params["batch_size"] = 100_000
    params["user_id"] = "a" * 64
    params["bucket"] = "a-b.c1"
    params.validate()
    validate_params(params.dump())


def test_identifiers_come_from_the_allowlist() -> None:
    assert quote_identifier("index") == "`index`"
    for hostile in ("users", "index`; DROP TABLE x; --", "pinterest_data.index"):
        with pytest.raises(ValueError, match="not an allowlisted"):
            quote_identifier(hostile)


@pytest.mark.stack
@pytest.mark.parametrize(
    "conf",
    [{"batch_size": "ten"}, {"user_id": "x/../y"}, {"bucket": "b'; DROP TABLE x; --"}],
    ids=_name,
)
def test_airflow_dags_test_refuses_before_any_task_runs(
    env: dict[str, str], conf: dict[str, Any]
) -> None:
    run = dags_test(env, "2026-03-03T01:00:00+00:00", conf)

    ((key, _),) = conf.items()
    assert run.code != 0
    assert f"ParamValidationError: Invalid input for param {key}" in run.output
    assert "[DAG TEST] starting task_id" not in run.output

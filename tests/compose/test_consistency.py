"""docker-compose.yaml agrees with the DAG, the domain code and the local stack.

The truth is read from the project's code (params, tables, landing, the DAG's connection ids,
stack/settings.py), so a change there that the compose file does not follow fails here.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from include.pinterest.landing import parse_object_key, partition_prefix
from include.pinterest.params import DEFAULT_USER_ID, default_bucket
from include.pinterest.tables import TABLES
from include.seed.generator import DEFAULT_EVENTS, DEFAULT_SEED
from stack import settings as stack_settings
from tests.compose.conftest import CONNECT_DIR, ROOT

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
# Published ports that the local stack also opens, by service: (setting name, container port).
STACK_PORTS = {
    "mysql": ("MYSQL_PORT", 3306),
    "kafka": ("KAFKA_PORT", 9092),
    "rest-proxy": ("REST_PROXY_PORT", 8082),
    "connect": ("CONNECT_PORT", 8083),
    "airflow-apiserver": ("AIRFLOW_PORT", 8080),
}
EXPECTED_TOPICS = [table.topic(DEFAULT_USER_ID) for table in TABLES]


def dag_constants() -> dict[str, str]:
    tree = ast.parse((ROOT / "dags" / "pinterest_emulation.py").read_text())
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def connection(services: dict[str, Any], conn_id: str) -> dict[str, Any]:
    value = services["airflow-worker"]["environment"][f"AIRFLOW_CONN_{conn_id.upper()}"]
    return json.loads(value)


@pytest.fixture(scope="module")
def sink_config(services: dict[str, Any], register_connector: ModuleType) -> dict[str, str]:
    env = {key: str(value) for key, value in services["connect-init"]["environment"].items()}
    template = (CONNECT_DIR / "s3-sink.json").read_text()
    return register_connector.render_config(template, env)


def test_user_id_and_bucket_defaults_match_the_dag(services: dict[str, Any]) -> None:
    for name in ("airflow-worker", "connect-init"):
        env = services[name]["environment"]
        assert env["PINTEREST_USER_ID"] == DEFAULT_USER_ID
        assert env["PINTEREST_BUCKET"] == default_bucket(DEFAULT_USER_ID)
    assert services["minio-init"]["environment"]["BUCKET"] == default_bucket(DEFAULT_USER_ID)


def test_kafka_init_creates_the_three_topics_with_one_partition(
    services: dict[str, Any],
) -> None:
    init = services["kafka-init"]
    assert init["environment"]["TOPICS"].split() == EXPECTED_TOPICS
    script = init["command"][0]
    assert "for topic in ${TOPICS}; do" in script
    create = next(line for line in script.splitlines() if "--create" in line)
    for flag in ("--if-not-exists", '--topic "${topic}"', "--partitions 1"):
        assert flag in create
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_connector_reads_exactly_the_three_topics(sink_config: dict[str, str]) -> None:
    pattern = re.compile(sink_config["topics.regex"])
    for topic in EXPECTED_TOPICS:
        assert pattern.fullmatch(topic)
    for other in (f"{DEFAULT_USER_ID}xpin", f"x{DEFAULT_USER_ID}.pin", f"{DEFAULT_USER_ID}.pins"):
        assert not pattern.fullmatch(other)


def test_connector_writes_objects_the_landing_check_reads(sink_config: dict[str, str]) -> None:
    assert sink_config["connector.class"] == "io.confluent.connect.s3.S3SinkConnector"
    assert sink_config["format.class"] == "io.confluent.connect.s3.format.json.JsonFormat"
    assert sink_config["storage.class"] == "io.confluent.connect.s3.storage.S3Storage"
    assert sink_config["partitioner.class"].endswith(".DefaultPartitioner")
    # The Confluent sink names objects <topics.dir>/<topic>/partition=<p>/<topic>+<p>+<offset>
    # with the offset padded to 10 digits and the format's extension (.json for JsonFormat).
    for topic in EXPECTED_TOPICS:
        key = f"{sink_config['topics.dir']}/{topic}/partition=0/{topic}+0+{1234:010d}.json"
        assert key.startswith(partition_prefix(topic, 0))
        landed = parse_object_key(key, topic)
        assert landed is not None
        assert landed.start_offset == 1234


def test_connector_converters_and_flushing(sink_config: dict[str, str]) -> None:
    assert sink_config["key.converter"] == "org.apache.kafka.connect.storage.StringConverter"
    assert sink_config["value.converter"] == "org.apache.kafka.connect.json.JsonConverter"
    assert sink_config["value.converter.schemas.enable"] == "false"
    assert 1 <= int(sink_config["flush.size"]) <= 1000
    # Scheduled rotation is what cuts files by time with the default partitioner, and the
    # connector refuses it without a timezone.
    assert 0 < int(sink_config["rotate.schedule.interval.ms"]) <= 10_000
    assert sink_config["timezone"]


def test_connector_targets_minio_and_the_bucket(
    sink_config: dict[str, str], services: dict[str, Any]
) -> None:
    assert sink_config["s3.bucket.name"] == default_bucket(DEFAULT_USER_ID)
    assert sink_config["store.url"] == "http://minio:9000"
    assert sink_config["s3.region"] == stack_settings.S3_REGION
    assert sink_config["s3.path.style.access.enabled"] == "true"
    assert ":9000" in services["minio"]["command"]
    minio = services["minio"]["environment"]
    connect = services["connect"]["environment"]
    assert connect["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert connect["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]


def test_connector_name_matches_the_local_stack(services: dict[str, Any]) -> None:
    assert services["connect-init"]["environment"]["CONNECTOR_NAME"] == stack_settings.SINK_NAME


def test_airflow_connections_match_the_dag(services: dict[str, Any]) -> None:
    constants = dag_constants()
    mysql = connection(services, constants["MYSQL_CONN_ID"])
    rest = connection(services, constants["REST_PROXY_CONN_ID"])
    s3 = connection(services, constants["S3_CONN_ID"])
    assert [mysql["conn_type"], rest["conn_type"], s3["conn_type"]] == ["mysql", "http", "aws"]

    db = services["mysql"]["environment"]
    assert (mysql["host"], mysql["port"]) == ("mysql", 3306)
    assert mysql["schema"] == db["MYSQL_DATABASE"] == stack_settings.MYSQL_DATABASE
    assert (mysql["login"], mysql["password"]) == (db["MYSQL_USER"], db["MYSQL_PASSWORD"])

    assert (rest["host"], rest["port"], rest["schema"]) == ("rest-proxy", 8082, "http")
    assert services["rest-proxy"]["environment"]["KAFKA_REST_LISTENERS"].endswith(":8082")

    minio = services["minio"]["environment"]
    assert (s3["login"], s3["password"]) == (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])
    assert s3["extra"] == {"endpoint_url": "http://minio:9000", "region_name": "us-east-1"}


def test_every_airflow_service_has_the_connections_and_the_project_mounted(
    services: dict[str, Any],
) -> None:
    constants = dag_constants()
    assert (ROOT / "dags" / "pinterest_emulation.py").exists()
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = service["environment"]
        for key in ("MYSQL_CONN_ID", "REST_PROXY_CONN_ID", "S3_CONN_ID"):
            assert f"AIRFLOW_CONN_{constants[key].upper()}" in env, name
        assert "/opt/airflow" in env["PYTHONPATH"].split(":"), name
        for folder in ("dags", "plugins", "include"):
            assert f"./{folder}:/opt/airflow/{folder}" in service["volumes"], (name, folder)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-apiserver:8080/execution/"
        )


def test_published_ports_match_the_local_stack(compose_raw: dict[str, Any]) -> None:
    for service, (setting, container_port) in STACK_PORTS.items():
        ports = compose_raw["services"][service]["ports"]
        expected = (
            f"127.0.0.1:${{{setting}:-{stack_settings.DEFAULT_PORTS[setting]}}}:{container_port}"
        )
        assert expected in ports, service


def test_seed_service_loads_the_same_rows_as_the_local_stack(services: dict[str, Any]) -> None:
    seed = services["mysql-seed"]
    assert seed["entrypoint"] == ["python", "-m", "include.seed"]
    args = dict(arg.removeprefix("--").split("=", 1) for arg in seed["command"][1:])
    assert seed["command"][0] == "load"
    stack = stack_settings.Settings.from_env({})
    assert int(args["events"]) == stack.seed_events == DEFAULT_EVENTS
    assert int(args["seed"]) == stack.seed == DEFAULT_SEED
    assert args["host"] == "mysql"
    assert args["database"] == services["mysql"]["environment"]["MYSQL_DATABASE"]
    assert args["user"] == services["mysql"]["environment"]["MYSQL_USER"]
    assert seed["environment"]["MYSQL_PWD"] == services["mysql"]["environment"]["MYSQL_PASSWORD"]
    assert "./include:/opt/airflow/include:ro" in seed["volumes"]


def test_airflow_image_installs_the_project_requirements() -> None:
    dockerfile = (ROOT / "docker" / "airflow" / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r /home/airflow/requirements.txt" in dockerfile
    pinned = (ROOT / "requirements.txt").read_text()
    version = re.search(r"^apache-airflow==(\S+)$", pinned, re.MULTILINE)
    assert version is not None
    base = re.search(r"^ARG AIRFLOW_BASE_IMAGE=apache/airflow:(\S+)$", dockerfile, re.MULTILINE)
    assert base is not None
    assert base[1].split("-")[0] == version[1], "base image and requirements.txt disagree"
    ignore = (ROOT / "docker" / "airflow" / "Dockerfile.dockerignore").read_text().splitlines()
    assert [line for line in ignore if line and not line.startswith("#")] == [
        "*",
        "!requirements.txt",
    ]


def test_dockerfile_defaults_match_the_compose_build_args(services: dict[str, Any]) -> None:
    for service, dockerfile in (
        ("airflow-worker", ROOT / "docker" / "airflow" / "Dockerfile"),
        ("connect", CONNECT_DIR / "Dockerfile"),
    ):
        text = Path(dockerfile).read_text()
        for arg, value in services[service]["build"]["args"].items():
            assert f"ARG {arg}={value}\n" in text, (service, arg)

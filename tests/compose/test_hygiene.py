"""docker-compose.yaml is safe to start: loopback-only ports, health checks, a sound start order."""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter
from typing import Any

import pytest

# host_ip:host_port:container_port[/protocol], the only short form the file may use.
PORT = re.compile(r"^(?P<ip>[^:]+):(?P<host>\d+):(?P<container>\d+)(?:/(?:tcp|udp))?$")


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def one_shot_services(services: dict[str, Any]) -> set[str]:
    """Services some other service waits for to finish."""
    return {
        name
        for service in services.values()
        for name, spec in depends_on(service).items()
        if spec.get("condition") == "service_completed_successfully"
    }


def test_every_published_port_binds_to_loopback(services: dict[str, Any]) -> None:
    published = 0
    for name, service in services.items():
        for port in service.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", (name, port)
            else:
                match = PORT.match(str(port))
                assert match, f"{name}: write ports as 127.0.0.1:HOST:CONTAINER, got {port!r}"
                assert match["ip"] == "127.0.0.1", (name, port)
            published += 1
    assert published >= 7


def test_long_running_services_have_health_checks(services: dict[str, Any]) -> None:
    one_shot = one_shot_services(services)
    for name, service in services.items():
        if name in one_shot:
            continue
        check = service.get("healthcheck")
        assert check, f"{name}: no healthcheck"
        assert check.get("test"), f"{name}: healthcheck without a test"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        assert service.get("restart") in ("always", "unless-stopped"), name


def test_one_shot_services_run_once_and_publish_nothing(services: dict[str, Any]) -> None:
    one_shot = one_shot_services(services)
    assert {"mysql-seed", "kafka-init", "minio-init", "connect-init", "airflow-init"} <= one_shot
    for name in one_shot:
        assert services[name].get("restart") == "no", name
        assert "ports" not in services[name], name


def test_depends_on_names_existing_services_with_meaningful_conditions(
    services: dict[str, Any],
) -> None:
    for name, service in services.items():
        for target, spec in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition")
            assert condition in ("service_healthy", "service_completed_successfully"), (
                name,
                target,
            )
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}'s health"


def test_start_order_has_no_cycle(services: dict[str, Any]) -> None:
    graph = {name: set(depends_on(service)) for name, service in services.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        pytest.fail(f"depends_on cycle: {err.args[1]}")
    assert order.index("connect-init") < order.index("airflow-worker")
    assert order.index("mysql-seed") < order.index("airflow-worker")


def test_images_are_pinned_to_a_version(services: dict[str, Any]) -> None:
    for name, service in services.items():
        references = [service["image"]] + [
            value
            for key, value in service.get("build", {}).get("args", {}).items()
            if key.endswith("_IMAGE")
        ]
        for reference in references:
            repository, _, tag = reference.rpartition(":")
            assert repository, f"{name}: {reference} has no tag"
            assert "/" not in tag, f"{name}: {reference} has no tag"
            assert tag != "latest", f"{name}: {reference} is not pinned"
            assert re.search(r"\d", tag), f"{name}: {reference} is not pinned"

"""Register a Kafka Connect connector from a JSON template and wait until it runs.

Used by the ``connect-init`` service of docker-compose.yaml. The template is the connector's
config with ``${NAME}`` placeholders filled from the environment. ``PUT
/connectors/<name>/config`` creates the connector or updates it, so running this twice is
safe. Exits 0 once the connector and all its tasks are RUNNING; exits 1, saying why, if a
placeholder has no value, Connect refuses the config, a task fails, or the timeout passes.

Standard library only: it runs with any Python 3.11+.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from string import Template
from typing import Any

log = logging.getLogger("register_connector")

# The user id becomes part of a regex and of topic names: letters, digits, '_' and '-' only,
# as the DAG's params require.
USER_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
REQUEST_TIMEOUT_SECONDS = 10


class RegistrationError(RuntimeError):
    """The connector could not be registered or did not start."""


def render_config(template: str, env: Mapping[str, str]) -> dict[str, str]:
    """Return the connector config of ``template`` with its placeholders filled from ``env``.

    :raises RegistrationError: if a placeholder has no value, the user id is unusable, or the
        result is not a JSON object of strings.
    """
    user_id = env.get("PINTEREST_USER_ID", "")
    if not USER_ID_PATTERN.fullmatch(user_id):
        raise RegistrationError(
            f"PINTEREST_USER_ID={user_id!r} is invalid: use 1 to 64 letters, digits, '_' or '-'"
        )
    try:
        text = Template(template).substitute(env)
    except KeyError as err:
        raise RegistrationError(f"the connector template needs ${{{err.args[0]}}}") from None
    except ValueError as err:
        raise RegistrationError(f"the connector template is malformed: {err}") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise RegistrationError(f"the rendered connector config is not JSON: {err}") from None
    if not isinstance(config, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in config.items()
    ):
        raise RegistrationError("the connector config must be a JSON object of strings")
    return config


def _request(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, payload = err.code, err.read()
    try:
        return status, json.loads(payload) if payload else None
    except json.JSONDecodeError:
        return status, payload.decode(errors="replace")


def put_config(connect_url: str, name: str, config: Mapping[str, str]) -> None:
    """Create or update connector ``name`` with ``config``.

    :raises RegistrationError: with Connect's status and message if it refuses the config.
    :raises OSError: if Connect cannot be reached, is rebalancing (409) or fails (5xx).
    """
    status, payload = _request("PUT", f"{connect_url}/connectors/{name}/config", dict(config))
    if status == 409 or status >= 500:
        # A rebalance in progress or a worker still starting: worth another try.
        raise ConnectionError(f"HTTP {status} from Connect: {payload}")
    if status not in (200, 201):
        raise RegistrationError(f"Connect refused connector {name}: HTTP {status}: {payload}")
    log.info("Connector %s %s", name, "created" if status == 201 else "updated")


def connector_state(connect_url: str, name: str) -> tuple[str, list[str]]:
    """Return the state of connector ``name`` and of each of its tasks.

    :raises RegistrationError: if a task has FAILED, with the first line of its trace.
    :raises OSError: if Connect cannot be reached.
    """
    status, payload = _request("GET", f"{connect_url}/connectors/{name}/status")
    if status != 200 or not isinstance(payload, dict):
        return f"HTTP {status}", []
    tasks = payload.get("tasks") or []
    for task in tasks:
        if task.get("state") == "FAILED":
            trace = (task.get("trace") or "no trace").splitlines()[0]
            raise RegistrationError(f"task {task.get('id')} of {name} failed: {trace}")
    return payload.get("connector", {}).get("state", "UNKNOWN"), [t.get("state") for t in tasks]


def register(connect_url: str, name: str, config: Mapping[str, str], timeout: float) -> None:
    """Register connector ``name`` and wait until it and all its tasks are RUNNING.

    Connection errors are retried until ``timeout`` seconds have passed.

    :raises RegistrationError: if Connect refuses the config, a task fails, or time runs out.
    """
    deadline = time.monotonic() + timeout
    registered = False
    last = "not registered"
    while time.monotonic() < deadline:
        try:
            if not registered:
                put_config(connect_url, name, config)
                registered = True
            state, tasks = connector_state(connect_url, name)
        except OSError as err:
            last = f"Connect at {connect_url} unreachable: {err}"
        else:
            last = f"connector {state}, tasks {tasks or 'none yet'}"
            if state == "RUNNING" and tasks and all(t == "RUNNING" for t in tasks):
                log.info("Connector %s is RUNNING with %d task(s)", name, len(tasks))
                return
            if state == "FAILED":
                raise RegistrationError(f"connector {name} FAILED")
        log.info("Waiting for %s: %s", name, last)
        time.sleep(2)
    raise RegistrationError(f"connector {name} not running after {timeout:.0f} s ({last})")


def main(argv: list[str] | None = None) -> int:
    """Register the connector named by ``CONNECTOR_NAME``; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect-url", required=True, help="e.g. http://connect:8083")
    parser.add_argument("--config", required=True, help="path of the JSON template")
    parser.add_argument("--name", default=os.environ.get("CONNECTOR_NAME"), help="connector")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds (default 180)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not args.name:
        parser.error("--name or CONNECTOR_NAME is required")
    try:
        with open(args.config, encoding="utf-8") as handle:
            config = render_config(handle.read(), os.environ)
        register(args.connect_url.rstrip("/"), args.name, config, args.timeout)
    except (OSError, RegistrationError) as err:
        log.error("Registering %s failed: %s", args.name, err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

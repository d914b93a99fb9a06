"""Settings of the local stack: ports, paths and generated secrets, all from the environment."""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KAFKA_VERSION = "4.4.0"
SINK_NAME = "pinterest-s3-sink"
MYSQL_USER = "pinterest"
MYSQL_DATABASE = "pinterest_data"
S3_REGION = "us-east-1"
TOPIC_KINDS = ("pin", "geo", "user")
SECRETS_FILE = "secrets.env"


class StackError(RuntimeError):
    """A stack operation failed; the message says which service and why."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise StackError(f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True)
class Settings:
    """Every tunable of the stack, read once from environment variables with defaults.

    :param home: the one folder holding data, logs, pid files, jars and secrets.
    :param ports: service port by setting name, e.g. ``KAFKA_PORT``.
    """

    home: Path
    ports: dict[str, int]
    user_id: str
    bucket: str
    seed_events: int
    seed: int
    flush_ms: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: the process environment)."""
        env = os.environ if env is None else env
        ports = {name: _int(env, name, default) for name, default in DEFAULT_PORTS.items()}
        user_id = env.get("PINTEREST_USER_ID") or "128a59195de3"
        if not all(c in string.ascii_letters + string.digits + "_-" for c in user_id):
            raise StackError(f"PINTEREST_USER_ID={user_id!r}: use letters, digits, _ and -")
        home = Path(env.get("STACK_HOME") or REPO / ".stack").resolve()
        return cls(
            home=home,
            ports=ports,
            user_id=user_id,
            bucket=env.get("PINTEREST_BUCKET") or f"user-{user_id}-bucket",
            seed_events=_int(env, "PINTEREST_SEED_EVENTS", 11000),
            seed=_int(env, "PINTEREST_SEED", 42),
            flush_ms=_int(env, "SINK_FLUSH_MS", 3000),
        )

    def port(self, name: str) -> int:
        """Return the port set by environment variable ``name``."""
        return self.ports[name]

    @property
    def topics(self) -> list[str]:
        """The three topics of the configured user id."""
        return [f"{self.user_id}.{kind}" for kind in TOPIC_KINDS]

    def data_dir(self, service: str) -> Path:
        """Return the data folder of ``service``."""
        return self.home / "data" / service

    def conf_dir(self, service: str) -> Path:
        """Return the folder of the rendered configuration files of ``service``."""
        return self.home / "conf" / service

    def log_file(self, service: str) -> Path:
        """Return the log file of ``service``."""
        return self.home / "logs" / f"{service}.log"

    def pid_file(self, service: str) -> Path:
        """Return the pid file of ``service``."""
        return self.home / "run" / f"{service}.pid"

    @property
    def mysql_socket(self) -> Path:
        """The MariaDB server's Unix socket."""
        return self.home / "run" / "mysql.sock"

    @property
    def kafka_bootstrap(self) -> str:
        """The Kafka bootstrap address."""
        return f"127.0.0.1:{self.port('KAFKA_PORT')}"

    @property
    def s3_endpoint(self) -> str:
        """The S3 endpoint URL of SeaweedFS."""
        return f"http://127.0.0.1:{self.port('S3_PORT')}"


# Every port the stack opens, by the environment variable that moves it. SeaweedFS opens
# port+10000 for gRPC next to each of its four ports; its defaults keep clear of Airflow's 8080.
DEFAULT_PORTS = {
    "MYSQL_PORT": 3306,
    "KAFKA_PORT": 9092,
    "KAFKA_CONTROLLER_PORT": 9093,
    "REST_PROXY_PORT": 8082,
    "CONNECT_PORT": 8083,
    "S3_PORT": 8333,
    "S3_MASTER_PORT": 9333,
    "S3_VOLUME_PORT": 8084,
    "S3_FILER_PORT": 8888,
    "S3_ADMIN_PORT": 23646,
    "AIRFLOW_PORT": 8080,
}


@dataclass(frozen=True)
class Secrets:
    """Credentials generated on the first ``up`` and kept in ``$STACK_HOME/secrets.env``."""

    mysql_password: str
    s3_access_key: str
    s3_secret_key: str

    @classmethod
    def load_or_create(cls, home: Path) -> Secrets:
        """Read the secrets file, creating it (mode 600) with fresh random values if absent."""
        path = home / SECRETS_FILE
        if path.exists():
            return cls._read(path)
        home.mkdir(parents=True, exist_ok=True)
        value = cls(
            mysql_password=_random(24),
            s3_access_key=_random(20, string.ascii_uppercase + string.digits),
            s3_secret_key=_random(40),
        )
        text = "".join(f"{key}={val}\n" for key, val in value._pairs().items())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        return value

    @classmethod
    def _read(cls, path: Path) -> Secrets:
        pairs = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        try:
            return cls(
                mysql_password=pairs["MYSQL_PASSWORD"],
                s3_access_key=pairs["S3_ACCESS_KEY"],
                s3_secret_key=pairs["S3_SECRET_KEY"],
            )
        except KeyError as err:
            raise StackError(f"{path} lacks {err.args[0]}: delete it to regenerate") from None

    def _pairs(self) -> dict[str, str]:
        return {
            "MYSQL_PASSWORD": self.mysql_password,
            "S3_ACCESS_KEY": self.s3_access_key,
            "S3_SECRET_KEY": self.s3_secret_key,
        }

    def __repr__(self) -> str:
        return "Secrets(<hidden>)"


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def airflow_env(settings: Settings | None = None) -> dict[str, str]:
    """Return the environment that points Airflow and the DAG at the local stack.

    Includes the three ``AIRFLOW_CONN_*`` connections with the generated credentials.
    """
    settings = settings or Settings.from_env()
    keys = Secrets.load_or_create(settings.home)
    venv_bin = str(REPO / ".venv" / "bin")
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    airflow_port = settings.port("AIRFLOW_PORT")
    mysql = {
        "conn_type": "mysql",
        "host": "127.0.0.1",
        "port": settings.port("MYSQL_PORT"),
        "login": MYSQL_USER,
        "password": keys.mysql_password,
        "schema": MYSQL_DATABASE,
    }
    rest = {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": settings.port("REST_PROXY_PORT"),
        "schema": "http",
    }
    s3 = {
        "conn_type": "aws",
        "login": keys.s3_access_key,
        "password": keys.s3_secret_key,
        "extra": {"endpoint_url": settings.s3_endpoint, "region_name": S3_REGION},
    }
    return {
        "STACK_HOME": str(settings.home),
        "AIRFLOW_HOME": str(settings.home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(airflow_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{airflow_port}/execution/",
        "PYTHONPATH": str(REPO),
        "PATH": os.pathsep.join([venv_bin, *path]),
        "PINTEREST_USER_ID": settings.user_id,
        "PINTEREST_BUCKET": settings.bucket,
        "AIRFLOW_CONN_PINTEREST_MYSQL": json.dumps(mysql),
        "AIRFLOW_CONN_KAFKA_REST_PROXY": json.dumps(rest),
        "AIRFLOW_CONN_PINTEREST_S3": json.dumps(s3),
    }

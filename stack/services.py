"""The services of the local stack as data: how each is prepared, started and checked."""

from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from stack import health
from stack.settings import (
    KAFKA_VERSION,
    MYSQL_DATABASE,
    MYSQL_USER,
    REPO,
    S3_REGION,
    SINK_NAME,
    Secrets,
    Settings,
    StackError,
)

CONF = REPO / "stack" / "conf"
JAVA17_HOME = Path("/usr/lib/jvm/java-17-openjdk-amd64")
SEAWEED_PORTS = ("S3_PORT", "S3_MASTER_PORT", "S3_VOLUME_PORT", "S3_FILER_PORT", "S3_ADMIN_PORT")
GRPC_OFFSET = 10000


@dataclass(frozen=True)
class Context:
    """What every service step needs: the settings and the generated secrets."""

    settings: Settings
    secrets: Secrets


@dataclass(frozen=True)
class Service:
    """One long-running process of the stack.

    :param name: short name, used for its log, pid and data folders.
    :param port: the setting name of the port it serves (its health check's port).
    :param prepare: writes its configuration and initialises its data; runs before each start.
    :param command: its command line.
    :param healthy: its health check.
    :param other_ports: setting names of further ports it opens.
    :param grpc: whether each of its ports also opens port + 10000 (SeaweedFS).
    :param java_home: the JDK to run it with, for Java services.
    :param timeout_s: how long ``up`` waits for it to become healthy.
    """

    name: str
    port: str
    prepare: Callable[[Context], None]
    command: Callable[[Context], list[str]]
    healthy: Callable[[Context], bool]
    other_ports: tuple[str, ...] = ()
    grpc: bool = False
    java_home: Path | None = None
    timeout_s: float = 90.0
    env: dict[str, str] = field(default_factory=dict)

    def ports(self, settings: Settings) -> list[int]:
        """Return every port this service opens."""
        ports = [settings.port(name) for name in (self.port, *self.other_ports)]
        if self.grpc:
            ports += [port + GRPC_OFFSET for port in ports]
        return ports

    def process_env(self) -> dict[str, str]:
        """Return the environment to start this service with."""
        env = {**os.environ, **self.env}
        if self.java_home is not None:
            env["JAVA_HOME"] = str(self.java_home)
            env["PATH"] = f"{self.java_home / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env


def render(template: str, target: Path, mode: int = 0o644, **values: object) -> Path:
    """Fill ``stack/conf/<template>`` with ``values`` into ``target`` (only if it changed)."""
    try:
        text = string.Template((CONF / template).read_text()).substitute(values)
    except (KeyError, ValueError) as err:
        raise StackError(f"stack/conf/{template}: no value for {err}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    os.chmod(target, mode)
    return target


def run_checked(argv: list[str], what: str, **kwargs: object) -> str:
    """Run ``argv`` to completion and return its output; raise StackError naming ``what``."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip().splitlines()[-40:]
        raise StackError(f"{what} failed (exit {proc.returncode}):\n" + "\n".join(output))
    return str(proc.stdout)


# --- Java ------------------------------------------------------------------------------------


def kafka_lib(settings: Settings) -> Path:
    """Return the folder of the Kafka jars (broker, tools and Connect share them)."""
    return settings.home / "lib" / "kafka"


def log4j_config(settings: Settings, level: str) -> Path:
    """Render the Log4j2 configuration at ``level`` and return its path."""
    target = settings.home / "conf" / f"log4j2-{level.lower()}.properties"
    return render("log4j2.properties", target, level=level)


def java(
    settings: Settings, main: str, heap: str, *args: str, level: str = "INFO", java_home: Path
) -> list[str]:
    """Return a java command line for ``main`` on the Kafka class path."""
    lib = kafka_lib(settings)
    if not any(lib.glob("*.jar")):
        raise StackError(f"no jars in {lib}: run `launcher.py install` (make deps)")
    return [
        str(java_home / "bin" / "java"),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dlog4j2.configurationFile={log4j_config(settings, level)}",
        "-cp",
        f"{lib}/*",
        main,
        *args,
    ]


def kafka_tool(ctx: Context, main: str, *args: str) -> str:
    """Run a Kafka command-line tool to completion and return its output."""
    argv = java(ctx.settings, main, "256m", *args, level="WARN", java_home=JAVA17_HOME)
    argv.insert(1, "-XX:TieredStopAtLevel=1")
    return run_checked(argv, f"kafka tool {main.rsplit('.', 1)[-1]}")


# --- MariaDB ---------------------------------------------------------------------------------


def mariadb_prepare(ctx: Context) -> None:
    """Create the private MariaDB data folder on first use."""
    datadir = ctx.settings.data_dir("mariadb")
    if (datadir / "mysql").is_dir():
        return
    if datadir.exists():
        shutil.rmtree(datadir)
    datadir.mkdir(parents=True)
    run_checked(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={datadir}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        "mariadb-install-db",
    )


def mariadb_command(ctx: Context) -> list[str]:
    """Return the mariadbd command line: own datadir and socket, 127.0.0.1 only."""
    s = ctx.settings
    return [
        "mariadbd",
        "--no-defaults",
        f"--datadir={s.data_dir('mariadb')}",
        f"--port={s.port('MYSQL_PORT')}",
        "--bind-address=127.0.0.1",
        f"--socket={s.mysql_socket}",
        f"--pid-file={s.home / 'run' / 'mariadbd.pid'}",
        "--user=root",
        "--skip-name-resolve",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
        "--innodb-buffer-pool-size=128M",
        "--max-allowed-packet=64M",
    ]


SCRATCH_DATABASES = "pinterest\\_%"


def mariadb_setup(ctx: Context) -> str:
    """Create the database and the ``pinterest`` user with the generated password."""
    import MySQLdb

    conn = MySQLdb.connect(unix_socket=str(ctx.settings.mysql_socket), user="root")
    try:
        cursor = conn.cursor()
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{MYSQL_DATABASE}` CHARACTER SET utf8mb4")
        for host in ("127.0.0.1", "localhost"):
            account = f"'{MYSQL_USER}'@'{host}'"
            password = ctx.secrets.mysql_password
            cursor.execute(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY %s", (password,))
            cursor.execute(f"ALTER USER {account} IDENTIFIED BY %s", (password,))
            cursor.execute(f"GRANT ALL PRIVILEGES ON `{MYSQL_DATABASE}`.* TO {account}")
            # Scratch databases (pinterest_*) for tests and benchmarks that need their own tables.
            cursor.execute(f"GRANT ALL PRIVILEGES ON `{SCRATCH_DATABASES}`.* TO {account}")
        conn.commit()
    finally:
        conn.close()
    return f"database {MYSQL_DATABASE}, user {MYSQL_USER}"


def seed_data(ctx: Context) -> str:
    """Load the seed data through ``include.seed`` (it loads only into empty tables)."""
    s = ctx.settings
    argv = [
        str(REPO / ".venv" / "bin" / "python"),
        "-m",
        "include.seed",
        "load",
        *("--host", "127.0.0.1", "--port", str(s.port("MYSQL_PORT")), "--user", MYSQL_USER),
        *("--database", MYSQL_DATABASE, "--events", str(s.seed_events), "--seed", str(s.seed)),
    ]
    env = {**os.environ, "MYSQL_PWD": ctx.secrets.mysql_password, "PYTHONPATH": str(REPO)}
    output = run_checked(argv, "seed (python -m include.seed load)", cwd=REPO, env=env)
    return output.strip().splitlines()[-1] if output.strip() else "done"


# --- SeaweedFS -------------------------------------------------------------------------------


def seaweed_prepare(ctx: Context) -> None:
    """Write the S3 identity file (mode 600) holding the generated keys."""
    identity = {
        "identities": [
            {
                "name": "pinterest",
                "credentials": [
                    {
                        "accessKey": ctx.secrets.s3_access_key,
                        "secretKey": ctx.secrets.s3_secret_key,
                    }
                ],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    target = ctx.settings.conf_dir("seaweedfs") / "s3.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(identity, handle, indent=2)
    ctx.settings.data_dir("seaweedfs").mkdir(parents=True, exist_ok=True)


def seaweed_command(ctx: Context) -> list[str]:
    """Return the ``weed mini`` command line: S3 with keys enforced, extras switched off."""
    s = ctx.settings
    run = s.home / "run"
    return [
        str(REPO / ".venv" / "bin" / "weed"),
        "mini",
        f"-dir={s.data_dir('seaweedfs')}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={s.port('S3_PORT')}",
        f"-master.port={s.port('S3_MASTER_PORT')}",
        f"-volume.port={s.port('S3_VOLUME_PORT')}",
        f"-filer.port={s.port('S3_FILER_PORT')}",
        f"-admin.port={s.port('S3_ADMIN_PORT')}",
        f"-filer.localSocket={run / 'seaweedfs-filer.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={s.conf_dir('seaweedfs') / 's3.json'}",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        f"-bucket={s.bucket}",
    ]


def seaweed_healthy(ctx: Context) -> bool:
    """Return True if the bucket exists and the generated keys are accepted."""
    return health.bucket_answers(
        ctx.settings.s3_endpoint,
        ctx.settings.bucket,
        ctx.secrets.s3_access_key,
        ctx.secrets.s3_secret_key,
    )


# --- Kafka -----------------------------------------------------------------------------------


def kafka_properties(ctx: Context) -> Path:
    """Render the broker's server.properties and return its path."""
    s = ctx.settings
    return render(
        "kafka.properties",
        s.conf_dir("kafka") / "server.properties",
        kafka_version=KAFKA_VERSION,
        kafka_port=s.port("KAFKA_PORT"),
        controller_port=s.port("KAFKA_CONTROLLER_PORT"),
        log_dir=s.data_dir("kafka"),
    )


def kafka_prepare(ctx: Context) -> None:
    """Render the broker's configuration and format its storage on first use."""
    config = kafka_properties(ctx)
    if (ctx.settings.data_dir("kafka") / "meta.properties").exists():
        return
    cluster_id = kafka_tool(ctx, "kafka.tools.StorageTool", "random-uuid").strip()
    kafka_tool(
        ctx,
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        cluster_id,
        "-c",
        str(config),
    )


def kafka_command(ctx: Context) -> list[str]:
    """Return the broker's command line."""
    config = ctx.settings.conf_dir("kafka") / "server.properties"
    return java(ctx.settings, "kafka.Kafka", "512m", str(config), java_home=JAVA17_HOME)


def kafka_healthy(ctx: Context) -> bool:
    """Return True if the broker answers an ApiVersions request."""
    return health.kafka_answers("127.0.0.1", ctx.settings.port("KAFKA_PORT"))


def ensure_topics(ctx: Context) -> str:
    """Create the user's three topics if missing (one partition, replication factor 1)."""
    topic_command = "org.apache.kafka.tools.TopicCommand"
    bootstrap = ["--bootstrap-server", ctx.settings.kafka_bootstrap]
    existing = set(kafka_tool(ctx, topic_command, *bootstrap, "--list").split())
    missing = [topic for topic in ctx.settings.topics if topic not in existing]
    create = ["--create", "--if-not-exists", "--partitions", "1", "--replication-factor", "1"]

    def create_one(topic: str) -> str:
        return kafka_tool(ctx, topic_command, *bootstrap, *create, "--topic", topic)

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(create_one, missing))
    return f"created {', '.join(missing)}" if missing else "all three exist"


# --- REST proxy ------------------------------------------------------------------------------


def rest_proxy_prepare(ctx: Context) -> None:
    """Render the REST proxy's properties."""
    s = ctx.settings
    render(
        "rest-proxy.properties",
        s.conf_dir("rest-proxy") / "rest-proxy.properties",
        bootstrap=s.kafka_bootstrap,
        port=s.port("REST_PROXY_PORT"),
    )


def rest_proxy_command(ctx: Context) -> list[str]:
    """Return the REST proxy's command line (a single-file Java program on Kafka's jars)."""
    s = ctx.settings
    source = REPO / "stack" / "restproxy" / "RestProxy.java"
    config = s.conf_dir("rest-proxy") / "rest-proxy.properties"
    return java(s, str(source), "256m", str(config), java_home=JAVA17_HOME)


def rest_proxy_healthy(ctx: Context) -> bool:
    """Return True if the REST proxy reports itself ready."""
    return health.http_ok(f"http://127.0.0.1:{ctx.settings.port('REST_PROXY_PORT')}/ready")


# --- Kafka Connect ---------------------------------------------------------------------------


def plugin_dir(settings: Settings) -> Path:
    """Return the Connect plugin folder of the S3 sink."""
    return settings.home / "plugins" / "s3-sink"


def connect_prepare(ctx: Context) -> None:
    """Render the worker and sink configuration; fail if the sink plugin is missing."""
    s = ctx.settings
    if not any(plugin_dir(s).glob("*.jar")):
        raise StackError(
            f"the S3 sink plugin is not installed in {plugin_dir(s)}: "
            "run `launcher.py install`; see stack/README.md, 'S3 sink connector'"
        )
    s.data_dir("connect").mkdir(parents=True, exist_ok=True)
    render(
        "connect-worker.properties",
        s.conf_dir("connect") / "worker.properties",
        kafka_version=KAFKA_VERSION,
        bootstrap=s.kafka_bootstrap,
        connect_port=s.port("CONNECT_PORT"),
        data_dir=s.data_dir("connect"),
        flush_ms=s.flush_ms,
        plugin_path=plugin_dir(s).parent,
    )
    render(
        "s3-sink.properties",
        s.conf_dir("connect") / "s3-sink.properties",
        mode=0o600,
        sink_name=SINK_NAME,
        access_key=ctx.secrets.s3_access_key,
        secret_key=ctx.secrets.s3_secret_key,
        bucket=s.bucket,
        endpoint=s.s3_endpoint,
        region=S3_REGION,
    )


def connect_command(ctx: Context) -> list[str]:
    """Return the standalone Connect worker's command line, with the sink registered."""
    conf = ctx.settings.conf_dir("connect")
    return java(
        ctx.settings,
        "org.apache.kafka.connect.cli.ConnectStandalone",
        "512m",
        str(conf / "worker.properties"),
        str(conf / "s3-sink.properties"),
        java_home=JAVA17_HOME,
    )


def connect_healthy(ctx: Context) -> bool:
    """Return True if the sink connector and its task are RUNNING."""
    url = f"http://127.0.0.1:{ctx.settings.port('CONNECT_PORT')}"
    return health.connector_running(url, SINK_NAME)


SERVICES: tuple[Service, ...] = (
    Service(
        name="mariadb",
        port="MYSQL_PORT",
        prepare=mariadb_prepare,
        command=mariadb_command,
        healthy=lambda ctx: health.mysql_answers(ctx.settings.mysql_socket),
        timeout_s=60,
    ),
    Service(
        name="seaweedfs",
        port="S3_PORT",
        other_ports=SEAWEED_PORTS[1:],
        grpc=True,
        prepare=seaweed_prepare,
        command=seaweed_command,
        healthy=seaweed_healthy,
        timeout_s=60,
    ),
    Service(
        name="kafka",
        port="KAFKA_PORT",
        other_ports=("KAFKA_CONTROLLER_PORT",),
        prepare=kafka_prepare,
        command=kafka_command,
        healthy=kafka_healthy,
        java_home=JAVA17_HOME,
        timeout_s=90,
    ),
    Service(
        name="rest-proxy",
        port="REST_PROXY_PORT",
        prepare=rest_proxy_prepare,
        command=rest_proxy_command,
        healthy=rest_proxy_healthy,
        java_home=JAVA17_HOME,
        timeout_s=60,
    ),
    Service(
        name="connect",
        port="CONNECT_PORT",
        prepare=connect_prepare,
        command=connect_command,
        healthy=connect_healthy,
        java_home=JAVA17_HOME,
        timeout_s=120,
    ),
)


def service(name: str) -> Service:
    """Return the service called ``name``; raise StackError listing the names otherwise."""
    for svc in SERVICES:
        if svc.name == name:
            return svc
    raise StackError(f"no service {name!r}; services: {', '.join(s.name for s in SERVICES)}")

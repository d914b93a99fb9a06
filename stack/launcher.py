"""Start, stop and inspect the local stack: MariaDB, SeaweedFS, Kafka, the REST proxy, Connect.

Usage: ``.venv/bin/python stack/launcher.py {install,up,down,start,stop,status,logs,env,clean}``.
Every setting comes from the environment (see stack/README.md); everything the stack writes
lives under ``$STACK_HOME`` (default ``<repo>/.stack``).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `stack` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack import procs
from stack.services import (
    JAVA17_HOME,
    SERVICES,
    Context,
    Service,
    ensure_topics,
    kafka_lib,
    mariadb_setup,
    plugin_dir,
    run_checked,
    seed_data,
    service,
)
from stack.settings import REPO, Secrets, Settings, StackError, airflow_env

__all__ = ["airflow_env", "main"]

MAVEN_DIR = REPO / "stack" / "maven"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"
LOG_TAIL = 40


@dataclass(frozen=True)
class Step:
    """A one-shot task of ``up`` that follows a service, such as creating topics."""

    name: str
    after: str
    run: Callable[[Context], str]


STEPS = (
    Step("database", "mariadb", mariadb_setup),
    Step("seed", "mariadb", seed_data),
    Step("topics", "kafka", ensure_topics),
)


@dataclass(frozen=True)
class Artifact:
    """A set of jars resolved from Maven Central by one pom of ``stack/maven``.

    :param pom: the pom's folder name under ``stack/maven``.
    :param target: where the jars go, relative to ``$STACK_HOME``.
    :param required: whether ``install`` fails when it cannot be resolved.
    """

    pom: str
    target: str
    required: bool = True


ARTIFACTS = (
    Artifact("kafka", "lib/kafka"),
    Artifact("s3-sink", "lib/s3-sink"),
)
SINK_SOURCE = REPO / "stack" / "connect-s3-sink" / "src" / "main"
SINK_JAR = "pinterest-s3-sink.jar"
JAR_NAME = re.compile(r"(?P<name>.+?)-\d[^-]*(-[A-Za-z][\w.]*)?\.jar")


def context() -> Context:
    """Return the settings and secrets (secrets are created on first use)."""
    settings = Settings.from_env()
    return Context(settings, Secrets.load_or_create(settings.home))


def say(message: str) -> None:
    """Print a progress line to stderr, keeping stdout for what commands are asked for."""
    print(message, file=sys.stderr, flush=True)


# --- install ---------------------------------------------------------------------------------


def install(settings: Settings) -> None:
    """Resolve every pom's jars into ``$STACK_HOME``, then build the S3 sink plugin.

    Each step is skipped while its stamp says its output is current.
    """
    for artifact in ARTIFACTS:
        try:
            install_artifact(settings, artifact)
        except StackError as err:
            if artifact.required:
                raise
            say(f"warning: {artifact.pom}: {err}")
    build_sink(settings)


def install_artifact(settings: Settings, artifact: Artifact) -> None:
    """Copy the runtime dependencies of one pom into its target folder.

    A pom that failed to resolve is not tried again until it changes: its digest and the
    error are kept next to the target folder.
    """
    pom = MAVEN_DIR / artifact.pom / "pom.xml"
    target = settings.home / artifact.target
    stamp = target / ".pom.sha256"
    failed = target.with_name(f".{target.name}.failed")
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    if failed.exists() and failed.read_text().startswith(digest):
        raise StackError(failed.read_text().split("\n", 1)[1].strip())
    say(f"install: resolving {pom.relative_to(REPO)} into {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        argv = ["mvn", "-q", "-B", "-f", str(pom), DEPENDENCY_PLUGIN, "-DincludeScope=runtime"]
        argv.append(f"-DoutputDirectory={tmp}/jars")
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            message = f"mvn could not resolve {pom.relative_to(REPO)}: {maven_error(proc)}"
            failed.write_text(f"{digest}\n{message}\n")
            raise StackError(message)
        if target.exists():
            shutil.rmtree(target)
        Path(tmp, "jars").rename(target)
    stamp.write_text(digest + "\n")
    failed.unlink(missing_ok=True)


def build_sink(settings: Settings) -> None:
    """Compile the project's S3 sink and lay out its Connect plugin folder.

    The plugin folder holds the sink's jar and the AWS SDK jars of ``stack/maven/s3-sink``,
    less those whose artifact the worker's class path (Kafka's jars) already has. It is
    rebuilt only when the sources, the sink's pom or Kafka's pom change.
    """
    target = plugin_dir(settings)
    stamp = target / ".build.sha256"
    digest = sink_digest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    say(f"install: building {SINK_SOURCE.parent.relative_to(REPO)} into {target}")
    kafka, sdk = kafka_lib(settings), settings.home / "lib" / "s3-sink"
    sources = sorted(str(path) for path in (SINK_SOURCE / "java").rglob("*.java"))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        classes, plugin = Path(tmp, "classes"), Path(tmp, "plugin")
        plugin.mkdir()
        bin_dir = JAVA17_HOME / "bin"
        javac = [str(bin_dir / "javac"), "--release", "17", "-Xlint:all", "-Werror"]
        javac += ["-encoding", "UTF-8", "-d", str(classes), "-cp", f"{kafka}/*:{sdk}/*"]
        run_checked([*javac, *sources], "javac of the S3 sink")
        shutil.copytree(SINK_SOURCE / "resources", classes, dirs_exist_ok=True)
        jar = [str(bin_dir / "jar"), "--create", "--file", str(plugin / SINK_JAR)]
        run_checked([*jar, "-C", str(classes), "."], "jar of the S3 sink")
        provided = {artifact_name(path.name) for path in kafka.glob("*.jar")}
        for path in sorted(sdk.glob("*.jar")):
            if artifact_name(path.name) not in provided:
                shutil.copy2(path, plugin / path.name)
        if target.exists():
            shutil.rmtree(target)
        plugin.rename(target)
    stamp.write_text(digest + "\n")


def sink_digest() -> str:
    """Return the SHA-256 of the sink's sources and of the poms it is built against."""
    digest = hashlib.sha256()
    files = sorted(path for path in SINK_SOURCE.rglob("*") if path.is_file())
    files += [MAVEN_DIR / "s3-sink" / "pom.xml", MAVEN_DIR / "kafka" / "pom.xml"]
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def artifact_name(jar: str) -> str:
    """Return the artifact name of a jar file name without its version: ``s3-2.59.1.jar`` -> s3."""
    match = JAR_NAME.fullmatch(jar)
    return match.group("name") if match else jar


def maven_error(proc: subprocess.CompletedProcess[str]) -> str:
    """Return the first error line of a failed Maven run, without Maven's decorations."""
    for line in proc.stdout.splitlines():
        if "[ERROR]" in line:
            return line.split("[ERROR]", 1)[1].strip().split(" -> [Help")[0]
    return proc.stderr.strip()[-500:]


# --- up --------------------------------------------------------------------------------------


def up(ctx: Context) -> None:
    """Start every service that is not running and wait until each is healthy."""
    began = time.monotonic()
    for svc in SERVICES:
        start_service(ctx, svc.name)
    say(f"{'total':<11}           {time.monotonic() - began:6.1f} s")


def start_service(ctx: Context, name: str) -> float:
    """Start one service unless it runs, wait until healthy, then redo its ``up`` steps.

    The steps (the database and user after mariadb, the topics after kafka) are idempotent.
    Returns the seconds it took.
    """
    svc = service(name)
    began = time.monotonic()
    elapsed, note = ensure_running(ctx, svc)
    say(f"{svc.name:<11} healthy   {elapsed:6.1f} s  {note}")
    for step in (s for s in STEPS if s.after == svc.name):
        started = time.monotonic()
        try:
            result = step.run(ctx)
        except StackError as err:
            raise StackError(f"{step.name}: {err}") from None
        say(f"{step.name:<11} done      {time.monotonic() - started:6.1f} s  {result}")
    return time.monotonic() - began


def ensure_running(ctx: Context, svc: Service) -> tuple[float, str]:
    """Start ``svc`` unless it runs and is healthy; return (seconds to healthy, a note)."""
    settings = ctx.settings
    began = time.monotonic()
    pid = procs.read_pid(settings.pid_file(svc.name), str(settings.home))
    if pid is not None:
        if procs.wait_for(lambda: svc.healthy(ctx), 5.0):
            return time.monotonic() - began, f"already running (pid {pid})"
        raise failure(ctx, svc, f"running (pid {pid}) but not healthy; try `down` then `up`")
    busy = sorted(set(svc.ports(settings)) & procs.listening_ports())
    if busy:
        raise failure(ctx, svc, f"port(s) {busy} already in use by another process")
    try:
        svc.prepare(ctx)
        argv = svc.command(ctx)
    except StackError as err:
        raise failure(ctx, svc, str(err)) from None
    log = settings.log_file(svc.name)
    pid = procs.start(argv, log, settings.pid_file(svc.name), svc.process_env(), settings.home)
    healthy = procs.wait_for(
        lambda: svc.healthy(ctx) or not procs.is_alive(pid), svc.timeout_s, interval=0.5
    )
    if not healthy or not procs.is_alive(pid):
        why = "exited" if not procs.is_alive(pid) else f"not healthy after {svc.timeout_s:.0f} s"
        raise failure(ctx, svc, why)
    return time.monotonic() - began, f"started (pid {pid})"


def failure(ctx: Context, svc: Service, why: str) -> StackError:
    """Return the error for a service that failed, with the end of its log."""
    log = ctx.settings.log_file(svc.name)
    text = procs.tail(log, LOG_TAIL)
    return StackError(f"{svc.name}: {why}\n--- last {LOG_TAIL} lines of {log} ---\n{text}")


# --- down, status, logs, clean ---------------------------------------------------------------


def stop_service(ctx: Context, name: str) -> float:
    """Stop one service started by the launcher (by its pid file) and wait for its ports.

    Services that depend on it keep running and report unhealthy until it is back.
    Returns the seconds it took; a service that is not running is left alone.
    """
    svc = service(name)
    settings = ctx.settings
    began = time.monotonic()
    pid_file = settings.pid_file(svc.name)
    pid = procs.read_pid(pid_file, str(settings.home))
    if pid is None:
        say(f"{svc.name:<11} not running")
    else:
        how = "killed" if procs.stop(pid) else "stopped"
        say(f"{svc.name:<11} {how:<9} {time.monotonic() - began:6.1f} s  (pid {pid})")
    pid_file.unlink(missing_ok=True)
    ports = set(svc.ports(settings))
    if not procs.wait_for(lambda: not ports & procs.listening_ports(), 10.0, interval=0.2):
        busy = sorted(ports & procs.listening_ports())
        raise StackError(f"{svc.name}: port(s) {busy} still in use after stop")
    return time.monotonic() - began


def down(ctx: Context) -> None:
    """Stop every service started by the launcher (by pid file), then check its ports."""
    settings = ctx.settings
    for svc in reversed(SERVICES):
        pid_file = settings.pid_file(svc.name)
        pid = procs.read_pid(pid_file, str(settings.home))
        if pid is not None:
            began = time.monotonic()
            killed = procs.stop(pid)
            how = "killed" if killed else "stopped"
            say(f"{svc.name:<11} {how:<9} {time.monotonic() - began:6.1f} s  (pid {pid})")
        pid_file.unlink(missing_ok=True)
    busy = {
        svc.name: sorted(set(svc.ports(settings)) & procs.listening_ports()) for svc in SERVICES
    }
    busy = {name: ports for name, ports in busy.items() if ports}
    if busy:
        raise StackError(f"ports still in use after down: {busy}")


def status_rows(ctx: Context) -> list[tuple[str, str, str, str, str]]:
    """Return (service, running, pid, port, health) for every service."""
    rows = []
    for svc in SERVICES:
        pid = procs.read_pid(ctx.settings.pid_file(svc.name), str(ctx.settings.home))
        healthy = pid is not None and svc.healthy(ctx)
        rows.append(
            (
                svc.name,
                "running" if pid is not None else "stopped",
                str(pid or "-"),
                str(ctx.settings.port(svc.port)),
                "healthy" if healthy else "unhealthy",
            )
        )
    return rows


def status(ctx: Context) -> bool:
    """Print the status table; return True if every service is healthy."""
    rows = [("SERVICE", "STATE", "PID", "PORT", "HEALTH"), *status_rows(ctx)]
    for row in rows:
        print(f"{row[0]:<12}{row[1]:<9}{row[2]:<9}{row[3]:<7}{row[4]}")
    return all(row[4] == "healthy" for row in rows[1:])


def logs(ctx: Context, name: str | None, lines: int) -> None:
    """Print the last ``lines`` lines of one service's log, or of every service's."""
    chosen = [service(name)] if name else list(SERVICES)
    for svc in chosen:
        log = ctx.settings.log_file(svc.name)
        print(f"==> {log} <==")
        print(procs.tail(log, lines) or "(empty)")


def clean(settings: Settings) -> None:
    """Delete ``$STACK_HOME``; refuse while any service of it runs."""
    running = [
        svc.name
        for svc in SERVICES
        if procs.read_pid(settings.pid_file(svc.name), str(settings.home)) is not None
    ]
    if running:
        raise StackError(f"refusing to clean while running: {', '.join(running)}; run `down`")
    airflow = sorted(
        pid_file.stem
        for pid_file in (settings.home / "run").glob("airflow-*.pid")
        if procs.read_pid_any(pid_file) is not None
    )
    if airflow:
        raise StackError(
            f"refusing to clean while Airflow runs: {', '.join(airflow)}; run `make ui-stop`"
        )
    if settings.home.exists():
        shutil.rmtree(settings.home)
        say(f"removed {settings.home}")


def print_env() -> None:
    """Print shell-quoted ``export`` lines for Airflow against the stack."""
    for name, value in airflow_env().items():
        print(f"export {name}={shlex.quote(value)}")


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the launcher's command line."""
    parser = argparse.ArgumentParser(prog="launcher.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("install", "up", "down", "status", "env", "clean"):
        commands.add_parser(name)
    for name, what in (("start", "Start one service"), ("stop", "Stop one service")):
        one = commands.add_parser(name, help=f"{what} (e.g. rest-proxy, kafka, connect)")
        one.add_argument("service", choices=[svc.name for svc in SERVICES])
    logs_parser = commands.add_parser("logs")
    logs_parser.add_argument("service", nargs="?")
    logs_parser.add_argument("-n", "--lines", type=int, default=30)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Carry out one command; return the exit status."""
    if args.command == "env":
        print_env()
        return 0
    if args.command == "clean":
        clean(Settings.from_env())
        return 0
    if args.command == "install":
        install(Settings.from_env())
        return 0
    ctx = context()
    if args.command == "up":
        install(ctx.settings)
        up(ctx)
    elif args.command == "down":
        down(ctx)
    elif args.command == "start":
        start_service(ctx, args.service)
    elif args.command == "stop":
        stop_service(ctx, args.service)
    elif args.command == "status":
        return 0 if status(ctx) else 1
    elif args.command == "logs":
        logs(ctx, args.service, args.lines)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, turning stack errors into a message and exit status 1."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except StackError as err:
        say(f"error: {err}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())

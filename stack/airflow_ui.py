"""Run Airflow itself on the local stack: api-server (the UI), scheduler, dag-processor, triggerer.

Usage: ``.venv/bin/python stack/airflow_ui.py {up,down,status}``.

The four processes share an ``AIRFLOW_HOME`` of their own, ``$STACK_HOME/airflow-ui``, so their
SQLite database never meets the one ``airflow dags test`` uses (``$STACK_HOME/airflow``). Tasks
run under the LocalExecutor; the UI listens on ``127.0.0.1:$AIRFLOW_PORT`` (default 8080) with
the SimpleAuthManager and one admin user whose generated password is kept, mode 600, in
``$STACK_HOME/airflow-ui/passwords.json``. Logs go to ``$STACK_HOME/logs/airflow-<name>.log``
and pid files to ``$STACK_HOME/run/airflow-<name>.pid``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `stack` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack import health, procs
from stack.settings import REPO, Settings, StackError, airflow_env

AIRFLOW = str(REPO / ".venv" / "bin" / "airflow")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
ADMIN_USER = "admin"
UI_DIR = "airflow-ui"
PASSWORDS_FILE = "passwords.json"
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
# How many task processes the LocalExecutor runs at once: the DAG's widest step is three tasks.
PARALLELISM = 4
MIGRATE_TIMEOUT_S = 300.0
HEALTHY_TIMEOUT_S = 180.0
LOG_TAIL = 40


@dataclass(frozen=True)
class Login:
    """The UI's admin login.

    :param username: the SimpleAuthManager user (role admin).
    :param password: its generated password.
    """

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Login(username={self.username!r}, password=<hidden>)"


def say(message: str) -> None:
    """Print a progress line to stderr."""
    print(message, file=sys.stderr, flush=True)


def ui_home(settings: Settings) -> Path:
    """Return the ``AIRFLOW_HOME`` of the UI's processes."""
    return settings.home / UI_DIR


def base_url(settings: Settings) -> str:
    """Return the URL of the Airflow UI and REST API."""
    return f"http://127.0.0.1:{settings.port('AIRFLOW_PORT')}"


def passwords_file(settings: Settings) -> Path:
    """Return the SimpleAuthManager's password file."""
    return ui_home(settings) / PASSWORDS_FILE


def login(settings: Settings) -> Login:
    """Return the admin login, generating its password (file mode 600) on first use."""
    path = passwords_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        alphabet = string.ascii_letters + string.digits
        password = "".join(secrets.choice(alphabet) for _ in range(20))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps({ADMIN_USER: password}) + "\n")
    path.chmod(0o600)
    try:
        password = json.loads(path.read_text())[ADMIN_USER]
    except (ValueError, KeyError):
        raise StackError(
            f"{path} has no password for {ADMIN_USER!r}: delete it to regenerate"
        ) from None
    return Login(ADMIN_USER, password)


def ui_env(settings: Settings) -> dict[str, str]:
    """Return the environment of the UI's processes: the stack's, with their own home."""
    home = ui_home(settings)
    env = dict(os.environ)
    env.update(airflow_env(settings))
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(settings)),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        }
    )
    return env


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.pid_file(f"airflow-{name}")


def _log_file(settings: Settings, name: str) -> Path:
    return settings.log_file(f"airflow-{name}")


def running_pid(settings: Settings, name: str) -> int | None:
    """Return the pid of component ``name`` if it runs and was started by this tool, else None.

    The api-server rewrites its command line and environment (setproctitle), so ownership is
    checked on "airflow" in the command line and on the working directory, which ``up`` sets
    to the UI's own home.
    """
    pid = procs.read_pid(_pid_file(settings, name), "airflow")
    if pid is None:
        return None
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None
    return pid if cwd == str(ui_home(settings)) else None


def health_report(settings: Settings) -> dict[str, str]:
    """Return the status of each part the api-server reports ("healthy", ...); {} if down."""
    body = health.http_json(f"{base_url(settings)}/api/v2/monitor/health")
    if not isinstance(body, dict):
        return {}
    return {
        part: str((body.get(part) or {}).get("status"))
        for part in ("metadatabase", "scheduler", "dag_processor", "triggerer")
    }


def all_healthy(settings: Settings) -> bool:
    """Return True if the api-server answers and reports every component healthy."""
    report = health_report(settings)
    return bool(report) and all(status == "healthy" for status in report.values())


def migrate(settings: Settings, env: dict[str, str]) -> float:
    """Run ``airflow db migrate`` on the UI's database; return how long it took."""
    began = time.monotonic()
    log = _log_file(settings, "db-migrate")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as handle:
        try:
            proc = subprocess.run(
                [AIRFLOW, "db", "migrate"],
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=settings.home,
                timeout=MIGRATE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StackError(f"airflow db migrate took over {MIGRATE_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        text = procs.tail(log, LOG_TAIL)
        raise StackError(f"airflow db migrate failed\n--- end of {log} ---\n{text}")
    return time.monotonic() - began


def up(settings: Settings) -> list[str]:
    """Start every component that is not running, wait until all are healthy.

    Returns the names of the components this call started (empty if all were running).
    """
    began = time.monotonic()
    env = ui_env(settings)
    login(settings)
    missing = [name for name in COMPONENTS if running_pid(settings, name) is None]
    if missing:
        port = settings.port("AIRFLOW_PORT")
        if "api-server" in missing and port in procs.listening_ports():
            raise StackError(f"port {port} is already in use by another process: set AIRFLOW_PORT")
        say(f"{'db migrate':<14} done      {migrate(settings, env):6.1f} s")
    started = []
    for name in COMPONENTS:
        pid = running_pid(settings, name)
        if pid is not None:
            say(f"{name:<14} running   pid {pid}")
            continue
        log, pid_file = _log_file(settings, name), _pid_file(settings, name)
        pid = procs.start([AIRFLOW, name], log, pid_file, env, ui_home(settings))
        started.append(name)
        say(f"{name:<14} started   pid {pid}")
    if not procs.wait_for(lambda: all_healthy(settings) or _dead(settings), HEALTHY_TIMEOUT_S, 1):
        raise _failure(settings, f"not healthy after {HEALTHY_TIMEOUT_S:.0f} s")
    dead = _dead(settings)
    if dead:
        raise _failure(settings, f"{', '.join(dead)} exited")
    say(f"{'airflow':<14} healthy   {time.monotonic() - began:6.1f} s")
    return started


def _dead(settings: Settings) -> list[str]:
    return [name for name in COMPONENTS if running_pid(settings, name) is None]


def _failure(settings: Settings, why: str) -> StackError:
    report = health_report(settings) or "api-server does not answer"
    parts = [f"airflow: {why}; health: {report}"]
    for name in _dead(settings) or COMPONENTS:
        log = _log_file(settings, name)
        parts.append(f"--- last {LOG_TAIL} lines of {log} ---\n{procs.tail(log, LOG_TAIL)}")
    return StackError("\n".join(parts))


def down(settings: Settings) -> None:
    """Stop the components started by ``up`` (by pid file) and what they left in their group."""
    for name in reversed(COMPONENTS):
        pid_file = _pid_file(settings, name)
        pid = running_pid(settings, name)
        if pid is not None:
            began = time.monotonic()
            killed = procs.stop(pid)
            leftovers = _stop_group(pid)
            how = "killed" if killed else "stopped"
            extra = f", {leftovers} child process(es) stopped" if leftovers else ""
            say(f"{name:<14} {how:<9} {time.monotonic() - began:6.1f} s  (pid {pid}{extra})")
        pid_file.unlink(missing_ok=True)
    port = settings.port("AIRFLOW_PORT")
    if not procs.wait_for(lambda: port not in procs.listening_ports(), 10.0):
        raise StackError(f"port {port} is still in use after down")


def _stop_group(pgid: int) -> int:
    """Stop what is left of process group ``pgid`` (its leader started it in a new session)."""
    members = _group_members(pgid)
    for pid in members:
        procs.stop(pid, grace_s=10.0)
    return len(members)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def status(settings: Settings) -> bool:
    """Print each component's process and health; return True if all are healthy."""
    report = health_report(settings)
    print(f"{'COMPONENT':<15}{'STATE':<9}{'PID':<9}HEALTH")
    for name in COMPONENTS:
        pid = running_pid(settings, name)
        part = "metadatabase" if name == "api-server" else name.replace("-", "_")
        state = "running" if pid is not None else "stopped"
        print(f"{name:<15}{state:<9}{pid or '-'!s:<9}{report.get(part, 'unknown')}")
    print(f"UI: {base_url(settings)}  (password in {passwords_file(settings)})")
    return all_healthy(settings) and not _dead(settings)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``up``, ``down`` or ``status``; errors become a message and status 1."""
    parser = argparse.ArgumentParser(prog="airflow_ui.py", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_env()
        if args.command == "up":
            up(settings)
            user = login(settings)
            print(f"Airflow UI: {base_url(settings)}/")
            print(f"login:      {user.username} / {user.password}")
            print("stop with:  make ui-stop", flush=True)
        elif args.command == "down":
            down(settings)
        else:
            return 0 if status(settings) else 1
    except StackError as err:
        say(f"error: {err}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

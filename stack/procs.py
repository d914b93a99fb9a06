"""Processes of the local stack: start in the background, find by pid file, stop, ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

TCP_LISTEN = "0A"


def read_pid(pid_file: Path, marker: str) -> int | None:
    """Return the pid in ``pid_file`` if that process is alive and is ours, else None.

    A process is ours when its command line contains ``marker`` (the stack's home folder),
    which guards against a recycled pid.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if is_alive(pid) and marker in cmdline(pid) else None


def read_pid_any(pid_file: Path) -> int | None:
    """Return the pid in ``pid_file`` if that process is alive, whatever its command line."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if is_alive(pid) else None


def is_alive(pid: int) -> bool:
    """Return True if process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def cmdline(pid: int) -> str:
    """Return the command line of process ``pid`` with arguments joined by spaces."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def start(
    argv: list[str], log_file: Path, pid_file: Path, env: Mapping[str, str], cwd: Path
) -> int:
    """Start ``argv`` in a new session, output appended to ``log_file``; write its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {argv[0]}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def stop(pid: int, grace_s: float = 30.0) -> bool:
    """Send SIGTERM to ``pid``, wait up to ``grace_s``, then SIGKILL; True if it had to kill."""
    _signal(pid, signal.SIGTERM)
    if wait_for(lambda: not is_alive(pid), grace_s, interval=0.2):
        return False
    _signal(pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(pid), 10.0, interval=0.1)
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_for(check: Callable[[], bool], timeout_s: float, interval: float = 0.5) -> bool:
    """Call ``check`` until it returns True or ``timeout_s`` passes; return its last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, lines: int) -> str:
    """Return the last ``lines`` lines of ``path`` (empty if it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 200 * lines - 4096))
            data = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def listening() -> dict[int, list[tuple[str, int]]]:
    """Return the listening TCP sockets of this machine: inode -> [(address, port)]."""
    found: dict[int, list[tuple[str, int]]] = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(name).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] != TCP_LISTEN:
                continue
            addr_hex, port_hex = fields[1].split(":")
            found.setdefault(int(fields[9]), []).append((_address(addr_hex), int(port_hex, 16)))
    return found


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def listening_ports() -> set[int]:
    """Return every TCP port something on this machine listens on."""
    return {port for sockets in listening().values() for _, port in sockets}


def sockets_of(pids: Iterable[int]) -> list[tuple[int, str, int]]:
    """Return (pid, address, port) for every listening TCP socket the processes ``pids`` own."""
    table = listening()
    result: list[tuple[int, str, int]] = []
    for pid in pids:
        for inode in _socket_inodes(pid):
            result.extend((pid, addr, port) for addr, port in table.get(inode, []))
    return result


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes

"""Helpers for the tests of the running local stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stack.services import SERVICES
from stack.settings import REPO, Settings

LAUNCHER = REPO / "stack" / "launcher.py"


def run_launcher(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``stack/launcher.py`` with ``args`` in this environment and return the result."""
    return subprocess.run(
        [sys.executable, str(LAUNCHER), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=REPO,
    )


def pid_files(settings: Settings) -> list[Path]:
    """The pid file of every service."""
    return [settings.pid_file(svc.name) for svc in SERVICES]

"""Stopping and starting the whole stack: nothing left behind, and back to healthy."""

from __future__ import annotations

import pytest

from stack import procs
from stack.settings import Settings
from tests.stack.helpers import pid_files, run_launcher

pytestmark = pytest.mark.lifecycle


def test_down_stops_everything_and_up_brings_it_back(
    settings: Settings, stack_ports: set[int]
) -> None:
    pids = [int(path.read_text()) for path in pid_files(settings) if path.exists()]

    down = run_launcher("down", timeout=180)

    assert down.returncode == 0, down.stdout + down.stderr
    assert [pid for pid in pids if procs.is_alive(pid)] == []
    assert [path for path in pid_files(settings) if path.exists()] == []
    assert stack_ports & procs.listening_ports() == set()

    up = run_launcher("up", timeout=600)

    assert up.returncode == 0, up.stdout + up.stderr
    assert run_launcher("status", timeout=120).returncode == 0

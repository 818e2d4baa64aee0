"""``choshu worker`` and the worker ``choshu demo`` starts beside its web server."""

from __future__ import annotations

import subprocess
import sys
import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from choshu.operations.management.commands import demo


def test_the_demo_starts_a_worker_and_stops_it_when_the_server_stops(monkeypatch: Any) -> None:
    started: list[Any] = []
    real_popen = subprocess.Popen

    def popen(args: list[str], **kwargs: Any) -> Any:
        started.append(args)
        child = real_popen(["sleep", "60"])  # stands in for the worker process
        started.append(child)
        return child

    def serve(*args: Any, **kwargs: Any) -> None:
        assert started and started[1].poll() is None  # the worker runs while the server serves
        raise KeyboardInterrupt  # Ctrl+C

    monkeypatch.setattr(demo.subprocess, "Popen", popen)
    monkeypatch.setattr("waitress.serve", serve)
    with pytest.raises(KeyboardInterrupt):
        demo.Command(stdout=StringIO())._serve("127.0.0.1", 0)
    args, child = started
    assert args[:4] == [sys.executable, "-m", "choshu.cli", "worker"]
    assert child.poll() is not None  # stopped with the server


def test_worker_stop_kills_a_worker_that_ignores_sigterm() -> None:
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        ]
    )
    time.sleep(0.3)
    demo.worker_stop(stubborn, timeout=0.5)
    assert stubborn.poll() is not None


def test_the_worker_runs_what_is_queued_and_exits_in_batch_mode(transactional_db: Any) -> None:
    out = StringIO()
    call_command("worker", "--batch", stdout=out, stderr=StringIO())  # nothing queued: returns at once
    assert "起動しました" not in out.getvalue()  # --batch prints nothing of its own

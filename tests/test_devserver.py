"""`make run`: it says Mailer is running only once the web server answers, on the PORT given."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_announces_the_server_once_it_answers_on_the_chosen_port(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        PORT=str(port),
        HOST="127.0.0.1",
        MAILER_INSTANCE_PATH=str(tmp_path / "instance"),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "mailer.devserver"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    announced = threading.Event()
    answer: list[object] = []

    def watch() -> None:
        for line in process.stdout:
            if "Mailer is running" in line and not announced.is_set():
                assert f"http://127.0.0.1:{port}/" in line
                try:  # at once: the line must not come before the server
                    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                        f"http://127.0.0.1:{port}/login", timeout=10
                    ) as response:
                        answer.append(response.status)
                except OSError as exc:
                    answer.append(exc)
                announced.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        assert announced.wait(timeout=240), "never said it was running"
        assert answer == [200]
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the devserver stops its children
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)
        process.stdout.close()

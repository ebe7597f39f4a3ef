"""The development server's request lines (`make run`) mask tokens as the access lines do."""

from __future__ import annotations

import http.client
import logging
import re
import threading

import pytest
from werkzeug.serving import make_server

TOKEN = "Wq3x9ZkLmN0pQrStUvWxYz012345abcd"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def dev_server(app):
    """The app under werkzeug's development server (what `flask run` starts), on a free port."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()
    server.server_close()


def hit(port: int, method: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def request_lines(caplog) -> list[str]:
    """The server's lines without their terminal colours."""
    return [ANSI.sub("", r.getMessage()) for r in caplog.records if r.name == "werkzeug"]


def test_tracking_and_webhook_tokens_are_masked_in_the_dev_server_log(dev_server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    hit(dev_server, "GET", f"/t/o/{TOKEN}.gif")
    hit(dev_server, "GET", f"/t/c/{TOKEN}/12")
    hit(dev_server, "POST", f"/webhooks/brevo/{TOKEN}")
    hit(dev_server, "GET", f"/webhooks/sendgrid/{TOKEN}")  # no GET route: 405
    hit(dev_server, "GET", f"/u/{TOKEN}?token={TOKEN}")
    lines = request_lines(caplog)
    assert len(lines) == 5, lines
    assert TOKEN not in caplog.text
    assert '"GET /t/o/***.gif HTTP/1.1" 200' in lines[0]
    assert '"GET /t/c/***/12 HTTP/1.1"' in lines[1]
    assert '"POST /webhooks/brevo/*** HTTP/1.1"' in lines[2]
    assert "/webhooks/sendgrid/***" in lines[3]
    assert '"GET /u/*** HTTP/1.1"' in lines[4]  # the query string is dropped, as in production


def test_other_paths_stay_readable(dev_server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    hit(dev_server, "GET", "/login?next=/campaigns/")
    hit(dev_server, "GET", "/lists/12")
    lines = request_lines(caplog)
    assert '"GET /login HTTP/1.1" 200' in lines[0]
    assert '"GET /lists/12 HTTP/1.1" 302' in lines[1]

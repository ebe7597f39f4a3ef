"""Request ids and structured logs: what an operator reads when following one request or job."""

from __future__ import annotations

import json
import logging
import re

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from mailer.extensions import db as _db
from mailer.logging import JsonFormatter
from mailer.queue import IMPORTS, enqueue, get_redis
from tests.factories import make_user
from tests.fixtures.app import login_as
from tests.services.health import jobs

HEX_ID = re.compile(r"[0-9a-f]{32}")


def our_formatter() -> logging.Formatter:
    """The formatter of the handler the app installed on the root logger."""
    mine = [h for h in logging.getLogger().handlers if type(h).__name__ == "_StderrHandler"]
    assert len(mine) == 1, "one handler, however many apps were created"
    return mine[0].formatter


def json_lines(caplog) -> list[dict]:
    formatter = our_formatter()
    assert isinstance(formatter, JsonFormatter)
    return [json.loads(formatter.format(record)) for record in caplog.records]


@pytest.fixture
def json_app(make_app, caplog):
    app = make_app(MAILER_LOG_FORMAT="json")
    caplog.set_level(logging.INFO)
    return app


def test_an_incoming_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "checkout-7f3a.42"})
    assert response.headers["X-Request-ID"] == "checkout-7f3a.42"


@pytest.mark.parametrize("incoming", [None, "", "has space", "x" * 200, "a;b", "<script>", "é"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(client, incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    response = client.get("/healthz", headers=headers)
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])


def test_error_pages_and_redirects_carry_the_request_id_too(client):
    assert client.get("/no/such/page").headers["X-Request-ID"]
    redirect = client.get("/campaigns/", headers={"X-Request-ID": "r-1"})
    assert redirect.status_code == 302  # login required: answered by a guard, not a view
    assert redirect.headers["X-Request-ID"] == "r-1"


def test_json_mode_writes_one_access_line_per_request(json_app, caplog):
    client = json_app.test_client()
    client.get("/healthz?token=query-secret", headers={"X-Request-ID": "req-1"})
    client.get("/healthz", headers={"X-Request-ID": "req-2"})
    access = [line for line in json_lines(caplog) if line["logger"] == "mailer.access"]
    assert [line["request_id"] for line in access] == ["req-1", "req-2"]
    http = access[0]["http"]
    assert http["method"] == "GET"
    assert http["path"] == "/healthz"
    assert http["status"] == 200
    assert 0 <= http["duration_ms"] < 5000
    assert "query-secret" not in caplog.text
    assert {"ts", "level", "message"} <= set(access[0])


def test_every_line_of_a_failing_request_carries_its_id(json_app, caplog):
    @json_app.get("/boom")
    def boom():
        logging.getLogger("mailer.test").warning("about to fail")
        raise RuntimeError("kaboom")

    response = json_app.test_client().get("/boom", headers={"X-Request-ID": "req-boom"})
    assert response.status_code == 500
    lines = json_lines(caplog)
    assert [line["logger"] for line in lines] == ["mailer.test", "mailer", "mailer.access"]
    assert {line["request_id"] for line in lines} == {"req-boom"}
    assert "RuntimeError: kaboom" in lines[1]["exc"]
    assert lines[2]["http"]["status"] == 500


def test_access_line_names_the_user_and_never_the_authorization_header(json_app, caplog):
    json_app.config["MAILER_METRICS_TOKEN"] = "metrics-bearer-secret"
    client = json_app.test_client()
    with json_app.app_context():
        user = make_user("viewer")
        user_id = user.id
        login_as(client, user)
    assert client.get("/").status_code == 200
    assert (
        client.get(
            "/metrics", headers={"Authorization": "Bearer metrics-bearer-secret"}
        ).status_code
        == 200
    )
    access = [line for line in json_lines(caplog) if line["logger"] == "mailer.access"]
    assert access[0]["http"]["user_id"] == user_id
    assert access[0]["http"]["path"] == "/"
    assert "metrics-bearer-secret" not in caplog.text
    assert all("metrics-bearer-secret" not in json.dumps(line) for line in json_lines(caplog))


def test_the_access_line_costs_no_query_after_a_view_that_committed(json_app, caplog):
    client = json_app.test_client()
    with json_app.app_context():
        user = make_user("marketer")
        user_id = user.id
        login_as(client, user)
        engine = _db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post("/lists/", data={"name": "Logged"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 302
    [access] = [line for line in json_lines(caplog) if line["logger"] == "mailer.access"]
    assert access["http"]["user_id"] == user_id
    assert access["http"]["method"] == "POST" and access["http"]["path"] == "/lists/"
    user_loads = [s for s in statements if "FROM users" in s]
    assert len(user_loads) == 1, "the user was loaded once, by Flask-Login, not again to log"


def test_tokens_in_paths_are_masked(json_app, caplog):
    client = json_app.test_client()
    token = "Wq3x9ZkLmN0pQrStUvWxYz012345"
    client.post(f"/webhooks/brevo/{token}", data=b"{}")  # routed: unknown channel
    client.get(f"/webhooks/brevo/{token}")  # not routed: GET is not allowed
    client.get(f"/u/{token}")  # an unsubscribe page with a bad token
    paths = [
        line["http"]["path"] for line in json_lines(caplog) if line["logger"] == "mailer.access"
    ]
    assert paths == ["/webhooks/brevo/***", "/webhooks/brevo/***", "/u/***"]
    assert token not in caplog.text


def test_text_mode_lines_show_the_request_id(app, client, caplog):
    caplog.set_level(logging.INFO)

    @app.get("/note")
    def note():
        logging.getLogger("mailer.test").info("a note")
        return "ok"

    client.get("/note", headers={"X-Request-ID": "req-text"})
    [record] = [r for r in caplog.records if r.name == "mailer.test"]
    line = our_formatter().format(record)
    assert "[req req-text]" in line and line.endswith("a note")
    assert not [r for r in caplog.records if r.name == "mailer.access"], "JSON mode only"


def test_job_lines_carry_the_job_id(app, caplog):
    caplog.set_level(logging.INFO)
    job = enqueue(IMPORTS, jobs.log_a_line, "the import")
    SimpleWorker([IMPORTS], connection=get_redis()).work(burst=True)
    [record] = [r for r in caplog.records if r.getMessage() == "working on the import"]
    assert record.mailer_job_id == job.id
    assert f"[job {job.id}]" in our_formatter().format(record)
    assert json.loads(JsonFormatter().format(record))["job_id"] == job.id


def test_an_unknown_log_format_is_refused_at_startup(make_app):
    with pytest.raises(ValueError, match="MAILER_LOG_FORMAT must be one of text, json"):
        make_app(MAILER_LOG_FORMAT="xml")

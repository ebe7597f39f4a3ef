"""Behaviour every API provider shares: results in order, error classification, timeouts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from mailer.providers import make_provider
from tests.fixtures.providers import Case, message
from tests.fixtures.servers import closed_port_url


def test_every_message_gets_a_result_in_order(connect, server):
    messages = [message(i) for i in range(7)]
    results = connect().send_batch(messages)
    assert [r.ref for r in results] == [m.ref for m in messages]
    assert all(r.ok and r.provider_message_id for r in results), results
    assert len({r.provider_message_id for r in results}) == 7
    assert server.accepted == 7


def test_empty_batch(connect):
    assert connect().send_batch([]) == []


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_transient(connect, server, status):
    server.fail(status, times=None)
    results = connect().send_batch([message(0), message(1)])
    assert [r.ref for r in results] == ["tok0", "tok1"]
    for r in results:
        assert not r.ok and r.transient
        assert r.status_code == status
        assert "will retry" in r.error


def test_rate_limit_is_transient_and_honours_retry_after(connect, server):
    server.fail(429, retry_after=7, times=None)
    [result] = connect().send_batch([message()])
    assert not result.ok and result.transient
    assert result.status_code == 429
    assert result.retry_after == pytest.approx(7, abs=1)
    assert "rate" in result.error


def test_retry_after_as_http_date(connect, server):
    when = datetime.now(UTC) + timedelta(seconds=120)
    server.fail(503, retry_after=format_datetime(when, usegmt=True))
    [result] = connect().send_batch([message()])
    assert result.transient
    assert result.retry_after == pytest.approx(120, abs=3)


def test_validation_error_is_permanent(connect, server):
    server.fail(400)
    [result] = connect().send_batch([message()])
    assert not result.ok and not result.transient
    assert result.status_code == 400
    assert result.retry_after is None
    assert "rejected" in result.error


def test_bad_credentials_are_permanent_and_not_echoed(case: Case, server):
    secrets = {k: "wrong-secret-value" for k in case.secrets}
    settings = dict(case.settings)
    if "access_key_id" in settings:  # SES: the server checks the key id, not the signature
        settings["access_key_id"] = "AKIDWRONGWRONGWR"
    with make_provider(case.name, settings, secrets, endpoint_url=server.endpoint_url) as provider:
        [result] = provider.send_batch([message()])
        assert "wrong-secret-value" not in repr(provider)
    assert not result.ok and not result.transient
    assert result.status_code in (401, 403)
    assert "credentials" in result.error
    assert "wrong-secret-value" not in result.error


def test_rejected_recipient_fails_only_that_message(connect, server):
    server.reject("user1@example.com")
    results = connect().send_batch([message(0), message(1), message(2)])
    assert [r.ok for r in results] == [True, False, True]
    assert not results[1].transient
    assert results[1].status_code == 400


def test_timeout_is_transient(connect, server):
    server.hang(10)
    started = time.monotonic()
    [result] = connect(timeout=0.5).send_batch([message()])
    assert time.monotonic() - started < 5
    assert not result.ok and result.transient
    assert "did not answer" in result.error


def test_connection_refused_is_transient(case: Case):
    with make_provider(
        case.name, case.settings, case.secrets, endpoint_url=closed_port_url(), timeout=2
    ) as provider:
        results = provider.send_batch([message(0), message(1)])
    assert all(not r.ok and r.transient for r in results)
    assert all(r.status_code is None for r in results)


def test_requests_run_concurrently(connect, server):
    server.latency = 0.2
    results = connect(concurrency=8).send_batch([message(i) for i in range(8)])
    assert all(r.ok for r in results)
    # Several requests were with the server at once (a batch endpoint may need only one).
    assert server.max_in_flight >= 2 or server.request_count == 1


def test_message_without_body_is_refused_locally(connect, server):
    results = connect().send_batch([message(0, html=None, text=None), message(1)])
    assert not results[0].ok and not results[0].transient
    assert "body" in results[0].error
    assert results[1].ok
    assert server.accepted == 1


def test_never_more_requests_in_flight_than_the_concurrency(connect, server):
    server.latency = 0.05
    results = connect(concurrency=3).send_batch([message(i) for i in range(12)])
    assert all(r.ok for r in results)
    assert server.max_in_flight <= 3


def test_submit_batch_returns_before_the_provider_answers(case: Case, connect, server):
    """The channel worker prepares its next chunk while this one is with the provider."""
    if case.name == "ses":
        pytest.skip("SES (boto3) sends synchronously in submit_batch")
    server.latency = 0.5
    future = connect(concurrency=8).submit_batch([message(i) for i in range(4)])
    assert not future.done(), "it returned while the provider still had the batch"
    results = future.result(10)
    assert [r.ref for r in results] == [f"tok{i}" for i in range(4)]
    assert all(r.ok for r in results)
    assert server.accepted == 4


def test_a_provider_keeps_working_across_batches_and_after_close(case: Case, server):
    """One keep-alive session per provider; a closed provider's successor starts afresh."""
    for _ in range(2):
        with make_provider(
            case.name, case.settings, case.secrets, endpoint_url=server.endpoint_url
        ) as provider:
            assert all(r.ok for r in provider.send_batch([message(0), message(1)]))
            assert all(r.ok for r in provider.send_batch([message(2)]))
    assert server.accepted == 6

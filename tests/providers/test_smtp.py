"""SMTP: auth, STARTTLS/SSL, pooled connections, reconnects, reply-code classification,
PIPELINING and 8BITMIME when the server offers them."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from mailer.providers import ProviderError, make_provider
from mailer.providers.offload import ProcessSender
from tests.fixtures.providers import message
from tests.servers.smtp import SmtpSink


def smtp(sink: SmtpSink, **settings):
    base = {"host": "127.0.0.1", "port": sink.port, "security": "none"}
    secrets = {"password": settings.pop("password")} if "password" in settings else {}
    kw = {k: settings.pop(k) for k in ("concurrency", "timeout") if k in settings}
    return make_provider("smtp", {**base, **settings}, secrets, **kw)


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def test_plain_with_auth_delivers_the_mime_message():
    with SmtpSink(username="mailer", password="s3cret") as sink:
        with smtp(sink, username="mailer", password="s3cret") as provider:
            results = provider.send_batch([message(0), message(1)])
        assert all(r.ok for r in results)
        assert len(sink.messages) == 2
        got = {m.rcpt_tos[0]: m for m in sink.messages}
        mail = got["user1@example.com"]
        assert mail.mail_from == "news@shop.example.com"
        assert mail.login == "mailer" and not mail.tls
        parsed = mail.message()
        assert parsed["Message-ID"] == results[1].provider_message_id
        assert parsed["Subject"] == "Grüße, Jörg 1 – 10 % off"
        assert parsed["List-Unsubscribe"] == "<https://t.example.com/u/tok1>"
        assert parsed["X-Mailer-Tag-Campaign"] == "12"


def test_starttls_with_auth():
    with SmtpSink(tls="starttls", username="mailer", password="s3cret") as sink:
        settings = {"security": "starttls", "username": "mailer", "verify_tls": "false"}
        with smtp(sink, password="s3cret", **settings) as provider:
            [result] = provider.send_batch([message()])
        assert result.ok
        [mail] = sink.messages
        assert mail.tls and mail.login == "mailer"


def test_starttls_certificate_is_verified_by_default():
    with SmtpSink(tls="starttls") as sink, smtp(sink, security="starttls") as provider:
        [result] = provider.send_batch([message()])
    assert not result.ok and not result.transient
    assert "certificate" in result.error
    assert sink.messages == []


def test_implicit_tls():
    with SmtpSink(tls="ssl") as sink:
        with smtp(sink, security="ssl", verify_tls=False) as provider:
            [result] = provider.send_batch([message()])
        assert result.ok and sink.messages[0].tls


def test_wrong_password_is_permanent_and_not_echoed():
    with (
        SmtpSink(username="mailer", password="right") as sink,
        smtp(sink, username="mailer", password="wrong-pw-123") as provider,
    ):
        [result] = provider.send_batch([message()])
        assert "wrong-pw-123" not in repr(provider)
    assert not result.ok and not result.transient
    assert result.status_code == 535
    assert "username or password" in result.error and "wrong-pw-123" not in result.error


def test_connections_are_reused_across_batches(sink):
    with smtp(sink, concurrency=2) as provider:
        for _ in range(3):
            assert all(r.ok for r in provider.send_batch([message(i) for i in range(10)]))
    assert len(sink.messages) == 30
    assert sink.connections - 1 <= 2  # minus the controller's start-up probe


def test_the_channel_caps_the_connections_whatever_the_installation_allows():
    with SmtpSink(latency=0.05) as sink, smtp(sink, connections=2, concurrency=16) as provider:
        assert provider.concurrency == 2
        assert all(r.ok for r in provider.send_batch([message(i) for i in range(8)]))
    assert sink.connections - 1 == 2  # minus the controller's start-up probe
    with pytest.raises(ProviderError, match="Connections at once must be a number from 1 to 100"):
        make_provider("smtp", {"host": "h", "connections": 101}, {})


def test_reconnects_after_the_server_dropped_the_connection(sink):
    with smtp(sink, concurrency=1) as provider:
        assert provider.send_batch([message(0)])[0].ok
        before = sink.connections
        sink.drop_connections()
        results = provider.send_batch([message(1), message(2)])
    assert all(r.ok for r in results), results
    assert sink.connections == before + 1
    assert [m.rcpt_tos[0] for m in sink.messages] == [f"user{i}@example.com" for i in range(3)]


def test_reconnects_when_every_pooled_connection_is_dead(sink):
    with smtp(sink, concurrency=4) as provider:
        assert all(r.ok for r in provider.send_batch([message(i) for i in range(8)]))
        sink.drop_connections()
        results = provider.send_batch([message(i) for i in range(8)])
    assert all(r.ok for r in results), results


@pytest.mark.parametrize("pipelining", [False, True], ids=["one-by-one", "pipelined"])
@pytest.mark.parametrize(
    ("code", "stage", "transient"),
    [
        (451, "rcpt", True),
        (550, "rcpt", False),
        (421, "mail", True),
        (421, "data", True),
        (550, "mail", False),
        (554, "data", False),
        (452, "data", True),
    ],
)
def test_reply_codes_are_classified(code, stage, transient, pipelining):
    with SmtpSink(pipelining=pipelining) as sink, smtp(sink, concurrency=1) as provider:
        provider.send_batch([message(9)])  # a pooled connection that has seen the EHLO
        sink.fail(code, stage=stage)
        first, second = provider.send_batch([message(0), message(1)])
        assert [m.rcpt_tos[0] for m in sink.messages] == ["user9@example.com", "user1@example.com"]
    assert not first.ok
    assert first.transient is transient
    assert first.status_code == code
    assert str(code) in first.error
    assert second.ok  # the connection was reset (or replaced) and the next message went out


@pytest.mark.parametrize("pipelining", [False, True], ids=["one-by-one", "pipelined"])
def test_rejected_recipient_fails_only_that_message(pipelining):
    with SmtpSink(pipelining=pipelining) as sink, smtp(sink, concurrency=1) as provider:
        sink.reject("user1@example.com")
        results = provider.send_batch([message(i) for i in range(3)])
    assert [r.ok for r in results] == [True, False, True]
    assert "Recipient address rejected" in results[1].error
    assert [m.rcpt_tos for m in sink.messages] == [["user0@example.com"], ["user2@example.com"]]


def test_envelope_is_pipelined_only_when_the_server_offers_it():
    for offered in (True, False):
        with SmtpSink(pipelining=offered) as sink, smtp(sink, concurrency=1) as provider:
            assert all(r.ok for r in provider.send_batch([message(i) for i in range(3)]))
        assert [m.pipelined for m in sink.messages] == [offered] * 3


def test_bodies_go_8bit_to_a_server_that_takes_them(sink):
    html = "<p>" + "Grüße aus Zürich, " * 30 + "</p>"  # one 600-byte line
    with smtp(sink, concurrency=1) as provider:
        provider.send_batch([message(0, html=html)])  # before the server was asked
        provider.send_batch([message(1, html=html)])
    for mail in sink.messages:
        assert "BODY=8BITMIME" in mail.mail_options
        assert b"Content-Transfer-Encoding: 8bit" in mail.data
        assert html.encode() in mail.data  # as written: no =3D, no soft line breaks
    for mail in sink.messages:
        parsed = mail.message()
        assert parsed.get_body(("html",)).get_content().rstrip("\n") == html
        assert parsed.get_body(("plain",)).get_content().startswith("Hallo Jörg")


def test_bodies_stay_7bit_for_a_server_without_8bitmime():
    with SmtpSink(eight_bit=False) as sink, smtp(sink, concurrency=1) as provider:
        for i in range(2):
            assert provider.send_batch([message(i)])[0].ok
    for mail in sink.messages:
        assert "BODY=8BITMIME" not in mail.mail_options
        assert mail.data.isascii()
        assert mail.message().get_body(("plain",)).get_content().startswith("Hallo Jörg")


def test_a_message_written_8bit_is_rewritten_when_the_server_no_longer_takes_it():
    with SmtpSink() as sink:
        port = sink.port
        with smtp(sink, concurrency=1) as provider:
            assert provider.send_batch([message(0)])[0].ok  # learns: 8BITMIME offered
            wire = provider.prepare_batch([message(1)])  # so this one is written 8-bit
            sink.stop()
            with SmtpSink(port=port, eight_bit=False) as old_relay:
                [result] = provider.send_prepared(wire).result(10)
    assert result.ok, result
    [mail] = old_relay.messages
    assert "BODY=8BITMIME" not in mail.mail_options and mail.data.isascii()
    assert mail.message()["Message-ID"] == result.provider_message_id


def test_lines_starting_with_a_dot_arrive_intact(sink):
    text = "Dear reader,\n.\n..two dots\n.hidden\nend"
    with smtp(sink) as provider:
        assert provider.send_batch([message(0, text=text, html=None)])[0].ok
    assert sink.messages[0].message().get_content().splitlines() == text.splitlines()


def test_helo_when_the_server_does_not_know_ehlo():
    with SmtpSink(ehlo=False) as sink, smtp(sink) as provider:
        [result] = provider.send_batch([message()])
    assert result.ok, result
    [mail] = sink.messages
    assert mail.data.isascii()  # no EHLO, so no 8BITMIME: quoted-printable


def test_auth_login_when_plain_is_not_offered():
    login_only = SmtpSink(username="mailer", password="s3cret", auth_mechanisms=("LOGIN",))
    with login_only as sink, smtp(sink, username="mailer", password="s3cret") as provider:
        [result] = provider.send_batch([message()])
    assert result.ok, result
    assert sink.messages[0].login == "mailer"


def test_timeout_is_transient():
    with SmtpSink(latency=3) as sink, smtp(sink, timeout=0.3) as provider:
        started = time.monotonic()
        [result] = provider.send_batch([message()])
    assert time.monotonic() - started < 2.8, "gave up before the server answered (3 s)"
    assert not result.ok and result.transient
    assert "did not answer" in result.error


def test_connection_refused_is_transient():
    sink = SmtpSink().start()
    port = sink.port
    sink.stop()
    with make_provider("smtp", {"host": "127.0.0.1", "port": port, "security": "none"}, {}) as p:
        [result] = p.send_batch([message()])
    assert not result.ok and result.transient
    assert "Could not connect" in result.error


def test_a_relay_taking_fewer_connections_gets_the_batch_on_those_it_takes(caplog):
    # Microsoft 365 allows 3 connections; the channel asks for 8
    with SmtpSink(max_connections=3, latency=0.01) as sink, smtp(sink, connections=8) as provider:
        for batch in range(2):
            results = provider.send_batch([message(i) for i in range(batch * 30, batch * 30 + 30)])
            assert [r.error for r in results if not r.ok] == []
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(message(i).to for i in range(60))
    assert sink.peak_connections <= 3
    assert sink.turned_away >= 5
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1  # said once, not for every connection turned away
    assert "421" in warnings[0] and "lower the channel's 'Connections at once'" in warnings[0]


def test_a_relay_turning_every_connection_away_fails_the_batch_after_one_try_each():
    with SmtpSink(max_connections=0) as sink, smtp(sink, connections=4) as provider:
        results = provider.send_batch([message(i) for i in range(20)])
    assert [r.ref for r in results] == [f"tok{i}" for i in range(20)]
    assert all(not r.ok and r.transient for r in results)
    assert all("temporarily refused the connection (421 " in r.error for r in results)
    assert sink.messages == []
    assert sink.connections - 1 <= 4  # one try per connection, not per message (minus the probe)


def test_every_connection_reads_its_greeting_however_soon_it_comes():
    # The greeting can arrive before the connecting coroutine resumes (uvloop delivers it in
    # the same turn of the loop): it must be read, not taken for an unasked reply.
    with SmtpSink(record=False) as sink:
        for _ in range(4):
            provider = smtp(sink, connections=50)
            with ProcessSender(provider) as sender:
                results = sender.send_batch([message(i) for i in range(100)])
            assert [r.error for r in results if not r.ok] == []
        assert sink.accepted == 400


def test_international_recipient_uses_smtputf8(sink):
    with smtp(sink) as provider:
        [result] = provider.send_batch([message(0, to="jörg@bücher.example")])
    assert result.ok
    [mail] = sink.messages
    assert mail.rcpt_tos == ["jörg@xn--bcher-kva.example"]
    assert "SMTPUTF8" in mail.mail_options
    assert mail.message()["To"].addresses[0].username == "jörg"


def test_endpoint_url_overrides_host_and_port(sink):
    with make_provider(
        "smtp", {"host": "smtp.invalid", "security": "none"}, {}, endpoint_url=sink.endpoint_url
    ) as provider:
        assert provider.send_batch([message()])[0].ok


def test_username_without_password_is_a_configuration_error():
    with pytest.raises(ProviderError, match="username and password"):
        make_provider("smtp", {"host": "h", "username": "u"}, {})


def test_default_ports():
    for security, port in (("starttls", 587), ("ssl", 465), ("none", 25)):
        with make_provider("smtp", {"host": "h", "security": security}, {}) as provider:
            assert provider.port == port


def test_submit_batch_sends_in_the_background():
    """The channel worker renders its next chunk while the SMTP server takes this one."""
    with SmtpSink(latency=0.3) as sink, smtp(sink, concurrency=4) as provider:
        future = provider.submit_batch([message(i) for i in range(4)])
        assert not future.done(), "it returned while the server still had the batch"
        results = future.result(10)
        assert [r.ref for r in results] == [f"tok{i}" for i in range(4)]
        assert all(r.ok for r in results)
        assert len(sink.messages) == 4


@pytest.mark.parametrize(
    "greeting",
    [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"220" + b"x" * 5000],
    ids=["not-smtp", "endless-line"],
)
def test_a_server_that_does_not_speak_smtp_is_a_transient_failure(greeting):
    with socket.create_server(("127.0.0.1", 0)) as server:

        def answer_once() -> None:
            conn, _ = server.accept()
            with conn:
                conn.sendall(greeting)
                conn.recv(1024)  # until the client gives up

        threading.Thread(target=answer_once, daemon=True).start()
        port = server.getsockname()[1]
        settings = {"host": "127.0.0.1", "port": port, "security": "none"}
        with make_provider("smtp", settings, {}, timeout=5) as provider:
            started = time.monotonic()
            [result] = provider.send_batch([message()])
    assert time.monotonic() - started < 4, "gave up at once, not at the timeout"
    assert not result.ok and result.transient
    assert "Could not connect" in result.error and "BadReply" in result.error


def test_a_message_over_the_servers_size_limit_is_refused_before_it_is_sent():
    with SmtpSink(max_size=4000) as sink, smtp(sink, concurrency=1) as provider:
        big, small = provider.send_batch([message(0, html="<p>" + "x" * 6000 + "</p>"), message(1)])
    assert not big.ok and not big.transient and big.status_code == 552
    assert "takes at most 4 KB" in big.error
    assert small.ok
    assert [m.rcpt_tos for m in sink.messages] == [["user1@example.com"]]

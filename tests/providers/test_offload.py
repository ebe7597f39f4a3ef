"""Sending from a child process: same results as in-process, one batch at a time, deaf to
SIGTERM, and never an orphan that keeps sending after its parent was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailer.providers import make_provider
from mailer.providers.base import new_event_loop
from mailer.providers.offload import ProcessSender, offloadable
from tests.fixtures.providers import message
from tests.servers.brevo import BrevoServer
from tests.servers.smtp import SmtpSink

ROOT = Path(__file__).resolve().parents[2]


def brevo(server: BrevoServer, **kw):
    return make_provider(
        "brevo", {}, {"api_key": "xkeysib-test"}, endpoint_url=server.endpoint_url, **kw
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) counts as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_results_come_back_in_order_and_the_server_got_every_message():
    with BrevoServer() as server, ProcessSender(brevo(server, concurrency=4)) as sender:
        assert sender.pid != os.getpid()
        server.reject("user3@example.com", 400)
        results = sender.submit_batch([message(i) for i in range(10)]).result()
        assert [r.ref for r in results] == [f"tok{i}" for i in range(10)]
        assert [r.ok for r in results] == [i != 3 for i in range(10)]
        assert results[3].error.startswith("Brevo rejected the message (HTTP 400)")
        assert all(r.provider_message_id for r in results if r.ok)
        # and again on the same child: connections and loop reused
        again = sender.send_batch([message(i) for i in range(10, 15)])
        assert all(r.ok for r in again)
        assert len(server.requests) == 15
        tos = sorted(r.json["to"][0]["email"] for r in server.requests)
        assert tos == sorted(f"user{i}@example.com" for i in range(15))


def test_smtp_sends_from_the_child_too():
    with SmtpSink() as sink:
        provider = make_provider(
            "smtp", {"host": "127.0.0.1", "port": sink.port, "security": "none"}, {}
        )
        with ProcessSender(provider) as sender:
            results = sender.send_batch([message(i) for i in range(5)])
        assert all(r.ok for r in results)
        assert sorted(str(m.message()["To"]) for m in sink.messages) == sorted(
            str(provider_to(i)) for i in range(5)
        )
        assert len(sink.messages) == 5


def provider_to(i: int) -> str:
    return f"{message(i).to_name} <user{i}@example.com>"


def test_only_one_batch_at_a_time():
    with BrevoServer(latency=0.2) as server, ProcessSender(brevo(server)) as sender:
        first = sender.submit_batch([message(0)])
        with pytest.raises(RuntimeError, match="already with the provider"):
            sender.submit_batch([message(1)])
        assert first.result()[0].ok
        assert sender.submit_batch([message(1)]).result()[0].ok


def test_the_child_ignores_sigterm_and_stops_when_closed():
    with BrevoServer() as server:
        sender = ProcessSender(brevo(server))
        pid = sender.pid
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGINT)
        time.sleep(0.2)
        assert alive(pid)
        assert sender.send_batch([message(0)])[0].ok
        sender.close()
        assert wait_gone(pid, 5)
        with pytest.raises(RuntimeError, match="closed"):
            sender.submit_batch([message(1)])


def test_not_for_the_sandbox_or_other_in_process_providers():
    class Local:
        name = "local"

    assert not offloadable(Local())  # type: ignore[arg-type]
    with BrevoServer() as server:
        provider = brevo(server)
        assert offloadable(provider)
        provider.close()


PARENT = """
import sys, time
from mailer.providers import make_provider
from mailer.providers.offload import ProcessSender
from tests.fixtures.providers import message
provider = make_provider("brevo", {{}}, {{"api_key": "xkeysib-test"}}, endpoint_url={url!r})
sender = ProcessSender(provider)
print(sender.pid, flush=True)
if {mode!r} == "send":
    sender.submit_batch([message(i) for i in range(20)])
elif {mode!r} == "stage":
    sender.stage([message(i) for i in range(20)])
print("handed over", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize(
    ("mode", "sent"),
    [("send", 20), ("stage", 0), ("idle", 0)],
    ids=["batch in flight", "batch staged, no go", "idle"],
)
def test_a_killed_parent_leaves_no_child_sending(mode, sent):
    """kill -9 of the worker: the child finishes at most the batch it has, then exits; a
    staged batch it was never told to send is never sent."""
    with BrevoServer(latency=1.0) as server:
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT.format(url=server.endpoint_url, mode=mode)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            child = int(parent.stdout.readline())
            assert parent.stdout.readline().strip() == "handed over"
            time.sleep(0.3)  # a batch in flight is with the server; a staged one prepared
            parent.kill()
            parent.wait(5)
            assert wait_gone(child, 5), "the sending child outlived its killed parent"
        finally:
            parent.kill()
            parent.wait()
            parent.stdout.close()
        assert len(server.requests) == sent


def test_a_staged_batch_waits_for_go_and_a_discarded_one_is_never_sent():
    with BrevoServer() as server, ProcessSender(brevo(server, concurrency=4)) as sender:
        sender.stage([message(i) for i in range(3)])
        time.sleep(0.3)
        assert len(server.requests) == 0  # prepared in the child, not sent
        results = sender.go().result()
        assert [r.ok for r in results] == [True] * 3
        sender.stage([message(i) for i in range(3, 6)])
        sender.discard()
        with pytest.raises(RuntimeError, match="no batch is staged"):
            sender.go()
        assert sender.send_batch([message(6)])[0].ok
        tos = sorted(r.json["to"][0]["email"] for r in server.requests)
        assert tos == [f"user{i}@example.com" for i in (0, 1, 2, 6)]


def test_the_next_batch_is_staged_while_one_is_out():
    """What the channel loop does: stage N+1, read N's results, then send N+1."""
    with BrevoServer(latency=0.2) as server, ProcessSender(brevo(server)) as sender:
        first = sender.submit_batch([message(0)])
        sender.stage([message(1)])
        with pytest.raises(RuntimeError, match="already with the provider"):
            sender.go()  # N's results are not read yet
        assert first.result()[0].ok
        assert sender.go().result()[0].ok
        assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("choice", "kind"),
    [(None, "uvloop.Loop"), ("asyncio", "asyncio.unix_events._UnixSelectorEventLoop")],
)
def test_the_providers_event_loop_is_uvloop_unless_asyncio_is_asked_for(monkeypatch, choice, kind):
    if choice is None:
        monkeypatch.delenv("MAILER_EVENT_LOOP", raising=False)
    else:
        monkeypatch.setenv("MAILER_EVENT_LOOP", choice)
    loop = new_event_loop()
    try:
        assert f"{type(loop).__module__}.{type(loop).__qualname__}" == kind
    finally:
        loop.close()
    # and the sending child's loop, made after the fork, sends on it
    with SmtpSink() as sink:
        provider = make_provider(
            "smtp", {"host": "127.0.0.1", "port": sink.port, "security": "none"}, {}
        )
        with ProcessSender(provider) as sender:
            assert all(r.ok for r in sender.send_batch([message(i) for i in range(20)]))
    assert len(sink.messages) == 20


@pytest.mark.parametrize("eight_bit", [True, False])
def test_smtp_batches_prepared_by_the_caller_arrive_intact(eight_bit):
    html = "<p>" + "Grüße aus Zürich, " * 30 + "</p>"
    with SmtpSink(eight_bit=eight_bit) as sink:
        provider = make_provider(
            "smtp", {"host": "127.0.0.1", "port": sink.port, "security": "none"}, {}
        )
        assert provider.prepare_in_caller
        with ProcessSender(provider) as sender:
            for batch in range(2):
                sender.stage([message(i, html=html) for i in range(batch * 5, batch * 5 + 5)])
                assert all(r.ok for r in sender.go().result())
    assert len(sink.messages) == 10
    for mail in sink.messages:
        assert ("BODY=8BITMIME" in mail.mail_options) is eight_bit
        assert mail.data.isascii() is not eight_bit  # rewritten quoted-printable for an old one
        assert mail.message().get_body(("html",)).get_content().rstrip("\n") == html

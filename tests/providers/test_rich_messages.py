"""Transactional messages with every optional part (several To, Cc, Bcc, a named Reply-To, a
custom header, a file and an inline image) as each provider's local server received them: the
provider's own JSON or form fields, or the MIME for SMTP and SES."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import EmailMessage

import pytest

from mailer.providers import make_provider
from mailer.providers.offload import ProcessSender
from tests.fixtures.providers import PDF, PNG, message, rich_message
from tests.servers.smtp import SmtpSink


def smtp(sink: SmtpSink):
    return make_provider("smtp", {"host": "127.0.0.1", "port": sink.port, "security": "none"}, {})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_mime(parsed: EmailMessage) -> None:
    """What every recipient's mail client shows, read back with the stdlib parser."""
    assert parsed["To"].addresses[0].display_name == "Jane Doe"
    assert [a.addr_spec for a in parsed["To"].addresses] == [
        "jane@example.com",
        "john@example.com",
    ]
    assert str(parsed["Cc"]) == "The Boss <boss@example.com>"
    assert parsed["Bcc"] is None, "Bcc recipients are in the envelope only"
    assert str(parsed["Reply-To"]) == "Help desk <help@shop.example.com>"
    assert parsed["X-Order-Id"] == "1042"
    html = parsed.get_body(("html",))
    assert 'src="cid:logo"' in html.get_content()
    parts = {p.get_filename(): p for p in parsed.iter_attachments()}
    assert parts["invoice.pdf"].get_content() == PDF
    assert parts["invoice.pdf"].get_content_type() == "application/pdf"
    assert parts["invoice.pdf"].get_content_disposition() == "attachment"
    related = [p for p in parsed.walk() if p["Content-ID"] == "<logo>"]
    assert len(related) == 1, "the inline image sits beside the HTML with its Content-ID"
    assert related[0].get_content() == PNG
    assert related[0].get_content_disposition() == "inline"
    assert parsed.get_body(("plain",)).get_content().strip() == "Thanks!"


def test_each_api_provider_sends_every_part(case, connect, server):
    [result] = connect().send_batch([rich_message()])
    assert result.ok, result.error
    [req] = server.requests
    if case.name == "brevo":
        body = req.json
        assert body["to"] == [
            {"email": "jane@example.com", "name": "Jane Doe"},
            {"email": "john@example.com"},
        ]
        assert body["cc"] == [{"email": "boss@example.com", "name": "The Boss"}]
        assert body["bcc"] == [{"email": "audit@example.com"}]
        assert body["replyTo"] == {"email": "help@shop.example.com", "name": "Help desk"}
        assert body["headers"]["X-Order-Id"] == "1042"
        assert body["attachment"] == [
            {"content": b64(PDF), "name": "invoice.pdf"},
            {"content": b64(PNG), "name": "logo.png"},
        ]
    elif case.name == "sendgrid":
        body = req.json
        [p] = body["personalizations"]
        assert [t["email"] for t in p["to"]] == ["jane@example.com", "john@example.com"]
        assert p["cc"] == [{"email": "boss@example.com", "name": "The Boss"}]
        assert p["bcc"] == [{"email": "audit@example.com"}]
        assert body["reply_to"] == {"email": "help@shop.example.com", "name": "Help desk"}
        assert body["headers"] == {"X-Order-Id": "1042"}
        assert body["attachments"] == [
            {
                "content": b64(PDF),
                "filename": "invoice.pdf",
                "type": "application/pdf",
                "disposition": "attachment",
            },
            {
                "content": b64(PNG),
                "filename": "logo.png",
                "type": "image/png",
                "disposition": "inline",
                "content_id": "logo",
            },
        ]
    elif case.name == "mailgun":
        form = req.form
        assert form["to"] == ["Jane Doe <jane@example.com>", "john@example.com"]
        assert form["cc"] == ["The Boss <boss@example.com>"]
        assert form["bcc"] == ["audit@example.com"]
        assert form["h:Reply-To"] == ["Help desk <help@shop.example.com>"]
        assert form["h:X-Order-Id"] == ["1042"]
        assert req.files["attachment"] == [("invoice.pdf", "application/pdf", PDF)]
        assert req.files["inline"] == [("logo", "image/png", PNG)], "named by its Content-ID"
    elif case.name == "mailjet":
        [m] = req.json["Messages"]
        assert m["To"] == [
            {"Email": "jane@example.com", "Name": "Jane Doe"},
            {"Email": "john@example.com"},
        ]
        assert m["Cc"] == [{"Email": "boss@example.com", "Name": "The Boss"}]
        assert m["Bcc"] == [{"Email": "audit@example.com"}]
        assert m["ReplyTo"] == {"Email": "help@shop.example.com", "Name": "Help desk"}
        assert m["Headers"] == {"X-Order-Id": "1042"}
        assert m["Attachments"] == [
            {"ContentType": "application/pdf", "Filename": "invoice.pdf", "Base64Content": b64(PDF)}
        ]
        assert m["InlinedAttachments"] == [
            {
                "ContentType": "image/png",
                "Filename": "logo.png",
                "Base64Content": b64(PNG),
                "ContentID": "logo",
            }
        ]
    elif case.name == "ses":
        destination = req.json["Destination"]
        assert destination == {
            "ToAddresses": ["jane@example.com", "john@example.com"],
            "CcAddresses": ["boss@example.com"],
            "BccAddresses": ["audit@example.com"],
        }
        [raw] = server.raw_messages
        check_mime(email.message_from_bytes(raw, policy=email.policy.default))
    else:  # pragma: no cover - a new provider needs its case here
        pytest.fail(f"no check for {case.name}")


@pytest.mark.parametrize("pipelining", [False, True])
def test_smtp_sends_every_part_to_every_recipient(pipelining):
    with SmtpSink(pipelining=pipelining) as sink, smtp(sink) as provider:
        [result] = provider.send_batch([rich_message()])
        assert result.ok, result.error
        [mail] = sink.messages
    assert mail.rcpt_tos == [
        "jane@example.com",
        "john@example.com",
        "boss@example.com",
        "audit@example.com",
    ]
    check_mime(mail.message())


def test_smtp_sends_nothing_when_a_recipient_is_refused():
    with SmtpSink(pipelining=True) as sink, smtp(sink) as provider:
        sink.reject("boss@example.com")
        [result] = provider.send_batch([rich_message()])
        assert not result.ok and not result.transient
        assert "recipient" in result.error
        assert sink.messages == [], "no copy went to the others"


def test_parts_cross_to_the_sending_process(case, connect, server):
    """A channel worker hands batches to a child process (MAILER_SEND_PROCESS): a campaign
    message and a transactional one with every part arrive as they were."""
    if case.name == "ses":
        pytest.skip("SES sends from the worker itself (boto3 threads; ProcessSender refuses it)")
    with ProcessSender(connect()) as sender:
        results = sender.send_batch([message(0), rich_message()])
    assert [r.ok for r in results] == [True, True], results
    assert server.accepted >= 2
    if case.name == "sendgrid":
        plain, rich = (r.json for r in server.requests)
        assert "cc" not in plain["personalizations"][0] and "attachments" not in plain
        assert [a["filename"] for a in rich["attachments"]] == ["invoice.pdf", "logo.png"]


def test_smtp_parts_cross_to_the_sending_process():
    """SMTP prepares in the caller and sends in the child; a server without 8BITMIME has the
    child write the message again from its packed copy, files and all."""
    with SmtpSink(eight_bit=False) as sink, smtp(sink) as provider:
        with ProcessSender(provider) as sender:
            results = sender.send_batch([message(0), rich_message()])
        assert [r.ok for r in results] == [True, True], results
        plain, mail = sorted(sink.messages, key=lambda m: len(m.rcpt_tos))
    assert plain.rcpt_tos == ["user0@example.com"]
    assert len(mail.rcpt_tos) == 4
    check_mime(mail.message())

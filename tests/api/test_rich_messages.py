"""Transactional messages with cc, bcc, reply-to, display names, several recipients, custom
headers, attachments and inline images, and scheduled sending with cancelling: what the API
accepts or refuses (with JSON paths), what the provider receives, and that files are deleted
once a message is sent or cancelled."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from mailer.lib import storage
from mailer.models import Suppression
from mailer.models.campaigns import Message
from mailer.queue import TICKS, enqueue
from tests.fixtures.api import error_paths, run, send, shown
from tests.fixtures.providers import PDF, PNG
from tests.fixtures.workers import wait_for

pytestmark = pytest.mark.usefixtures("quick_drain")

HTML = '<html><body><p>Thanks! <img src="cid:logo" alt="Shop"></p></body></html>'


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def rich(**changes) -> dict:
    body = {
        "to": ["Jane Doe <jane@example.com>", {"email": "john@example.com"}],
        "cc": {"email": "boss@example.com", "name": "The Boss"},
        "bcc": ["audit@example.com"],
        "reply_to": "Help desk <help@example.com>",
        "subject": "Your invoice",
        "html": HTML,
        "headers": {"X-Order-Id": "1042", "List-Unsubscribe": "<mailto:u@example.com>"},
        "attachments": [
            {"filename": "invoice.pdf", "content": b64(PDF)},
            {"filename": "logo.png", "content": b64(PNG), "content_id": "logo"},
        ],
    }
    body.update(changes)
    return body


def in_time(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds")


def stored_keys(db, message_id: int) -> list[str]:
    payload = db.session.get(Message, message_id).payload
    return [a["key"] for a in payload.get("attachments", [])]


def test_every_part_reaches_the_provider_and_the_files_are_deleted(app, db, api, brevo, channel):
    message_id = send(api, **rich())
    keys = stored_keys(db, message_id)
    assert len(keys) == 2 and all(storage.storage().exists(k) for k in keys)
    queued = shown(api, message_id)
    assert queued["to"] == "jane@example.com"
    assert queued["recipients"] == {
        "to": [
            {"email": "jane@example.com", "name": "Jane Doe"},
            {"email": "john@example.com", "name": None},
        ],
        "cc": [{"email": "boss@example.com", "name": "The Boss"}],
        "bcc": [{"email": "audit@example.com", "name": None}],
    }
    assert queued["reply_to"] == {"email": "help@example.com", "name": "Help desk"}
    assert [(a["filename"], a["content_type"], a["size"]) for a in queued["attachments"]] == [
        ("invoice.pdf", "application/pdf", len(PDF)),
        ("logo.png", "image/png", len(PNG)),
    ]

    run(app, db)
    assert shown(api, message_id)["status"] == "sent"
    [request] = brevo.requests
    body = request.json
    assert body["to"] == [
        {"email": "jane@example.com", "name": "Jane Doe"},
        {"email": "john@example.com"},
    ]
    assert body["cc"] == [{"email": "boss@example.com", "name": "The Boss"}]
    assert body["bcc"] == [{"email": "audit@example.com"}]
    assert body["replyTo"] == {"email": "help@example.com", "name": "Help desk"}
    assert body["headers"]["X-Order-Id"] == "1042"
    assert body["headers"]["List-Unsubscribe"] == "<mailto:u@example.com>"
    assert 'src="cid:logo"' in body["htmlContent"]
    assert [(a["name"], base64.b64decode(a["content"])) for a in body["attachment"]] == [
        ("invoice.pdf", PDF),
        ("logo.png", PNG),
    ]
    assert not any(storage.storage().exists(k) for k in keys), "sent: the files are gone"


def test_a_plain_message_still_goes_as_before(app, db, api, brevo, channel):
    message_id = send(api)
    run(app, db)
    body = brevo.requests[0].json
    assert body["to"] == [{"email": "jane@example.com"}]
    assert not {"cc", "bcc", "attachment"} & body.keys()
    assert shown(api, message_id)["recipients"]["cc"] == []


@pytest.mark.parametrize(
    ("changes", "paths"),
    [
        ({"headers": {"From": "x@example.com"}}, ["headers.From"]),
        ({"headers": {"DKIM-Signature": "v=1"}}, ["headers.DKIM-Signature"]),
        ({"headers": {"Received": "from evil"}}, ["headers.Received"]),
        ({"headers": {"X-Mailer-Tag-Token": "forged"}}, ["headers.X-Mailer-Tag-Token"]),
        ({"headers": {"X-Mailin-custom": "{}"}}, ["headers.X-Mailin-custom"]),
        ({"headers": {"X-Ok": "a\r\nBcc: x@example.com"}}, ["headers.X-Ok"]),
        (
            {"attachments": [{"filename": "setup.exe", "content": b64(b"MZ")}]},
            ["attachments[0].filename"],
        ),
        (
            {"attachments": [{"filename": "run.JS", "content": b64(b"alert(1)")}]},
            ["attachments[0].filename"],
        ),
        (
            {"attachments": [{"filename": "a.pdf", "content": "not base64!"}]},
            ["attachments[0].content"],
        ),
        (
            {
                "html": None,
                "text": "Hi",
                "attachments": [
                    {"filename": "logo.png", "content": b64(PNG), "content_id": "logo"}
                ],
            },
            ["attachments[0].content_id"],
        ),
        ({"cc": "jane@example.com"}, ["cc"]),
        ({"bcc": ["not an address"]}, ["bcc[0]"]),
        ({"reply_to": {"email": "help@example.com", "name": "a\nb"}}, ["reply_to.name"]),
        ({"send_at": "2030-01-01T09:00:00"}, ["send_at"]),
        ({"send_at": in_time(-timedelta(minutes=5))}, ["send_at"]),
        ({"send_at": in_time(timedelta(days=31))}, ["send_at"]),
    ],
)
def test_bad_parts_are_refused_with_their_paths(db, api, channel, changes, paths):
    body = {k: v for k, v in rich(**changes).items() if v is not None}
    answer = api.post("/api/v1/messages", json=body)
    assert error_paths(answer) == [f"$.{p}" for p in paths]
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_a_refused_header_is_named_in_plain_words(api, channel):
    answer = api.post("/api/v1/messages", json=rich(headers={"Subject": "x"}))
    [field] = answer.json["error"]["details"]["fields"]
    assert field["path"] == "$.headers.Subject"
    assert "Subject" in field["message"] and "X-" in field["message"]


def test_batch_paths_name_the_message(api, channel):
    answer = api.post(
        "/api/v1/messages",
        json={"messages": [rich(), rich(headers={"To": "x@example.com"})]},
    )
    assert error_paths(answer) == ["$.messages[1].headers.To"]


def test_size_caps(app, api, channel):
    app.config.update(MAILER_TX_ATTACHMENT_MAX_BYTES=300, MAILER_TX_ATTACHMENTS_MAX_BYTES=400)
    too_big = [{"filename": "big.bin", "content": b64(b"x" * 301)}]
    assert error_paths(api.post("/api/v1/messages", json=rich(attachments=too_big))) == [
        "$.attachments[0].content"
    ]
    two = [{"filename": f"{i}.bin", "content": b64(b"x" * 250)} for i in range(2)]
    answer = api.post("/api/v1/messages", json=rich(attachments=two))
    assert error_paths(answer) == ["$.attachments"]


def test_too_many_recipients(app, api, channel):
    app.config["MAILER_TX_MAX_RECIPIENTS"] = 3
    answer = api.post("/api/v1/messages", json=rich())
    assert error_paths(answer) == ["$.to"]
    assert "At most 3 recipients" in answer.json["error"]["details"]["fields"][0]["message"]


def test_a_suppressed_cc_refuses_the_message_and_stores_no_file(db, api, channel):
    db.session.add(Suppression(email="boss@example.com", reason="bounce"))
    db.session.commit()
    answer = api.post("/api/v1/messages", json=rich())
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "recipient_suppressed"
    assert "boss@example.com" in answer.json["error"]["message"]
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


# ------------------------------------------------------------------ scheduled sending


def test_a_scheduled_message_is_sent_at_its_time_by_the_tick(app, db, api, brevo, channel):
    message_id = send(api, send_at=in_time(timedelta(seconds=2)))
    assert shown(api, message_id)["status"] == "scheduled"
    assert [m["id"] for m in api.get("/api/v1/messages?status=scheduled").json["data"]] == [
        message_id
    ]
    run(app, db)  # nothing is due yet
    assert brevo.requests == []
    wait_for(lambda: shown(api, message_id)["status"] == "queued", timeout=30)
    enqueue(TICKS, "jobs.ticks.transactional_tick")
    run(app, db, TICKS, "transactional")
    assert shown(api, message_id)["status"] == "sent"
    assert len(brevo.requests) == 1


def test_a_cancelled_message_is_never_sent_and_loses_its_files(app, db, api, brevo, channel):
    message_id = send(api, **rich(send_at=in_time(timedelta(seconds=2))))
    keys = stored_keys(db, message_id)
    answer = api.post(f"/api/v1/messages/{message_id}/cancel")
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "cancelled"
    assert not any(storage.storage().exists(k) for k in keys)
    assert api.post(f"/api/v1/messages/{message_id}/cancel").status_code == 200, "idempotent"

    db.session.execute(
        db.update(Message)
        .where(Message.id == message_id)
        .values(next_attempt_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1))
    )
    db.session.commit()
    enqueue(TICKS, "jobs.ticks.transactional_tick")
    run(app, db, TICKS, "transactional")
    assert brevo.requests == []
    assert shown(api, message_id)["status"] == "cancelled"


def test_cancelling_after_sending_started_answers_409(app, db, api, brevo, channel):
    message_id = send(api)
    run(app, db)
    answer = api.post(f"/api/v1/messages/{message_id}/cancel")
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "not_cancellable"
    assert shown(api, message_id)["status"] == "sent"


def test_cancel_only_sees_the_keys_own_messages(api, api_as, channel):
    message_id = send(api, send_at=in_time(timedelta(hours=1)))
    other = api_as("send")
    assert other.post(f"/api/v1/messages/{message_id}/cancel").status_code == 404
    assert api.post("/api/v1/messages/99999/cancel").status_code == 404
    assert shown(api, message_id)["status"] == "scheduled"


def test_a_message_whose_file_is_gone_fails_with_the_reason(app, db, api, brevo, channel):
    message_id = send(api, **rich())
    first = stored_keys(db, message_id)[0]
    storage.storage().delete(first)
    run(app, db)
    message = shown(api, message_id)
    assert message["status"] == "failed"
    assert "invoice.pdf" in message["error"] and "no longer stored" in message["error"]
    assert brevo.requests == []
    assert not any(storage.storage().exists(k) for k in stored_keys(db, message_id))

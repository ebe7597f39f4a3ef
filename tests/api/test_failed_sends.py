"""The failed-send review through the API: failed sends and messages listed with why, filtered,
and retried once each against a provider that failed, then works."""

from __future__ import annotations

from mailer.models import Campaign, Send
from mailer.models.campaigns import Message
from mailer.queue import SEND, TRANSACTIONAL
from tests.factories import brevo_channel, launch_now, make_campaign, make_list, statuses
from tests.fixtures.api import run, send


def _sent_with_failures(app, db, brevo, bad: list[str]) -> Campaign:
    """A campaign to ok@ and the ``bad`` addresses, sent through the real channel worker while
    the provider refuses the bad ones: completed, with those failed."""
    emails = ["ok@example.com", *bad]
    campaign = make_campaign(db, [make_list(db, "L", emails)], [brevo_channel(db, brevo)])
    for address in bad:
        brevo.reject(address, 400)
    launch_now(db, campaign)
    run(app, db, SEND)
    brevo.clear_faults()
    assert statuses(db, campaign.id) == {"sent": 1, "failed": len(bad)}
    return db.session.get(Campaign, campaign.id)


def _mails_to(brevo, address: str) -> int:
    return sum(1 for r in brevo.requests if address in str(r.json))


def test_failed_sends_are_listed_with_why_and_retried_once_each(app, db, api, brevo):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com", "b@example.com"])
    assert campaign.status == "completed"

    page = api.get(f"/api/v1/failed-sends?campaign={campaign.id}&limit=1")
    assert page.status_code == 200, page.json
    (first,) = page.json["data"]
    assert first["state"] == "failed" and first["reason"] == "refused"
    assert first["provider_answer"] and first["attempts"] == 1
    assert first["failed_at"] and first["channel_id"] == campaign.channels[0].channel_id
    rest = api.get(f"/api/v1/failed-sends?campaign={campaign.id}&cursor={page.json['next_cursor']}")
    assert {first["email"], rest.json["data"][0]["email"]} == {"a@example.com", "b@example.com"}
    assert rest.json["next_cursor"] is None

    one = api.post(f"/api/v1/failed-sends/{first['id']}/retry")
    assert one.status_code == 200, one.json
    assert one.json["retried"] == 1
    assert db.session.get(Campaign, campaign.id).status == "running", "back to running"
    everything = api.post("/api/v1/failed-sends/retry", json={"campaign": str(campaign.id)})
    assert everything.json["retried"] == 1, "the other one; the first is no longer failed"

    run(app, db, SEND)
    assert statuses(db, campaign.id) == {"sent": 3}
    assert db.session.get(Campaign, campaign.id).status == "completed"
    for address in ("a@example.com", "b@example.com"):
        assert _mails_to(brevo, address) == 2, "refused once, then sent once"
    assert _mails_to(brevo, "ok@example.com") == 1
    assert api.get(f"/api/v1/failed-sends?campaign={campaign.id}").json["data"] == []
    again = api.post(f"/api/v1/failed-sends/{first['id']}/retry")
    assert again.status_code == 409, "sent now: nothing to retry"


def test_the_list_filters_by_reason_text_channel_and_time(app, db, api, brevo):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com"])
    channel_id = campaign.channels[0].channel_id
    url = f"/api/v1/failed-sends?campaign={campaign.id}"
    answer = api.get(url).json["data"][0]["provider_answer"]
    word = answer.split()[0]
    assert len(api.get(f"{url}&reason={word.upper()}").json["data"]) == 1, "any case"
    assert api.get(f"{url}&reason=no-such-words").json["data"] == []
    assert len(api.get(f"{url}&channel={channel_id}").json["data"]) == 1
    assert api.get(f"{url}&channel={channel_id + 1000}").json["data"] == []
    assert api.get(f"{url}&since=2999-01-01T00:00:00Z").json["data"] == []
    assert len(api.get(f"{url}&until=2999-01-01T00:00:00Z").json["data"]) == 1
    assert api.get(f"{url}&state=in_doubt").json["data"] == []
    assert api.get(f"{url}&state=lost").status_code == 422
    assert api.get("/api/v1/failed-sends?campaign=no-such-campaign").status_code == 404


def test_an_in_doubt_send_needs_send_again_anyway(app, db, api, brevo):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com"])
    doubt = db.session.scalar(db.select(Send).filter_by(email="ok@example.com"))
    doubt.status, doubt.error = "in_doubt", "worker stopped while the provider had it"
    db.session.commit()

    listed = api.get(f"/api/v1/failed-sends?campaign={campaign.id}&state=in_doubt").json["data"]
    assert [(s["email"], s["reason"]) for s in listed] == [("ok@example.com", "in_doubt")]
    refused = api.post(f"/api/v1/failed-sends/{doubt.id}/retry")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "confirmation_required"
    everything = api.post("/api/v1/failed-sends/retry", json={})
    assert (everything.json["retried"], everything.json["in_doubt_skipped"]) == (1, 1)
    db.session.expire_all()
    assert db.session.get(Send, doubt.id).status == "in_doubt", "never retried silently"
    confirmed = api.post(f"/api/v1/failed-sends/{doubt.id}/retry", json={"confirm_in_doubt": True})
    assert confirmed.json["retried"] == 1
    run(app, db, SEND)
    assert statuses(db, campaign.id) == {"sent": 2}


def test_retrying_needs_the_campaigns_scope_and_listing_read(app, db, api_as, brevo):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com"])
    reader = api_as("read")
    assert reader.get("/api/v1/failed-sends").status_code == 200
    assert reader.post("/api/v1/failed-sends/retry").status_code == 403
    assert api_as("send").get("/api/v1/failed-sends").status_code == 403
    cancelled = db.session.get(Campaign, campaign.id)
    cancelled.status = "cancelled"
    db.session.commit()
    send_id = db.session.scalar(db.select(Send.id).filter_by(email="a@example.com"))
    refused = api_as("campaigns").post(f"/api/v1/failed-sends/{send_id}/retry")
    assert refused.status_code == 409, "a cancelled campaign sends nothing again"
    counted = api_as("campaigns").post("/api/v1/failed-sends/retry", json={})
    assert (counted.json["retried"], counted.json["not_retryable"]) == (0, 1)


def test_many_failed_sends_are_retried_by_a_job(app, db, api, brevo):
    app.config["MAILER_RETRY_BATCH"] = 2
    campaign = _sent_with_failures(app, db, brevo, [f"x{i}@example.com" for i in range(5)])
    answer = api.post("/api/v1/failed-sends/retry", json={"campaign": campaign.id})
    assert answer.status_code == 202
    assert (answer.json["queued"], answer.json["matching"], answer.json["retried"]) == (
        True,
        5,
        0,
    )
    run(app, db, SEND)  # the retry job (batches of 2), then the campaign's rows
    assert statuses(db, campaign.id) == {"sent": 6}


def test_failed_messages_are_listed_and_queued_again_through_the_transactional_path(
    app, db, api, brevo, channel
):
    brevo.fail(400, times=1)
    message_id = send(api, to="jane@example.com")
    run(app, db, TRANSACTIONAL)
    assert db.session.get(Message, message_id).status == "failed"

    listed = api.get(f"/api/v1/failed-messages?channel={channel.id}").json["data"]
    assert [(m["id"], m["state"], m["reason"]) for m in listed] == [
        (message_id, "failed", "refused")
    ]
    assert listed[0]["provider_answer"] and listed[0]["attempts"] == 1
    retried = api.post(f"/api/v1/failed-messages/{message_id}/retry")
    assert retried.status_code == 200 and retried.json["retried"] == 1
    run(app, db, TRANSACTIONAL)
    db.session.expire_all()
    message = db.session.get(Message, message_id)
    assert (message.status, message.attempts) == ("sent", 2)
    assert api.get("/api/v1/failed-messages").json["data"] == []


def test_a_send_key_sees_and_retries_only_its_own_failed_messages(app, db, api_as, brevo, channel):
    mine, theirs = api_as("send"), api_as("send")
    brevo.fail(400, times=2)
    own = send(mine, to="a@example.com")
    send(theirs, to="b@example.com")
    run(app, db, TRANSACTIONAL)
    assert [m["id"] for m in mine.get("/api/v1/failed-messages").json["data"]] == [own]
    assert mine.post("/api/v1/failed-messages/retry").json["retried"] == 1
    db.session.expire_all()
    assert db.session.scalar(db.select(Message.status).filter_by(to_email="b@example.com")) == (
        "failed"
    )

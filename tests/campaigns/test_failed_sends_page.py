"""The campaign's failed-sends page: failed and unconfirmed emails with why, filtered; a
marketer retries one or all shown (htmx or a plain form, with CSRF), a viewer only reads."""

from __future__ import annotations

from datetime import timedelta

from mailer.models import Campaign, Send
from mailer.models.base import utcnow
from mailer.queue import SEND
from tests.factories import brevo_channel, launch_now, make_campaign, make_list, statuses
from tests.fixtures.api import run
from tests.fixtures.app import csrf_token_from
from tests.fixtures.campaign_pages import HX


def _sent_with_failures(app, db, brevo, bad: list[str]) -> Campaign:
    emails = ["ok@example.com", *bad]
    campaign = make_campaign(db, [make_list(db, "L", emails)], [brevo_channel(db, brevo)])
    for address in bad:
        brevo.reject(address, 400)
    launch_now(db, campaign)
    run(app, db, SEND)
    brevo.clear_faults()
    return db.session.get(Campaign, campaign.id)


def _mails_to(brevo, address: str) -> int:
    return sum(1 for r in brevo.requests if address in str(r.json))


def _row(email: str) -> str:
    """The address as a row of the table shows it (people's own addresses are on the page too)."""
    return f"<strong>{email}</strong>"


def _send(db, email: str) -> Send:
    return db.session.scalar(db.select(Send).filter_by(email=email))


def test_a_marketer_retries_one_then_all_shown_and_each_goes_out_once(
    app, db, client, marketer, brevo
):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com", "b@example.com"])
    show = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert f'href="/campaigns/{campaign.id}/failed?state=failed"' in show

    page = client.get(f"/campaigns/{campaign.id}/failed").get_data(as_text=True)
    assert _row("a@example.com") in page and _row("b@example.com") in page
    assert _row("ok@example.com") not in page
    assert "Refused by the provider" in page and "Retry all 2 emails shown" in page

    a = _send(db, "a@example.com")
    answer = client.post(f"/campaigns/{campaign.id}/failed/{a.id}/retry", headers=HX)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="failed-results"' in body
    assert "The email to a@example.com is queued again." in body
    assert _row("a@example.com") not in body and _row("b@example.com") in body
    assert db.session.get(Campaign, campaign.id).status == "running"

    plain = client.post(f"/campaigns/{campaign.id}/failed/retry", data={"state": "failed"})
    assert plain.status_code == 302 and "/failed?state=failed" in plain.location
    assert "1 email is queued again." in client.get(plain.location).get_data(as_text=True)
    run(app, db, SEND)
    assert statuses(db, campaign.id) == {"sent": 3}
    assert [_mails_to(brevo, e) for e in ("a@example.com", "b@example.com")] == [2, 2]


def test_unconfirmed_emails_are_shown_apart_and_sent_again_only_anyway(
    app, db, client, marketer, brevo
):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com"])
    doubt = _send(db, "ok@example.com")
    doubt.status, doubt.error, doubt.failed_at = "in_doubt", "worker stopped", utcnow()
    db.session.commit()

    failed = client.get(f"/campaigns/{campaign.id}/failed").get_data(as_text=True)
    assert _row("ok@example.com") not in failed and "Not sure they were sent (1)" in failed
    page = client.get(f"/campaigns/{campaign.id}/failed?state=in_doubt").get_data(as_text=True)
    assert _row("ok@example.com") in page and "Send again anyway" in page
    assert "nobody knows whether they were sent" in page

    unconfirmed = client.post(
        f"/campaigns/{campaign.id}/failed/{doubt.id}/retry", data={"state": "in_doubt"}
    )
    assert unconfirmed.status_code == 302
    assert "may already have been delivered" in client.get(unconfirmed.location).get_data(
        as_text=True
    )
    all_unconfirmed = client.post(
        f"/campaigns/{campaign.id}/failed/retry", data={"state": "in_doubt"}
    )
    assert all_unconfirmed.status_code == 302
    db.session.expire_all()
    assert _send(db, "ok@example.com").status == "in_doubt", "never sent again silently"

    client.post(
        f"/campaigns/{campaign.id}/failed/retry",
        data={"state": "in_doubt", "confirm_in_doubt": "1"},
    )
    db.session.expire_all()
    assert _send(db, "ok@example.com").status == "pending"
    assert _send(db, "a@example.com").status == "failed", "only the state shown"


def test_the_filters_narrow_what_is_shown_and_retried(app, db, client, marketer, brevo):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com", "b@example.com"])
    b = _send(db, "b@example.com")
    b.error, b.failed_at = (
        "gave up after 5 attempts: 503 mailbox busy",
        utcnow() - timedelta(days=3),
    )
    db.session.commit()
    url = f"/campaigns/{campaign.id}/failed"
    busy = client.get(f"{url}?reason=BUSY").get_data(as_text=True)
    assert _row("b@example.com") in busy and _row("a@example.com") not in busy
    assert "Temporary errors until the attempts ran out" in busy and "503 mailbox busy" in busy
    today = utcnow().date().isoformat()
    recent = client.get(f"{url}?since={today}").get_data(as_text=True)
    assert _row("a@example.com") in recent and _row("b@example.com") not in recent
    bad = client.get(f"{url}?since=someday")
    assert bad.status_code == 422 and "Enter a date" in bad.get_data(as_text=True)

    client.post(f"{url}/retry", data={"state": "failed", "reason": "busy"})
    db.session.expire_all()
    assert (_send(db, "a@example.com").status, _send(db, "b@example.com").status) == (
        "failed",
        "pending",
    )


def test_a_viewer_sees_the_failed_sends_but_cannot_retry(app, db, client, as_role, brevo):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com"])
    as_role("viewer")
    page = client.get(f"/campaigns/{campaign.id}/failed").get_data(as_text=True)
    assert _row("a@example.com") in page and "Retry" not in page
    a = _send(db, "a@example.com")
    assert client.post(f"/campaigns/{campaign.id}/failed/{a.id}/retry").status_code == 403
    assert client.post(f"/campaigns/{campaign.id}/failed/retry").status_code == 403
    db.session.expire_all()
    assert _send(db, "a@example.com").status == "failed"


def test_retrying_needs_the_pages_csrf_token(app, db, client, marketer, brevo):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com"])
    a = _send(db, "a@example.com")
    page = client.get(f"/campaigns/{campaign.id}/failed").get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/campaigns/{campaign.id}/failed/{a.id}/retry").status_code == 400
        token = {"csrf_token": csrf_token_from(page)}
        ok = client.post(f"/campaigns/{campaign.id}/failed/{a.id}/retry", data=token)
        assert ok.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    db.session.expire_all()
    assert _send(db, "a@example.com").status == "pending"


def test_a_cancelled_campaigns_failed_sends_are_shown_without_retry(
    app, db, client, marketer, brevo
):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com"])
    campaign.status = "cancelled"
    db.session.commit()
    page = client.get(f"/campaigns/{campaign.id}/failed").get_data(as_text=True)
    assert _row("a@example.com") in page and "cannot be sent again" in page
    assert "Retry all" not in page


def test_the_page_answers_in_french(app, db, client, marketer, brevo):
    campaign = _sent_with_failures(app, db, brevo, ["a@example.com"])
    page = client.get(
        f"/campaigns/{campaign.id}/failed", headers={"Accept-Language": "fr"}
    ).get_data(as_text=True)
    assert "Envois en échec" in page and "Refusé par le fournisseur" in page

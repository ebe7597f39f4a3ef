"""Save and launch, the live campaign page and its buttons, and what viewers may do."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from mailer.campaigns import launch as campaign_launch
from mailer.campaigns import stats
from mailer.engine import campaign_state
from mailer.models import (
    CampaignAudience,
    CampaignChannel,
    Import,
    Send,
    Suppression,
)
from mailer.models.base import utcnow
from mailer.queue import IMPORTS, SEND
from tests.factories import brevo_channel, draft, make_list
from tests.fixtures.app import work
from tests.fixtures.campaign_pages import HX, reload, setup_data
from tests.fixtures.imports import accept_waiting


def _with_audience(db, campaign, *lists):
    for mailing_list in lists:
        db.session.add(CampaignAudience(campaign_id=campaign.id, list_id=mailing_list.id))
    db.session.commit()


def _running(db, identity, channel, emails=("a@example.com", "b@example.com", "c@example.com")):
    """A campaign launched by the orchestrator, its channel loop not started."""
    campaign = draft(db)
    _with_audience(db, campaign, make_list(db, "L", list(emails)))
    db.session.add(
        CampaignChannel(campaign_id=campaign.id, channel_id=channel.id, identity_id=identity.id)
    )
    db.session.commit()
    campaign_state.transition(campaign, "scheduled")
    campaign_state.transition(campaign, "running")
    campaign_launch.materialise(campaign)
    db.session.commit()
    return campaign


def test_save_and_launch_sends_to_everyone_through_a_real_worker(
    app, client, db, marketer, identity, brevo
):
    emails = [f"user{i}@example.com" for i in range(25)]
    campaign = draft(db)
    _with_audience(db, campaign, make_list(db, "A", emails[:15]), make_list(db, "B", emails[10:]))
    channel = brevo_channel(db, brevo)
    response = client.post(
        f"/campaigns/{campaign.id}/setup", data=setup_data(identity, channel, action="launch")
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/campaigns/{campaign.id}")
    assert reload(db, campaign).status == "scheduled"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Launched: sending starts in a moment." in page
    assert 'hx-trigger="every 2s"' in page

    work(app, SEND)
    campaign = reload(db, campaign)
    assert campaign.status == "completed" and campaign.audience_size == 25
    assert stats.status_counts(campaign.id)["sent"] == 25
    assert brevo.accepted == 25
    live = client.get(f"/campaigns/{campaign.id}/progress", headers=HX)
    body = live.get_data(as_text=True)
    assert live.status_code == 286, "htmx stops polling once the campaign is done"
    assert "every 2s" not in body and "<html" not in body
    assert '<span class="stat-value">25</span><span class="stat-label">sent</span>' in body
    assert "100.0% done (25 of 25)" in body


def test_launch_is_refused_with_every_reason_and_nothing_starts(
    client, db, marketer, identity, sandbox
):
    campaign = draft(db, html="<p>Hello {{ first_name }}</p>")
    response = client.post(
        f"/campaigns/{campaign.id}/setup", data=setup_data(identity, sandbox, action="launch")
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Not launched." in body
    assert "no {{ unsubscribe_url }} link" in body
    assert "Add at least one list, or upload a contact file." in body
    campaign = reload(db, campaign)
    assert campaign.status == "draft" and len(campaign.channels) == 1, "the form was saved"

    everyone_gone = make_list(db, "Gone", ["x@example.com"])
    db.session.add(Suppression(email="x@example.com", reason="hard_bounce"))
    _with_audience(db, campaign, everyone_gone)
    campaign.html = '<p>{{ first_name </p><a href="{{ unsubscribe_url }}">u</a>'
    db.session.commit()
    body = client.post(
        f"/campaigns/{campaign.id}/setup", data=setup_data(identity, sandbox, action="launch")
    ).get_data(as_text=True)
    assert "HTML body, line 1:" in body
    assert "Nobody to send to: the audience has no recipient left (1 left out)." in body
    assert reload(db, campaign).status == "draft"

    no_rows = client.post(f"/campaigns/{campaign.id}/setup", data={"action": "launch"})
    assert no_rows.status_code == 422
    assert "Add at least one sending channel." in no_rows.get_data(as_text=True)


def test_a_future_schedule_waits_for_its_time(client, db, marketer, identity, sandbox):
    campaign = draft(db)
    _with_audience(db, campaign, make_list(db, "A", ["a@example.com"]))
    when = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/campaigns/{campaign.id}/setup",
        follow_redirects=True,
        data=setup_data(identity, sandbox, action="launch", scheduled_at=when),
    )
    moment = datetime.fromisoformat(when)
    shown = f"{moment:%b} {moment.day}, {moment:%Y, %H:%M} UTC"  # "Dec 8, 2026, 12:30 UTC"
    assert f"Scheduled for {shown}." in response.get_data(as_text=True)
    campaign = reload(db, campaign)
    assert campaign.status == "scheduled" and campaign.scheduled_at > utcnow()
    assert db.session.scalar(db.select(Send)) is None


def test_uploaded_files_make_the_campaign_process_then_send(
    app, client, db, marketer, identity, brevo
):
    campaign = draft(db)
    channel = brevo_channel(db, brevo)
    _with_audience(db, campaign, make_list(db, "A", ["a@example.com", "dup@example.com"]))
    client.post(
        f"/campaigns/{campaign.id}/uploads",
        data={
            "file": (
                io.BytesIO(
                    b"email,first_name\ndup@example.com,D\nnew1@example.com,N\nnew2@example.com,M\n"
                ),
                "p.csv",
            )
        },
        content_type="multipart/form-data",
    )
    accept_waiting(client)
    response = client.post(
        f"/campaigns/{campaign.id}/setup",
        follow_redirects=True,
        data=setup_data(identity, channel, action="launch"),
    )
    body = response.get_data(as_text=True)
    assert "the uploaded files are importing" in body
    assert reload(db, campaign).status == "processing"
    record = db.session.scalar(db.select(Import))
    assert f"/lists/{record.list_id}/imports/{record.id}" in body, "the import's progress"

    work(app, IMPORTS)
    assert reload(db, campaign).status in ("scheduled", "running", "completed")
    work(app, SEND)
    campaign = reload(db, campaign)
    assert campaign.status == "completed"
    assert campaign.audience_size == 4, "de-duplicated across the list and the upload"
    assert stats.status_counts(campaign.id)["sent"] == 4 and brevo.accepted == 4


def test_launch_after_the_upload_imported_schedules_at_once(
    app, client, db, marketer, identity, sandbox
):
    campaign = draft(db)
    client.post(
        f"/campaigns/{campaign.id}/uploads",
        data={"file": (io.BytesIO(b"email\nnew@example.com\n"), "p.csv")},
        content_type="multipart/form-data",
    )
    accept_waiting(client)
    work(app, IMPORTS)
    assert "still importing" not in client.get(
        f"/campaigns/{campaign.id}/estimate", headers=HX
    ).get_data(as_text=True)
    client.post(
        f"/campaigns/{campaign.id}/setup", data=setup_data(identity, sandbox, action="launch")
    )
    assert reload(db, campaign).status == "scheduled"


def test_pause_resume_and_cancel_from_the_campaign_page(client, db, marketer, identity, sandbox):
    campaign = _running(db, identity, sandbox)
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert ">Pause</button>" in page and "Cancel campaign" in page and ">Resume<" not in page
    assert '<span class="stat-value">3</span><span class="stat-label">remaining</span>' in page

    client.post(f"/campaigns/{campaign.id}/pause")
    assert reload(db, campaign).status == "paused"
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert ">Resume</button>" in page and ">Pause</button>" not in page

    client.post(f"/campaigns/{campaign.id}/resume")
    assert reload(db, campaign).status == "running"
    refused = client.post(f"/campaigns/{campaign.id}/resume", follow_redirects=True)
    assert "The campaign is already running." in refused.get_data(as_text=True)

    client.post(f"/campaigns/{campaign.id}/cancel")
    assert reload(db, campaign).status == "cancelled"
    assert stats.status_counts(campaign.id)["cancelled"] == 3
    done = client.get(f"/campaigns/{campaign.id}/progress", headers=HX)
    assert done.status_code == 286
    assert ">Pause<" not in done.get_data(as_text=True)


def test_live_block_shows_rows_rate_eta_and_in_doubt_sends(client, db, marketer, identity, sandbox):
    campaign = _running(db, identity, sandbox, [f"u{i}@example.com" for i in range(5)])
    row = campaign.channels[0]
    sends = db.session.scalars(db.select(Send).order_by(Send.id)).all()
    for send in sends[:2]:
        send.status, send.sent_at, send.campaign_channel_id = "sent", utcnow(), row.id
    sends[2].status, sends[2].campaign_channel_id = "in_doubt", row.id
    row.sent_count = 2
    row.waiting_reason = "daily maximum reached until 2031-01-01 00:00 UTC"
    db.session.commit()
    live = client.get(f"/campaigns/{campaign.id}/progress", headers=HX)
    body = live.get_data(as_text=True)
    assert live.status_code == 200 and 'hx-trigger="every 2s"' in body
    # 2 sent within the second the send has run: the 2 left go in less than a minute.
    assert "2 sent in the last minute" in body and "finishes in less than a minute" in body
    assert "daily maximum reached until 2031-01-01" in body
    assert "1 email is unconfirmed." in body and "never resends these on its own" in body
    assert "Send the unconfirmed emails again" in body
    assert '<progress value="3" max="5"' in body

    french = client.get(
        f"/campaigns/{campaign.id}/progress", headers={**HX, "Accept-Language": "fr"}
    ).get_data(as_text=True)
    assert "maximum quotidien atteint jusqu’au 2031-01-01 00:00 UTC" in french, "a worker's note"

    client.post(f"/campaigns/{campaign.id}/retry-in-doubt")
    assert stats.status_counts(campaign.id)["in_doubt"] == 0
    assert stats.status_counts(campaign.id)["pending"] == 3

    plain = client.get(f"/campaigns/{campaign.id}/progress")
    assert plain.status_code == 200 and "<html" in plain.get_data(as_text=True)


def test_the_page_says_when_the_launch_is_still_writing_the_audience(
    client, db, marketer, identity, sandbox, monkeypatch
):
    monkeypatch.setattr(campaign_launch, "HEAD", 2)
    campaign = draft(db)
    _with_audience(db, campaign, make_list(db, "L", [f"u{i}@example.com" for i in range(5)]))
    db.session.add(
        CampaignChannel(campaign_id=campaign.id, channel_id=sandbox.id, identity_id=identity.id)
    )
    db.session.commit()
    campaign_state.transition(campaign, "scheduled")
    campaign_state.transition(campaign, "running")
    pages = []

    def look():  # the first addresses are written, the rest not yet
        pages.append(client.get(f"/campaigns/{campaign.id}").get_data(as_text=True))

    campaign_launch.materialise(campaign, then=look)
    assert "Writing the audience: its first recipients are being mailed meanwhile." in pages[0]
    assert "recipients at launch" not in pages[0]
    campaign_launch.orchestrate(campaign.id)  # records what it wrote
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "<strong>5</strong> recipients at launch" in page
    assert "Writing the audience" not in page


def test_a_failed_campaign_shows_its_error(client, db, marketer):
    campaign = draft(db, status="failed", error="Launch failed: the database went away")
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Launch failed: the database went away" in page and 'role="alert"' in page
    assert client.get(f"/campaigns/{campaign.id}/progress", headers=HX).status_code == 286
    french = client.get(f"/campaigns/{campaign.id}", headers={"Accept-Language": "fr"})
    assert "Échec du lancement\u00a0: the database went away" in french.get_data(as_text=True)


def test_the_list_filters_by_status(client, db, marketer, identity, sandbox):
    draft(db, "Draft one")
    done = draft(db, "Done one", status="completed", audience_size=4)
    db.session.add_all(
        [
            Send(
                campaign_id=done.id,
                subscriber_id=i,
                email=f"s{i}@example.com",
                status="sent",
                opened_at=utcnow() if i < 2 else None,
            )
            for i in range(4)
        ]
    )
    db.session.commit()
    page = client.get("/campaigns/").get_data(as_text=True)
    assert "Draft one" in page and "Done one" in page and "New campaign" in page
    assert "4 of 4 (100%)" in page and "50.0%" in page, "progress and open rate"
    only = client.get("/campaigns/?status=completed", headers=HX)
    body = only.get_data(as_text=True)
    assert "<html" not in body and "Done one" in body and "Draft one" not in body
    assert "Draft one" not in client.get("/campaigns/?status=completed").get_data(as_text=True)


def test_a_viewer_reads_but_cannot_create_launch_or_pause(client, db, as_role, identity, sandbox):
    viewer = as_role("viewer")
    assert viewer.role == "viewer"
    campaign = _running(db, identity, sandbox)
    other = draft(db, "Draft")
    assert client.get("/campaigns/new").status_code == 403
    assert client.post("/campaigns/", data={"name": "x"}).status_code == 403
    assert client.get(f"/campaigns/{other.id}/setup").status_code == 403
    launch = client.post(
        f"/campaigns/{other.id}/setup", data=setup_data(identity, sandbox, action="launch")
    )
    assert launch.status_code == 403 and reload(db, other).status == "draft"
    assert client.post(f"/campaigns/{campaign.id}/pause").status_code == 403
    assert reload(db, campaign).status == "running"
    listing = client.get("/campaigns/").get_data(as_text=True)
    assert "New campaign" not in listing
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    for button in (">Pause<", "Cancel campaign", "Duplicate", "Delete", "/setup"):
        assert button not in page, button


def test_a_failed_upload_sends_the_campaign_back_to_draft_and_blocks_until_fixed(
    app, client, db, marketer, identity, sandbox
):
    campaign = draft(db)
    broken = b'[{"email": "a@example.com"}, {"email": "b@exa'
    client.post(
        f"/campaigns/{campaign.id}/uploads",
        data={"file": (io.BytesIO(broken), "broken.json")},
        content_type="multipart/form-data",
    )
    accept_waiting(client)
    client.post(
        f"/campaigns/{campaign.id}/setup", data=setup_data(identity, sandbox, action="launch")
    )
    assert reload(db, campaign).status == "processing"
    work(app, IMPORTS)
    campaign = reload(db, campaign)
    assert campaign.status == "draft" and "could not be imported" in campaign.error
    assert campaign.error in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    estimate = client.get(f"/campaigns/{campaign.id}/estimate", headers=HX)
    assert estimate.status_code == 286, "nothing left importing: the estimate stops polling"
    assert "The upload “broken.json” could not be imported" in estimate.get_data(as_text=True)

    refused = client.post(
        f"/campaigns/{campaign.id}/setup", data=setup_data(identity, sandbox, action="launch")
    )
    assert refused.status_code == 422
    assert "could not be imported: see its report" in refused.get_data(as_text=True)

    client.post(
        f"/campaigns/{campaign.id}/uploads",
        data={"file": (io.BytesIO(b"email\nb@example.com\n"), "fixed.csv")},
        content_type="multipart/form-data",
    )
    accept_waiting(client)
    work(app, IMPORTS)
    client.post(
        f"/campaigns/{campaign.id}/setup", data=setup_data(identity, sandbox, action="launch")
    )
    campaign = reload(db, campaign)
    assert campaign.status == "scheduled" and campaign.error is None

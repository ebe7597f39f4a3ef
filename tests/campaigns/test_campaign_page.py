"""The campaign page and the list as people read them: the report linked, a finished
campaign's results, plain words, an estimate from the recent rate, what each role sees, and
the page in French."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mailer.engine import campaign_state
from mailer.models import Campaign, CampaignAudience, CampaignChannel, Event, Send
from mailer.models.base import utcnow
from tests.factories import draft, make_list, make_sent_campaign
from tests.fixtures.campaign_pages import HX, reload, setup_data


def _finished(db, channel) -> Campaign:
    """A completed campaign to 4 people: 2 opened (one also clicked), 1 bounced, 1 left."""
    sent = make_sent_campaign(db, channel, [f"p{i}@example.com" for i in range(4)])
    campaign = db.session.get(Campaign, sent.campaign_id)
    campaign.name, campaign.audience_size = "Winter news", 4
    sends = list(sent.sends.values())
    for send in sends[:2]:
        db.session.add(Event(type="open", campaign_id=campaign.id, send_id=send.id))
    db.session.add(Event(type="click", campaign_id=campaign.id, send_id=sends[0].id))
    db.session.add(Event(type="open", campaign_id=campaign.id, send_id=sends[3].id, machine=True))
    sends[2].bounced_at = utcnow()
    sends[3].unsubscribed_at = utcnow()
    db.session.commit()
    return campaign


def _running(db, identity, channel, emails, **row) -> Campaign:
    campaign = draft(db, name="Summer sale")
    mailing_list = make_list(db, f"List of {emails[0]}", emails)
    db.session.add(CampaignAudience(campaign_id=campaign.id, list_id=mailing_list.id))
    db.session.add(
        CampaignChannel(
            campaign_id=campaign.id, channel_id=channel.id, identity_id=identity.id, **row
        )
    )
    db.session.commit()
    campaign_state.transition(campaign, "scheduled")
    campaign_state.transition(campaign, "running")
    from mailer.campaigns import launch as campaign_launch

    campaign_launch.materialise(campaign)
    db.session.commit()
    return campaign


def _send(db, campaign, count: int, at) -> None:
    """Mark `count` pending sends of the campaign sent at `at`."""
    row = campaign.channels[0]
    pending = db.session.scalars(
        db.select(Send).filter_by(campaign_id=campaign.id, status="pending").limit(count)
    ).all()
    for send in pending:
        send.status, send.sent_at, send.campaign_channel_id = "sent", at, row.id
    row.sent_count += len(pending)
    db.session.commit()


def _eta(body: str) -> str:
    match = re.search(r'<span class="eta">([^<]*)</span>', body)
    assert match, body
    return match.group(1).strip()


# ------------------------------------------------------------------ item 1: the report


def test_the_report_is_linked_from_the_campaign_page_and_the_list(client, db, marketer, sandbox):
    done = _finished(db, sandbox)
    waiting = draft(db, name="Not yet")
    page = client.get(f"/campaigns/{done.id}").get_data(as_text=True)
    assert f'href="/reports/campaigns/{done.id}"' in page and "View the report" in page
    listing = client.get("/campaigns/").get_data(as_text=True)
    assert f'href="/reports/campaigns/{done.id}"' in listing
    assert f'href="/reports/campaigns/{waiting.id}"' not in listing, "a draft has no report"
    assert "View the report" not in client.get(f"/campaigns/{waiting.id}").get_data(as_text=True)
    report = client.get(f"/reports/campaigns/{done.id}").get_data(as_text=True)
    assert f'href="/campaigns/{done.id}"' in report, "and back from the report"


def test_a_finished_campaign_shows_its_opens_clicks_bounces_and_unsubscribes(
    client, db, marketer, sandbox
):
    campaign = _finished(db, sandbox)
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    results = page[page.index("campaign-results") :]

    def figure(label):
        match = re.search(r'stat-value">([^<]+)</span><span class="stat-label">' + label, results)
        assert match, label
        return match.group(1)

    assert figure("opened") == "2", "people only: the image proxy's open is left out"
    assert figure("clicked") == "1"
    assert figure("bounced") == "1"
    assert figure("unsubscribed") == "1"
    assert "(50%)" in results, "2 of 4 sent opened"


# ------------------------------------------------------------------ item 5: plain words


def test_the_live_block_speaks_plain_words_and_explains_unconfirmed_emails(
    client, db, marketer, identity, sandbox
):
    campaign = _running(db, identity, sandbox, [f"u{i}@example.com" for i in range(3)])
    send = db.session.scalars(db.select(Send).filter_by(campaign_id=campaign.id)).first()
    send.status, send.campaign_channel_id = "in_doubt", campaign.channels[0].id
    db.session.commit()
    body = client.get(f"/campaigns/{campaign.id}/progress", headers=HX).get_data(as_text=True)
    for engineering in ("Channel row", "In doubt", "in doubt", "In flight", "channel speed"):
        assert engineering not in body, engineering
    assert "1 email is unconfirmed." in body
    assert "handed to the provider when a worker stopped" in body
    assert "Check the provider's logs; if they were not sent, send them again." in body
    assert "as fast as the channel allows" in body and "up to the channel's daily limit" in body


def test_flashes_name_the_campaign(client, db, marketer, identity, sandbox):
    campaign = _running(db, identity, sandbox, ["a@example.com"])
    paused = client.post(f"/campaigns/{campaign.id}/pause", follow_redirects=True)
    assert "“Summer sale” paused" in paused.get_data(as_text=True)
    resumed = client.post(f"/campaigns/{campaign.id}/resume", follow_redirects=True)
    assert "“Summer sale” resumed." in resumed.get_data(as_text=True)
    refused = client.get(f"/campaigns/{campaign.id}/edit", follow_redirects=True)
    assert "“Summer sale” is sending and can no longer be edited" in refused.get_data(as_text=True)


# ------------------------------------------------------------------ item 8: time left


def test_time_left_early_in_a_send_follows_the_recent_rate(client, db, marketer, identity, sandbox):
    campaign = _running(db, identity, sandbox, [f"u{i}@example.com" for i in range(280)])
    campaign.started_at = utcnow() - timedelta(seconds=20)
    _send(db, campaign, 40, utcnow() - timedelta(seconds=5))  # 2 a second over its 20 s
    body = client.get(f"/campaigns/{campaign.id}/progress", headers=HX).get_data(as_text=True)
    # 240 left at 2/s: 2 min (a rate over a whole minute would have said 6).
    assert _eta(body) == "finishes in about 2 min"


def test_time_left_respects_the_rows_speed_and_daily_maximum(
    client, db, marketer, identity, sandbox
):
    slow = _running(
        db, identity, sandbox, [f"s{i}@example.com" for i in range(610)], frequency_minutes=0.1
    )
    slow.started_at = utcnow() - timedelta(minutes=5)
    _send(db, slow, 10, utcnow() - timedelta(seconds=2))  # a burst faster than the row allows
    body = client.get(f"/campaigns/{slow.id}/progress", headers=HX).get_data(as_text=True)
    assert _eta(body) == "finishes in about 1 h 00 min", "600 at one every 6 s"

    capped = _running(
        db, identity, sandbox, [f"c{i}@example.com" for i in range(260)], daily_max=100
    )
    capped.started_at = utcnow() - timedelta(minutes=5)
    _send(db, capped, 10, utcnow() - timedelta(seconds=30))
    body = client.get(f"/campaigns/{capped.id}/progress", headers=HX).get_data(as_text=True)
    assert _eta(body) == "finishes in about 2 days", "250 left at 100 a day"


def test_the_launched_banner_goes_once_sending_has_started(client, db, marketer, identity, sandbox):
    campaign = draft(db, name="Autumn")
    mailing_list = make_list(db, "A", ["a@example.com", "b@example.com"])
    db.session.add(CampaignAudience(campaign_id=campaign.id, list_id=mailing_list.id))
    db.session.commit()
    launched = client.post(
        f"/campaigns/{campaign.id}/setup",
        data=setup_data(identity, sandbox, action="launch"),
        follow_redirects=True,
    ).get_data(as_text=True)
    assert launched.count("Launched: sending starts in a moment.") == 1, "no flash that stays"
    assert "Launched: sending starts" in launched.split('id="live"')[1], "in the live block"
    campaign = reload(db, campaign)
    if campaign.status == "scheduled":
        campaign_state.transition(campaign, "running")
        from mailer.campaigns import launch as campaign_launch

        campaign_launch.materialise(campaign)
        db.session.commit()
    live = client.get(f"/campaigns/{campaign.id}/progress", headers=HX).get_data(as_text=True)
    assert "Launched: sending starts in a moment." in live
    _send(db, campaign, 1, utcnow())
    live = client.get(f"/campaigns/{campaign.id}/progress", headers=HX).get_data(as_text=True)
    assert "Launched: sending starts in a moment." not in live
    assert "1 sent in the last minute" in live


# ------------------------------------------------------------------ item 9: roles


@pytest.mark.parametrize("role", ["viewer", "marketer", "admin"])
def test_each_role_sees_only_the_buttons_it_may_use(client, db, as_role, identity, sandbox, role):
    running = _running(db, identity, sandbox, ["a@example.com"])
    done = _finished(db, sandbox)
    as_role(role)
    writes = role != "viewer"
    page = client.get(f"/campaigns/{running.id}").get_data(as_text=True)
    for button in (">Pause</button>", ">Cancel campaign</button>", ">Duplicate</button>"):
        assert (button in page) is writes, button
    finished = client.get(f"/campaigns/{done.id}").get_data(as_text=True)
    assert ("Delete…" in finished) is writes
    assert "View the report" in finished, "everyone reads the report"
    listing = client.get("/campaigns/").get_data(as_text=True)
    assert (">New campaign</a>" in listing) is writes
    if not writes:
        assert client.post(f"/campaigns/{running.id}/pause").status_code == 403
        assert client.get(f"/campaigns/{running.id}/setup").status_code == 403


# ------------------------------------------------------------------ French


def test_the_campaign_page_answers_in_french(client, db, marketer, identity, sandbox):
    campaign = _running(db, identity, sandbox, [f"u{i}@example.com" for i in range(1500)])
    fr = {"Accept-Language": "fr"}
    _send(db, campaign, 1234, utcnow())
    page = client.get(f"/campaigns/{campaign.id}", headers=fr).get_data(as_text=True)
    assert "Progression" in page and "envoyés dans la dernière minute" in page
    assert "1\u202f234" in page or "1\u00a0234" in page, "French thousands separator"
    paused = client.post(f"/campaigns/{campaign.id}/pause", headers=fr, follow_redirects=True)
    assert "«\u00a0Summer sale\u00a0» en pause" in paused.get_data(as_text=True)
    refused = client.post(f"/campaigns/{campaign.id}/setup", headers=fr, follow_redirects=True)
    assert "ne peut plus être modifiée" in refused.get_data(as_text=True)
    english = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "<h2>Progress" in english and "1,234" in english


def test_stored_messages_are_shown_as_text(client, db, marketer):
    evil = 'Launch failed: "><img src=x onerror=alert(1)>'
    campaign = draft(db, status="failed", error=evil)
    for url in (f"/campaigns/{campaign.id}", f"/campaigns/{campaign.id}/progress"):
        body = client.get(url).get_data(as_text=True)
        assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body, url

"""The campaign report: figures match the recorded events; charts data; CSV; dashboard."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter

import pytest

from mailer.campaigns import reports
from mailer.engine.tracking import flush
from mailer.models import Send
from mailer.models.base import utcnow
from tests.fixtures.tracking import events, get

SCANNER = "Mozilla/5.0 (compatible; Proofpoint URL Defense)"


@pytest.fixture
def activity(db, client, send_campaign):
    """A sent campaign with people, machines, an unsubscribe, a bounce and a complaint."""
    people = [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "dan@example.com",
        "eve@example.com",
    ]
    sent = send_campaign(people)
    ann, bob, cy, dan, eve = (sent[e] for e in people)
    get(client, ann.pixel_path)
    get(client, ann.pixel_path)
    get(client, ann.click_path(0))
    get(client, ann.click_path(1))
    get(client, ann.click_path(2))  # the same URL as link 0
    get(client, bob.pixel_path, ua="Mozilla/5.0")  # Apple privacy pre-fetch
    get(client, bob.pixel_path)
    get(client, cy.pixel_path, ua="Mozilla/5.0")
    get(client, cy.click_path(1), ua=SCANNER)
    client.post(f"/u/{dan.token}", data={"List-Unsubscribe": "One-Click"})
    db.session.execute(db.update(Send).where(Send.id == eve.send.id).values(bounced_at=utcnow()))
    db.session.execute(db.update(Send).where(Send.id == cy.send.id).values(complained_at=utcnow()))
    db.session.commit()
    return sent


def expected_from_events(db, campaign_id):
    """The same figures, counted independently from the event rows."""
    rows = events(db, campaign_id=campaign_id)
    out = {}
    for kind in ("open", "click"):
        hits = [e for e in rows if e.type == kind]
        people = [e for e in hits if not e.machine]
        out[kind] = (
            len(people),
            len(hits),
            len({e.send_id for e in people}),
            len({e.send_id for e in hits}),
        )
    out["unsubscribe"] = len([e for e in rows if e.type == "unsubscribe"])
    return out


def test_report_figures_match_the_events_recorded(db, activity):
    report = reports.campaign_report(activity.campaign)
    f = report.figures
    expected = expected_from_events(db, activity.campaign.id)
    assert (f.opens.total_human, f.opens.total, f.opens.unique_human, f.opens.unique) == expected[
        "open"
    ]
    assert (
        f.clicks.total_human,
        f.clicks.total,
        f.clicks.unique_human,
        f.clicks.unique,
    ) == expected["click"]
    assert expected["open"] == (3, 5, 2, 3)
    assert expected["click"] == (3, 4, 1, 2)
    assert (f.recipients, f.sent, f.delivered) == (5, 5, 0)
    assert (f.unsubscribed, f.bounced, f.complained) == (expected["unsubscribe"], 1, 1)
    assert (
        f.base == 5
        and f.open_rate == pytest.approx(2 / 5)
        and f.open_rate_all == pytest.approx(3 / 5)
    )
    assert f.click_rate == pytest.approx(1 / 5) and f.click_to_open == pytest.approx(1 / 2)
    [row] = report.channels
    assert row.figures == f, "one channel: its figures are the campaign's"


def test_rates_are_over_delivered_once_feedback_exists(db, activity):
    db.session.execute(
        db.update(Send)
        .where(Send.campaign_id == activity.campaign.id, Send.bounced_at.is_(None))
        .values(delivered_at=utcnow())
    )
    db.session.commit()
    f = reports.campaign_report(activity.campaign).figures
    assert f.delivered == 4 and f.base == 4 and f.open_rate == pytest.approx(2 / 4)


def test_timeline_and_top_links(db, activity):
    report = reports.campaign_report(activity.campaign)
    t = report.timeline
    assert len(t["labels"]) >= 24 and len(t["opens"]) == len(t["labels"])
    assert (
        sum(t["opens"]),
        sum(t["machine_opens"]),
        sum(t["clicks"]),
        sum(t["machine_clicks"]),
    ) == (3, 2, 3, 1)
    by_link = Counter(e.link_id for e in events(db, type="click"))
    assert [(link["id"], link["clicks"]) for link in report.top_links] == by_link.most_common()
    assert report.top_links[0]["url"].startswith("https://shop.example.com/spring")
    assert report.top_links[0] == {
        **report.top_links[0],
        "clicks": 2,
        "human": 2,
        "unique_human": 1,
    }


def test_report_page_shows_figures_and_chart_data(db, client, as_role, activity):
    as_role("viewer")
    response = client.get(f"/reports/campaigns/{activity.campaign.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "40.0%" in page and "60.0%" in page  # open rate people / all
    assert "js/report.js" in page and "chart-4.6.1.umd.min.js" in page
    assert "<script>" not in page, "no inline script: data in a JSON script tag"
    raw = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    data = json.loads(raw.group(1))
    assert sum(data["timeline"]["opens"]) == 3 and data["links"][0]["clicks"] == 2
    fragment = client.get(
        f"/reports/campaigns/{activity.campaign.id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="report-figures"') and "<html" not in fragment


def test_report_needs_a_login(client, activity):
    response = client.get(f"/reports/campaigns/{activity.campaign.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(f"/reports/campaigns/{activity.campaign.id}/activity.csv").status_code == 302


def test_unknown_campaign_is_404(client, as_role):
    as_role("viewer")
    assert client.get("/reports/campaigns/999999").status_code == 404


def test_csv_export_has_one_row_per_recipient_matching_the_events(db, client, as_role, activity):
    as_role("viewer")
    response = client.get(f"/reports/campaigns/{activity.campaign.id}/activity.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["email"] for r in rows] == sorted(
        activity.received, key=lambda e: activity[e].send.id
    )
    by_email = {r["email"]: r for r in rows}
    ann = by_email["ann@example.com"]
    assert (ann["opens"], ann["opens_all"], ann["clicks"], ann["clicks_all"]) == (
        "2",
        "2",
        "3",
        "3",
    )
    assert (by_email["bob@example.com"]["opens"], by_email["bob@example.com"]["opens_all"]) == (
        "1",
        "2",
    )
    assert (by_email["cy@example.com"]["clicks"], by_email["cy@example.com"]["clicks_all"]) == (
        "0",
        "1",
    )
    assert by_email["ann@example.com"]["opened_at"] and not by_email["cy@example.com"]["opened_at"]
    assert by_email["dan@example.com"]["unsubscribed_at"]
    assert by_email["eve@example.com"]["bounced_at"]
    assert sum(int(r["opens_all"]) for r in rows) == len(events(db, type="open"))
    assert sum(int(r["clicks_all"]) for r in rows) == len(events(db, type="click"))


def test_csv_export_pages_through_sends(db, activity):
    chunks = list(reports.activity_csv(activity.campaign.id, page=2))
    assert len(chunks) == 1 + 3  # header, then pages of 2, 2, 1
    assert sum(chunk.count("\n") for chunk in chunks) == 6


def test_buffered_hits_count_once_flushed(buffered, db, client, send_campaign):
    sent = send_campaign(["ann@example.com"])
    get(client, sent["ann@example.com"].pixel_path)
    assert reports.campaign_report(sent.campaign).figures.opens.total == 0
    flush.flush()
    assert reports.campaign_report(sent.campaign).figures.opens.unique_human == 1


def test_dashboard_links_each_campaign_to_its_report_with_rates(client, as_role, activity):
    as_role("viewer")
    page = client.get("/").get_data(as_text=True)
    assert f'href="/reports/campaigns/{activity.campaign.id}"' in page
    assert "40.0%" in page and "20.0%" in page  # opens and clicks by people, over sent

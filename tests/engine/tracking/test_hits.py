"""Open pixel and click redirect: valid and invalid tokens, open-redirect attempts, machines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailer.engine.tracking import flush, hits
from mailer.lib import tokens
from mailer.models import Link, Send
from mailer.models.base import utcnow
from tests.fixtures.tracking import BROWSER, events, get

# ------------------------------------------------------------------ pixel


def test_pixel_records_an_open_and_answers_a_gif_that_is_never_cached(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    response = get(client, ann.pixel_path)
    assert response.status_code == 200
    assert response.mimetype == "image/gif"
    assert response.data == hits.PIXEL and response.data.startswith(b"GIF89a")
    assert "no-store" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    get(client, ann.pixel_path)
    opens = events(db, type="open")
    assert [(e.send_id, e.machine) for e in opens] == [(ann.send.id, False)] * 2
    assert all(e.provider_event_id.startswith("hit:") for e in opens)
    assert opens[0].campaign_id == ann.send.campaign_id
    db.session.refresh(ann.send)
    assert ann.send.opened_at == opens[0].occurred_at, "first open kept"


@pytest.mark.parametrize(
    "path",
    [
        "/t/o/nonsense.gif",
        "/t/o/c1.AAAAAAAAAAAAAAAAAAAAAA.gif",  # well formed, wrong signature
        "/t/o/.gif",
    ],
)
def test_pixel_with_an_invalid_token_answers_the_gif_and_records_nothing(db, client, path):
    response = get(client, path)
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert response.data == hits.PIXEL
    assert events(db) == []


def test_pixel_for_a_token_of_another_kind_or_a_deleted_send_records_nothing(
    app, db, client, send_campaign
):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    message_token = tokens.make(tokens.MESSAGE, ann.send.id)
    assert get(client, f"/t/o/{message_token}.gif").data == hits.PIXEL
    gone = tokens.make(tokens.CAMPAIGN_SEND, ann.send.id + 1000)
    assert get(client, f"/t/o/{gone}.gif").data == hits.PIXEL
    assert events(db) == []


# ------------------------------------------------------------------ clicks


def test_click_redirects_to_the_recorded_url_and_records_it(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    response = get(client, ann.click_path(1))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example.com/stores"
    response = get(client, ann.click_path(0))
    assert response.headers["Location"] == (
        "https://shop.example.com/spring?utm_source=mail&utm_campaign=spring"
    )
    clicks = events(db, type="click")
    assert [(e.send_id, e.link_id, e.machine) for e in clicks] == [
        (ann.send.id, ann.clicks[1][1], False),
        (ann.send.id, ann.clicks[0][1], False),
    ]
    db.session.refresh(ann.send)
    assert ann.send.clicked_at == clicks[0].occurred_at


def test_click_with_an_invalid_token_is_refused(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    _, link_id = ann.clicks[0]
    forged = (
        tokens.make(tokens.CAMPAIGN_SEND, ann.send.id).rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    )
    for path in (f"/t/c/nonsense/{link_id}", f"/t/c/{forged}/{link_id}", f"/t/c//{link_id}"):
        response = get(client, path)
        assert response.status_code == 404, path
        assert "Location" not in response.headers
    assert events(db) == []


@pytest.fixture(params=["direct", "buffered"])
def mode(request, app):
    """Both ways a hit is answered: written at once (Flask view) or buffered (fast path)."""
    app.config["MAILER_TRACKING_BUFFER"] = request.param == "buffered"
    return request.param


def test_open_redirect_attempts_are_refused(db, client, send_campaign, mode):
    sent = send_campaign(["ann@example.com"])
    other = send_campaign(["bob@example.com"], html='<a href="https://elsewhere.example/">x</a>')
    ann, bob = sent["ann@example.com"], other["bob@example.com"]
    foreign_link = bob.clicks[0][1]
    token, link_id = ann.clicks[0]
    attempts = [
        f"/t/c/{token}/{foreign_link}",  # another campaign's link
        f"/t/c/{token}/999999",  # unknown link
        f"/t/c/{token}/0",
        f"/t/c/{token}/-1",
        f"/t/c/{token}/99999999999999999999999999",
        f"/t/c/{token}/{link_id}x",
        f"/t/c/{token}/https://evil.example",
        f"/t/c/{token}/%2F%2Fevil.example",
        f"/t/c/{token}/{link_id}%2F%2Fevil.example",
        f"/t/c/{token}/%68ttps%3A%2F%2Fevil.example",
        f"/t/c/{token}/{link_id}/https://evil.example",
        f"/t/c/{token}/{link_id}%00https://evil.example",
        f"/t/c/{token}/{link_id}%0d%0aLocation:%20https://evil.example",
        f"/t/c/{token}%2F..%2F{link_id}",
    ]
    for path in attempts:
        response = get(client, path)
        assert response.status_code == 404, path
        assert "Location" not in response.headers, path
    for path in (
        f"/t/c/{token}/{link_id}?url=https://evil.example",
        f"/t/c/{token}/{link_id}?next=//evil.example&redirect=https%3A%2F%2Fevil.example",
    ):
        response = get(client, path)
        assert response.headers["Location"].startswith("https://shop.example.com/"), path
    if mode == "buffered":
        assert flush.pending() == 2
        flush.flush()
    assert len(events(db, type="click")) == 2


def test_invalid_hits_in_buffered_mode(buffered, db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    response = get(client, f"/t/c/{ann.token}/999999")
    assert response.status_code == 404 and "This link is not valid" in response.text
    assert get(client, "/t/o/nonsense.gif").data == hits.PIXEL
    assert flush.pending() == 0


def test_head_pixel_in_buffered_mode_has_no_body_and_is_machine(
    buffered, db, client, send_campaign
):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    response = client.head(ann.pixel_path, headers={"User-Agent": BROWSER})
    assert response.status_code == 200 and response.data == b""
    assert response.headers["Content-Type"] == "image/gif"
    flush.flush()
    assert [(e.type, e.machine) for e in events(db)] == [("open", True)]


def test_redirect_location_is_an_ascii_uri(db, client, send_campaign, mode):
    html = '<a href="https://shop.example.com/caf\u00e9?q=cr\u00e8me&amp;x=1">x</a>'
    html += '<a href="https://shop.example.com/\n\tsplit">y</a>'
    ann = send_campaign(["ann@example.com"], html=html)["ann@example.com"]
    response = get(client, ann.click_path(0))
    assert response.headers["Location"] == "https://shop.example.com/caf%C3%A9?q=cr%C3%A8me&x=1"
    urls = set(db.session.scalars(db.select(Link.url)))
    assert "https://shop.example.com/split" in urls, "tabs and newlines dropped, as browsers do"


def test_a_recorded_link_that_is_not_a_web_url_is_never_followed(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    link = db.session.get(Link, ann.clicks[1][1])
    link.url = "javascript:alert(1)"  # only possible by editing the database by hand
    db.session.commit()
    assert get(client, ann.click_path(1)).status_code == 404


def test_head_on_a_tracking_url_is_recorded_as_machine(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    response = client.head(ann.click_path(0), headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert [e.machine for e in events(db, type="click")] == [True]


# ------------------------------------------------------------------ machine activity


@pytest.mark.parametrize(
    ("ua", "reason"),
    [
        (
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
            "(via ggpht.com GoogleImageProxy)",
            "gmail image proxy",
        ),
        (
            "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
            "yahoo image proxy",
        ),
        ("Mozilla/5.0", "apple mail privacy protection"),
        ("", "no user agent"),
        ("Barracuda Sentinel (EE)", "link scanner"),
        ("python-requests/2.32", "link scanner"),
    ],
)
def test_opens_from_image_proxies_and_scanners_are_flagged(db, client, send_campaign, ua, reason):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    get(client, ann.pixel_path, ua=ua)
    [event] = events(db, type="open")
    assert event.machine is True
    assert event.data["machine"] == reason
    db.session.refresh(ann.send)
    assert ann.send.opened_at is None, "only people open"


@pytest.mark.parametrize(
    "ua",
    [
        BROWSER,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
        "Thunderbird/128.0",
    ],
)
def test_mail_clients_and_browsers_are_people(db, client, send_campaign, ua):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    get(client, ann.pixel_path, ua=ua)
    get(client, ann.click_path(0), ua=ua)
    assert [e.machine for e in events(db)] == [False, False]


def test_link_scanner_clicks_are_flagged_and_still_redirected(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    response = get(client, ann.click_path(0), ua="Mozilla/5.0 (compatible; Proofpoint URL Defense)")
    assert response.status_code == 302
    [event] = events(db, type="click")
    assert event.machine and event.data["machine"] == "link scanner"
    db.session.refresh(ann.send)
    assert ann.send.clicked_at is None


def test_hits_within_seconds_of_sending_are_machine_activity(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"], sent_ago=None)["ann@example.com"]
    get(client, ann.pixel_path)
    get(client, ann.click_path(0))
    assert [(e.type, e.machine, e.data["machine"]) for e in events(db)] == [
        ("open", True, "within seconds of sending"),
        ("click", True, "within seconds of sending"),
    ]
    db.session.execute(
        db.update(Send).values(sent_at=utcnow() - hits.MACHINE_WINDOW - timedelta(seconds=1))
    )
    db.session.commit()
    get(client, ann.pixel_path)
    assert events(db)[-1].machine is False


def test_machine_rules_alone():
    assert hits.machine_reason(hits.OPEN, "Mozilla/5.0") == "apple mail privacy protection"
    assert hits.machine_reason(hits.CLICK, "Mozilla/5.0") is None, "proxy rules: opens"
    assert hits.machine_reason(hits.CLICK, BROWSER, head=True) == "HEAD request"
    assert hits.machine_reason(hits.CLICK, "Googlebot/2.1") == "link scanner"
    assert hits.machine_reason(hits.OPEN, BROWSER) is None

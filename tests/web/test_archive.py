"""The public archive: public, launched campaigns only, rendered for a sample person with no
tracking and no real personal data; an Atom feed; pages; the campaign page's switch."""

from __future__ import annotations

import pytest

from mailer.models import Campaign, Role
from tests.factories import make_user
from tests.fixtures.app import login_as

HTML = """<!doctype html><html><body><p>Dear {{ first_name }} ({{ email }}),</p>
<p><a href="https://shop.example.com/spring">Spring</a>
<a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ preferences_url }}">Choices</a></p>
</body></html>"""


@pytest.fixture
def sent(db, send_campaign):
    """A public campaign and a private one, both sent through the real worker."""
    public = send_campaign(["ann@example.com"], html=HTML, subject="Spring for {{ first_name }}")
    private = send_campaign(["bob@example.com"], html=HTML, subject="Members only")
    public.campaign.public = True
    db.session.commit()
    return public.campaign, private.campaign


def test_the_archive_lists_public_campaigns_only(db, client, sent):
    public, private = sent
    page = client.get("/archive").get_data(as_text=True)
    assert f"/archive/{public.id}" in page and "Spring for Jane" in page  # the sample person
    assert f"/archive/{private.id}" not in page and "Members only" not in page
    assert client.get(f"/archive/{private.id}").status_code == 404


def test_a_public_draft_stays_out_until_sent(db, client, sent):
    draft = Campaign(name="Next", subject="Coming soon", html=HTML, public=True)
    db.session.add(draft)
    db.session.commit()
    assert "Coming soon" not in client.get("/archive").get_data(as_text=True)
    assert client.get(f"/archive/{draft.id}").status_code == 404


def test_an_issue_has_sample_data_and_no_tracking(db, client, sent):
    public, _ = sent
    answer = client.get(f"/archive/{public.id}")
    html = answer.get_data(as_text=True)
    assert "Dear Jane (jane.doe@example.com)" in html
    assert "ann@example.com" not in html
    assert 'href="https://shop.example.com/spring"' in html  # as written
    assert "/t/c/" not in html and "/t/o/" not in html  # no click link, no open pixel
    assert "/u/" not in html and "/p/" not in html  # no recipient's token
    assert "sandbox" in answer.headers["Content-Security-Policy"]


def test_the_feed_carries_public_issues(db, client, sent):
    public, private = sent
    answer = client.get("/archive.atom")
    assert answer.headers["Content-Type"].startswith("application/atom+xml")
    feed = answer.get_data(as_text=True)
    assert feed.count("<entry>") == 1
    assert "<title>Spring for Jane</title>" in feed
    assert f"http://localhost/archive/{public.id}" in feed
    assert "Members only" not in feed and "/t/c/" not in feed
    assert "&lt;p&gt;Dear Jane" in feed  # the HTML, escaped in the XML


def test_pages(app, db, client, send_campaign):
    for n in range(3):
        send_campaign([f"p{n}@example.com"], subject=f"Issue {n}", public=True)
    app.config["MAILER_ARCHIVE_PER_PAGE"] = 2
    first = client.get("/archive").get_data(as_text=True)
    second = client.get("/archive?page=2").get_data(as_text=True)
    assert first.count("<li>") == 2 and second.count("<li>") == 1
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert "Page 2 of 2" in second


def test_editors_publish_from_the_campaign_page(db, client, sent):
    _, private = sent
    login_as(client, make_user(Role.VIEWER))
    assert client.post(f"/campaigns/{private.id}/public", data={"public": "1"}).status_code == 403
    login_as(client, make_user(Role.MARKETER))
    page = client.get(f"/campaigns/{private.id}").get_data(as_text=True)
    assert "Publish in the archive" in page
    client.post(f"/campaigns/{private.id}/public", data={"public": "1"})
    assert "Members only" in client.get("/archive").get_data(as_text=True)
    client.post(f"/campaigns/{private.id}/public", data={"public": "0"})
    assert "Members only" not in client.get("/archive").get_data(as_text=True)


def test_the_archive_speaks_french(db, client, sent):
    page = client.get("/archive", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Archives" in page

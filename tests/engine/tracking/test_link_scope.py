"""A recipient's click links reach only the URLs rendered into that recipient's own message:
signed links for new mail, and unsigned links of mail sent before links were signed only when
the URL is in the recipient's message rendered again (issue 16, item 3)."""

from __future__ import annotations

import pytest

from mailer.engine.tracking import flush, links
from mailer.lib import tokens
from mailer.models import Link, Subscriber
from tests.fixtures.tracking import events

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

# A personalised link (one Link row per recipient), a link only Ann's message carries, and a
# link everybody gets.
PERSONAL = """<html><body><p>Hi {{ first_name }}!</p>
<p><a href="https://app.example.com/account?who={{ first_name }}&amp;key=s3cret-{{ email }}">
Your account</a></p>
{% if first_name == "Ann" %}<p><a href="https://shop.example.com/ann-only-coupon">Coupon</a></p>
{% endif %}<p><a href="https://shop.example.com/stores">Stores</a></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>"""
ANN_ACCOUNT = "https://app.example.com/account?who=Ann&key=s3cret-ann@example.com"
BOB_ACCOUNT = "https://app.example.com/account?who=Bob&key=s3cret-bob@example.com"
COUPON = "https://shop.example.com/ann-only-coupon"
STORES = "https://shop.example.com/stores"


@pytest.fixture(params=["direct", "buffered"])
def mode(request, app):
    """Both ways a click is answered: the Flask view (direct write) or the fast path."""
    app.config["MAILER_TRACKING_BUFFER"] = request.param == "buffered"
    return request.param


def get(client, path):
    return client.get(path, headers={"User-Agent": BROWSER})


def assert_invalid(response, path):
    assert response.status_code == 404, path
    assert "Location" not in response.headers, path
    assert "This link is not valid" in response.text, path


def link_ids(db) -> dict[str, int]:
    return {link.url: link.id for link in db.session.scalars(db.select(Link))}


def test_a_token_never_reaches_another_recipients_personalised_link(
    db, client, send_campaign, mode
):
    sent = send_campaign(["ann@example.com", "bob@example.com"], html=PERSONAL)
    ann, bob = sent["ann@example.com"], sent["bob@example.com"]
    ids = link_ids(db)
    for path in (
        f"/t/c/{bob.token}/{ids[ANN_ACCOUNT]}",  # Ann's link id, no MAC
        f"/t/c/{bob.token}/{ids[COUPON]}",  # a link only Ann's message carries
    ):
        assert_invalid(get(client, path), path)
    ann_link = ann.click_path(0).rsplit("/", 1)[1]  # "<id>-<mac>" as Ann received it
    assert ann_link.startswith(f"{ids[ANN_ACCOUNT]}-")
    for path in (
        f"/t/c/{bob.token}/{ann_link}",  # Ann's link id with Ann's MAC
        f"/t/c/{bob.token}/{ids[ANN_ACCOUNT]}-{'0' * 16}",
        f"/t/c/{bob.token}/{ids[COUPON]}-{ann.click_path(1).rsplit('-', 1)[1]}",
    ):
        assert_invalid(get(client, path), path)
    # Every id of the campaign, with Bob's token: only his own links resolve, signed or not.
    reached = {}
    for link_id in ids.values():
        response = get(client, f"/t/c/{bob.token}/{link_id}")
        if response.status_code == 302:
            reached[link_id] = response.headers["Location"]
    assert sorted(reached.values()) == sorted([BOB_ACCOUNT, STORES])

    response = get(client, bob.click_path(0))
    assert response.status_code == 302 and response.headers["Location"] == BOB_ACCOUNT
    response = get(client, ann.click_path(0))
    assert response.status_code == 302 and response.headers["Location"] == ANN_ACCOUNT
    if mode == "buffered":
        flush.flush()
    clicks = [(e.send_id, e.link_id) for e in events(db, type="click")]
    assert sorted(clicks) == sorted(
        [
            *((bob.send.id, i) for i in reached),
            (bob.send.id, ids[BOB_ACCOUNT]),
            (ann.send.id, ids[ANN_ACCOUNT]),
        ]
    ), "no click recorded for a refused link"


def test_every_click_link_is_signed_for_its_own_recipient(db, send_campaign):
    sent = send_campaign(["ann@example.com", "bob@example.com"], html=PERSONAL)
    key = tokens.link_key()
    for person in (sent["ann@example.com"], sent["bob@example.com"]):
        for n, (token, link_id) in enumerate(person.clicks):
            assert token == person.token
            assert person.click_path(n) == links.click_url("", token, link_id, key)
        assert f"/t/c/{person.token}/" in person.text and "s3cret" not in person.text


def test_unsigned_links_of_older_mail_resolve_only_inside_the_recipients_own_message(
    db, client, send_campaign, mode
):
    """Mail sent before links were signed has "/t/c/<token>/<link id>": such a link still
    works for its own recipient, and for no one else."""
    sent = send_campaign(["ann@example.com", "bob@example.com"], html=PERSONAL)
    ann, bob = sent["ann@example.com"], sent["bob@example.com"]
    ids = link_ids(db)
    for token, url in (
        (ann.token, ANN_ACCOUNT),
        (ann.token, COUPON),
        (ann.token, STORES),
        (bob.token, BOB_ACCOUNT),
        (bob.token, STORES),
    ):
        response = get(client, f"/t/c/{token}/{ids[url]}")
        assert response.status_code == 302, url
        assert response.headers["Location"] == url
    for path in (
        f"/t/c/{bob.token}/{ids[ANN_ACCOUNT]}",
        f"/t/c/{bob.token}/{ids[COUPON]}",
        f"/t/c/{ann.token}/{ids[BOB_ACCOUNT]}",
    ):
        assert_invalid(get(client, path), path)


def test_an_unsigned_link_fails_closed_when_the_message_no_longer_renders_it(
    db, client, send_campaign
):
    sent = send_campaign(["ann@example.com"], html=PERSONAL)
    ann = sent["ann@example.com"]
    ids = link_ids(db)
    db.session.get(Subscriber, ann.send.subscriber_id).first_name = "Annie"  # other URLs now
    db.session.commit()
    assert_invalid(get(client, f"/t/c/{ann.token}/{ids[ANN_ACCOUNT]}"), "renamed")
    assert get(client, f"/t/c/{ann.token}/{ids[STORES]}").status_code == 302
    assert get(client, ann.click_path(0)).status_code == 302, "signed links do not depend on it"


def test_a_campaign_token_never_reaches_another_campaigns_link(db, client, send_campaign, mode):
    ann = send_campaign(["ann@example.com"], html=PERSONAL)["ann@example.com"]
    other = send_campaign(["cy@example.com"], html='<a href="https://elsewhere.example/">x</a>')
    cy = other["cy@example.com"]
    (_, foreign), key = cy.clicks[0], tokens.link_key()
    for path in (
        f"/t/c/{ann.token}/{foreign}",
        f"/t/c/{ann.token}/{cy.click_path(0).rsplit('/', 1)[1]}",
        links.click_url("", ann.token, foreign, key),  # even a valid MAC: not her campaign
    ):
        assert_invalid(get(client, path), path)


def test_view_online_and_older_links_use_the_recipients_own_audience_content(
    db, client, send_campaign
):
    """A list with a template of its own (campaign documents): view online shows what the
    recipient got, and an unsigned link of that content is proved against it."""
    own = (
        '<p>Members only, {{ first_name }}</p><a href="https://shop.example.com/members">M</a>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    )
    ann = send_campaign(["ann@example.com"], html=PERSONAL, audience_html=own)["ann@example.com"]
    assert "Members only, Ann" in ann.html
    page = client.get(f"/v/{ann.token}").get_data(as_text=True)
    assert "Members only, Ann" in page and "Your account" not in page
    members = link_ids(db)["https://shop.example.com/members"]
    response = get(client, f"/t/c/{ann.token}/{members}")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example.com/members"

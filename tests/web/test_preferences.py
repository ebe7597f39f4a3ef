"""The preference centre: the link in every campaign email, public lists only, changes that
apply at once (also to a campaign already running), unsubscribe from everything, and the
person's own data requests through an emailed link."""

from __future__ import annotations

import re

from mailer.campaigns import launch as campaign_launch
from mailer.engine import campaign_state
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.lib import tokens
from mailer.models import (
    MailingList,
    Message,
    Send,
    SendStatus,
    Subscriber,
    Suppression,
)
from tests.factories import brevo_channel, make_campaign, make_list

PREFS = re.compile(r'href="http://mailer\.test/p/([^"]+)"')


def _public(db, mailing_list: MailingList, name: str, description: str = "") -> MailingList:
    mailing_list.public = True
    mailing_list.public_name = name
    mailing_list.public_description = description
    db.session.commit()
    return mailing_list


def _rows(db, email: str) -> dict[int, str]:
    db.session.commit()
    return {
        s.list_id: s.status
        for s in db.session.scalars(db.select(Subscriber).filter_by(email=email))
    }


def test_every_campaign_email_links_the_preference_centre_untracked(db, send_campaign):
    with_variable = send_campaign(
        ["ann@example.com"],
        html='<p>Hi</p><a href="{{ unsubscribe_url }}">Leave</a> '
        '<a href="{{ preferences_url }}">Your choices</a>',
    )
    ann = with_variable["ann@example.com"]
    assert PREFS.findall(ann.html) == [ann.token]  # the variable, not rewritten to /t/c/
    assert "Email preferences" not in ann.html  # the template links it: no extra footer
    # A template without an unsubscribe link gets the default footer, with both links.
    plain = send_campaign(["bob@example.com"], html="<p>Hi {{ first_name }}</p>")["bob@example.com"]
    assert PREFS.findall(plain.html) == [plain.token]
    assert f"Email preferences: http://mailer.test/p/{plain.token}" in plain.text


def test_the_page_shows_public_lists_by_public_name_only(db, client, send_campaign):
    sent = send_campaign(["ann@example.com"], list_name="Internal: spring leads 2026")
    own = db.session.get(MailingList, sent.campaign.audiences[0].list_id)
    _public(db, own, "Spring news", "New arrivals, once a month")
    _public(db, make_list(db, "Internal: partners", []), "Partner offers")
    make_list(db, "Internal: secret VIPs", ["ann@example.com"])  # not public: never shown
    page = client.get(f"/p/{sent['ann@example.com'].token}").get_data(as_text=True)
    assert "Spring news" in page and "New arrivals, once a month" in page
    assert "Partner offers" in page
    assert "Internal" not in page  # no internal list name, public or not
    assert "a•••@example.com" in page
    assert f'name="lists" value="{own.id}" checked' in page


def test_changes_apply_at_once(db, client, send_campaign):
    sent = send_campaign(["ann@example.com"], list_name="Leads")
    token = sent["ann@example.com"].token
    own = _public(db, db.session.get(MailingList, sent.campaign.audiences[0].list_id), "News")
    other = _public(db, make_list(db, "Partners list", []), "Partner offers")
    secret = make_list(db, "VIP", ["ann@example.com"])
    answer = client.post(
        f"/p/{token}", data={"lists": [str(other.id)], "first_name": "Ann", "last_name": "Lee"}
    )
    assert answer.status_code == 200
    assert "Saved" in answer.get_data(as_text=True)
    rows = _rows(db, "ann@example.com")
    assert rows == {own.id: "unsubscribed", other.id: "subscribed", secret.id: "subscribed"}
    names = {(s.first_name, s.last_name, s.name) for s in db.session.scalars(db.select(Subscriber))}
    assert names == {("Ann", "Lee", "Ann Lee")}
    # and back: rejoining the first list
    client.post(f"/p/{token}", data={"lists": [str(own.id), str(other.id)]})
    assert _rows(db, "ann@example.com")[own.id] == "subscribed"


def test_a_running_campaign_does_not_mail_someone_who_left(db, client, brevo):
    mailing_list = make_list(db, "Weekly", ["ann@example.com", "bob@example.com"])
    _public(db, mailing_list, "Weekly news")
    campaign = make_campaign(db, [mailing_list], [brevo_channel(db, brevo)])
    campaign_state.transition(campaign, "scheduled")
    campaign_launch.orchestrate(campaign.id)  # sends written, none mailed yet
    bob = db.session.scalar(db.select(Send).filter_by(email="bob@example.com"))
    token = tokens.make(tokens.CAMPAIGN_SEND, bob.id)
    client.post(f"/p/{token}", data={"lists": []})  # Bob leaves the list
    assert ChannelLoop(campaign.channels[0].id).run().state == "done"
    mailed = [r.json["to"][0]["email"] for r in brevo.requests]
    assert mailed == ["ann@example.com"]
    db.session.commit()
    assert db.session.get(Send, bob.id).status == SendStatus.SUPPRESSED.value


def test_unsubscribe_from_everything(db, client, send_campaign):
    sent = send_campaign(["ann@example.com"])
    hidden = make_list(db, "Hidden", ["ann@example.com"])
    token = sent["ann@example.com"].token
    page = client.post(f"/p/{token}/unsubscribe").get_data(as_text=True)
    assert "You are unsubscribed" in page
    assert set(_rows(db, "ann@example.com").values()) == {"unsubscribed"}
    assert db.session.scalar(db.select(Suppression).filter_by(email="ann@example.com"))
    assert hidden.id in _rows(db, "ann@example.com")
    # The page says so, and choosing a list starts emails again (the suppression goes).
    again = client.get(f"/p/{token}").get_data(as_text=True)
    assert "unsubscribed from everything" in again
    own = _public(db, db.session.get(MailingList, sent.campaign.audiences[0].list_id), "News")
    client.post(f"/p/{token}", data={"lists": [str(own.id)]})
    db.session.commit()
    assert db.session.scalar(db.select(Suppression).filter_by(email="ann@example.com")) is None


def test_a_forged_or_foreign_token_shows_the_invalid_page(db, client):
    assert client.get("/p/c1.forged").status_code == 404
    assert client.get(f"/p/{tokens.make(tokens.MESSAGE, 1)}").status_code == 404


def test_the_page_speaks_french(db, client, send_campaign):
    sent = send_campaign(["ann@example.com"])
    page = client.get(
        f"/p/{sent['ann@example.com'].token}", headers={"Accept-Language": "fr"}
    ).get_data(as_text=True)
    assert "Préférences" in page
    assert "Se désabonner de tout" in page


def _link(db, email: str) -> str:
    db.session.commit()
    message = db.session.scalar(db.select(Message).filter_by(to_email=email))
    assert message is not None, "no confirmation email queued"
    found = re.search(r"http://mailer\.test(/p/data/[^\s\"<]+)", message.payload["text"])
    return found.group(1)


def test_the_person_downloads_their_data_through_an_emailed_link(db, client, send_campaign):
    sent = send_campaign(["ann@example.com"], list_name="Internal leads")
    token = sent["ann@example.com"].token
    answer = client.post(f"/p/{token}/data", data={"action": "export"})
    assert "Check your inbox" in answer.get_data(as_text=True)
    link = _link(db, "ann@example.com")
    page = client.get(link).get_data(as_text=True)
    assert f"{link}/export.json" in page
    data = client.get(f"{link}/export.json").get_json()
    assert data["email"] == "ann@example.com"
    assert data["sends"][0]["status"] == "sent"
    assert [s["list"] for s in data["subscriptions"]] == [""]  # internal name kept back
    # the link is the key: the campaign token alone opens no export, a forged link nothing
    assert client.get(f"/p/{token}/export.json").status_code == 404
    assert client.get(f"{link}x/export.json").status_code == 404
    # an export link cannot erase
    assert client.post(f"{link}/erase").status_code == 404


def test_the_person_erases_their_data_through_an_emailed_link(db, client, send_campaign):
    sent = send_campaign(["ann@example.com", "bob@example.com"])
    token = sent["ann@example.com"].token
    client.post(f"/p/{token}/data", data={"action": "erase"})
    link = _link(db, "ann@example.com")
    assert "Erase my data" in client.get(link).get_data(as_text=True)  # a GET erases nothing
    assert _rows(db, "ann@example.com")  # still there
    answer = client.post(f"{link}/erase")
    assert "Your data is erased" in answer.get_data(as_text=True)
    assert _rows(db, "ann@example.com") == {}
    assert list(_rows(db, "bob@example.com").values()) == ["subscribed"]
    # the token and the link lead nowhere now
    assert client.get(f"/p/{token}").status_code == 404
    assert client.get(link).status_code == 404


def test_someone_unsubscribed_from_everything_still_gets_their_link(
    db, client, brevo, send_campaign
):
    sent = send_campaign(["ann@example.com"])
    token = sent["ann@example.com"].token
    client.post(f"/p/{token}/unsubscribe")
    before = len(brevo.requests)
    page = client.post(f"/p/{token}/data", data={"action": "export"}).get_data(as_text=True)
    assert "Check your inbox" in page
    [mail] = brevo.requests[before:]
    assert mail.json["to"][0]["email"] == "ann@example.com"
    link = re.search(r"http://mailer\.test(/p/data/\S+)", mail.json["textContent"]).group(1)
    assert client.get(f"{link}/export.json").get_json()["suppressions"][0]["reason"] == (
        "unsubscribed"
    )

"""Unsubscribe: the page (GET never unsubscribes), the form and RFC 8058 one-click POSTs."""

from __future__ import annotations

import pytest

from mailer.lib import tokens
from mailer.models import Subscriber, Suppression
from mailer.services.unsubscribe import mask_email
from tests.fixtures.tracking import events


@pytest.fixture
def csrf_on(app):
    """CSRF protection as in production: every other POST needs a token."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def subscriber(db, email):
    db.session.commit()
    return db.session.scalar(db.select(Subscriber).filter_by(email=email))


def suppressed(db, email):
    db.session.commit()
    return db.session.scalar(db.select(Suppression).filter_by(email=email))


def test_get_shows_the_list_and_a_masked_address_and_never_unsubscribes(db, client, send_campaign):
    ann = send_campaign(["annabel@example.com"], list_name="Weekly news")["annabel@example.com"]
    for ua in ("Mozilla/5.0", "Barracuda Sentinel", "python-requests/2.32"):
        response = client.get(f"/u/{ann.token}", headers={"User-Agent": ua})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Weekly news" in page and "an•••@example.com" in page
        assert "annabel@example.com" not in page
        assert '<button type="submit">Unsubscribe</button>' in page
        assert 'name="reason"' in page
    client.head(f"/u/{ann.token}")
    assert subscriber(db, "annabel@example.com").status == "subscribed"
    assert suppressed(db, "annabel@example.com") is None
    assert events(db, type="unsubscribe") == []
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_rfc8058_one_click_post_unsubscribes_with_200_and_no_redirect(
    csrf_on, db, client, send_campaign, encoding
):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    assert ann.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = ann.headers["List-Unsubscribe"].strip("<>").removeprefix("http://mailer.test")
    assert client.get_cookie("session") is None, "a mailbox provider sends no cookie"
    if encoding == "form":
        response = client.post(
            url,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = client.post(
            url, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
        )
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert subscriber(db, "ann@example.com").status == "unsubscribed"
    assert suppressed(db, "ann@example.com").reason == "unsubscribed"
    [event] = events(db, type="unsubscribe")
    assert event.send_id == ann.send.id and event.data["one_click"] is True
    db.session.refresh(ann.send)
    assert ann.send.unsubscribed_at is not None


def test_other_posts_still_need_a_csrf_token(csrf_on, db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    assert client.post(f"/u/{ann.token}/resubscribe").status_code == 400


def test_the_form_unsubscribes_with_a_reason_then_resubscribe_undoes_it(
    csrf_on, db, client, send_campaign
):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    https = {"base_url": "https://mailer.test"}
    response = client.post(f"/u/{ann.token}", data={"reason": "too_many"}, **https)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "same-origin", "the form below needs its Referer"
    [event] = events(db, type="unsubscribe")
    assert event.data == {"one_click": False, "scope": "global", "reason": "too_many"}
    assert subscriber(db, "ann@example.com").status == "unsubscribed"

    page = response.get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        f"/u/{ann.token}/resubscribe",
        data={"csrf_token": csrf},
        headers={"Referer": f"https://mailer.test/u/{ann.token}"},  # what same-origin sends
        **https,
    )
    assert response.status_code == 200
    assert "subscribed again" in response.get_data(as_text=True)
    assert subscriber(db, "ann@example.com").status == "subscribed"
    assert suppressed(db, "ann@example.com") is None
    db.session.refresh(ann.send)
    assert ann.send.unsubscribed_at is None
    assert [e.type for e in events(db)] == ["unsubscribe", "resubscribe"]


def test_posting_twice_records_one_unsubscribe(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    for _ in range(2):
        assert (
            client.post(f"/u/{ann.token}", data={"List-Unsubscribe": "One-Click"}).status_code
            == 200
        )
    assert len(events(db, type="unsubscribe")) == 1
    assert "already unsubscribed" in client.get(f"/u/{ann.token}").get_data(as_text=True)


def test_list_scope_unsubscribes_from_that_list_only(app, db, client, send_campaign):
    app.config["MAILER_UNSUBSCRIBE_SCOPE"] = "list"
    ann = send_campaign(["ann@example.com"], list_name="A")["ann@example.com"]
    from tests.factories import make_list

    make_list(db, "B", ["ann@example.com"])
    client.post(f"/u/{ann.token}", data={"List-Unsubscribe": "One-Click"})
    db.session.expire_all()
    statuses = dict(
        db.session.execute(
            db.select(Subscriber.list_id, Subscriber.status).filter_by(email="ann@example.com")
        ).all()
    )
    assert sorted(statuses.values()) == ["subscribed", "unsubscribed"]
    assert suppressed(db, "ann@example.com") is None
    assert events(db, type="unsubscribe")[0].data["scope"] == "list"


def test_global_scope_keeps_a_bounce_suppression_on_resubscribe(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    db.session.add(Suppression(email="ann@example.com", reason="hard_bounce"))
    db.session.commit()
    client.post(f"/u/{ann.token}", data={"List-Unsubscribe": "One-Click"})
    client.post(f"/u/{ann.token}/resubscribe")
    assert suppressed(db, "ann@example.com").reason == "hard_bounce"


@pytest.mark.parametrize(
    "token",
    ["nonsense", "c1.AAAAAAAAAAAAAAAAAAAAAA", "c1", "x" * 100],
)
def test_invalid_tokens_get_a_404_page_and_change_nothing(db, client, token):
    for response in (
        client.get(f"/u/{token}"),
        client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}),
        client.post(f"/u/{token}/resubscribe"),
        client.get(f"/v/{token}"),
    ):
        assert response.status_code == 404
        assert "This link is not valid" in response.get_data(as_text=True)
    assert events(db) == []


def test_a_message_token_or_a_deleted_send_is_not_an_unsubscribe_link(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    for token in (
        tokens.make(tokens.MESSAGE, ann.send.id),
        tokens.make(tokens.CAMPAIGN_SEND, ann.send.id + 1000),
    ):
        assert client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert subscriber(db, "ann@example.com").status == "subscribed"


def test_view_online_shows_the_recipients_email_in_a_sandbox(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    response = client.get(f"/v/{ann.token}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Hi Ann!" in page and "/t/o/" not in page and "/t/c/" not in page
    assert f"http://mailer.test/u/{ann.token}" in page
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert events(db) == [], "viewing online is not an open"


def test_mask_email():
    assert mask_email("jane.doe@example.com") == "ja•••@example.com"
    assert mask_email("al@example.com") == "a•••@example.com"

"""The signup form editor, a list's confirmation settings, adding people in the UI, and the
branding page."""

from __future__ import annotations

import io

from mailer.lib import branding
from mailer.models import Consent, MailingList, SignupForm, Subscriber
from mailer.queue import IMPORTS, TRANSACTIONAL
from tests.factories import make_sent_campaign
from tests.fixtures.app import work
from tests.fixtures.imports import accept_waiting
from tests.fixtures.signup import outbox


def _list(db, name="newsletter-internal") -> MailingList:
    mailing_list = MailingList(name=name)
    db.session.add(mailing_list)
    db.session.commit()
    return mailing_list


def test_marketer_creates_a_form_and_gets_its_link_and_snippet(db, client, as_role):
    as_role("marketer")
    mailing_list = _list(db)
    answer = client.post(
        "/forms/new",
        data={
            "name": "Footer",
            "title": "Join us",
            "list": str(mailing_list.id),
            f"label_{mailing_list.id}": "Weekly news",
            "fields": "city: Your city *",
            "ask_name": "1",
        },
    )
    assert answer.status_code == 302
    form = db.session.scalar(db.select(SignupForm))
    assert form.lists == [{"id": mailing_list.id, "label": "Weekly news"}]
    assert form.fields == [{"name": "city", "label": "Your city", "required": True}]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    hosted = f"http://mailer.test/subscribe/{form.public_id}"
    assert hosted in page
    assert f"&lt;form method=&#34;post&#34; action=&#34;{hosted}&#34;" in page  # the snippet
    assert "Your city" in page


def test_form_errors_show_next_to_their_fields(db, client, as_role):
    as_role("marketer")
    _list(db)
    answer = client.post(
        "/forms/new",
        data={"name": "", "fields": "not a question", "thank_you_url": "javascript:alert(1)"},
        headers={"Accept-Language": "fr"},
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    for name in ("name", "lists", "fields", "thank_you_url"):
        assert f'id="{name}-error"' in html
    assert "Choisissez au moins une liste" in html
    assert 'value="not a question"' not in html and "not a question" in html  # kept
    assert db.session.scalar(db.select(SignupForm)) is None


def test_viewers_see_forms_but_cannot_change_them(db, client, as_role, signup_setup):
    as_role("viewer")
    assert client.get("/forms/").status_code == 200
    assert client.post("/forms/new", data={"name": "x"}).status_code == 403
    assert client.post(f"/forms/{signup_setup.form.id}/delete").status_code == 403
    assert client.post(f"/lists/{signup_setup.mailing_list.id}/confirmation").status_code == 403


def test_list_confirmation_settings_page(db, client, as_role, signup_setup):
    as_role("marketer")
    url = f"/lists/{signup_setup.mailing_list.id}/confirmation"
    page = client.get(url)
    assert page.status_code == 200 and b"confirm_url" in page.data
    assert b'name="double_opt_in" value="1" role="switch" checked>' in page.data  # on by default
    bad = client.post(url, data={"double_opt_in": "1", "html": "<p>no link</p>"})
    assert bad.status_code == 422 and b'id="html-error"' in bad.data
    saved = client.post(url, data={"channel_id": str(signup_setup.channel.id)})
    assert saved.status_code == 302
    settings = client.get(url).get_data(as_text=True)
    assert 'name="double_opt_in" value="1" role="switch" >' in settings  # off now


def test_adding_someone_in_the_ui_declares_consent_or_asks_for_it(
    app, db, client, as_role, signup_setup
):
    as_role("marketer")
    list_id = signup_setup.mailing_list.id
    client.post(f"/lists/{list_id}/subscribers", data={"email": "kim@example.com"})
    client.post(f"/lists/{list_id}/subscribers", data={"email": "lou@example.com", "confirm": "1"})
    db.session.commit()
    kim = db.session.scalar(db.select(Subscriber).filter_by(email="kim@example.com"))
    lou = db.session.scalar(db.select(Subscriber).filter_by(email="lou@example.com"))
    assert (kim.status, lou.status) == ("subscribed", "unconfirmed")
    consent = db.session.scalar(db.select(Consent).filter_by(subscriber_id=kim.id))
    assert consent.source == "manual" and consent.confirmed_at is not None
    work(app, TRANSACTIONAL)
    assert len(outbox(db, "lou@example.com")) == 1 and outbox(db, "kim@example.com") == []
    page = client.get(f"/lists/{list_id}").get_data(as_text=True)
    assert "1 waiting for confirmation" in page
    assert "Not confirmed yet" in client.get(f"/lists/{list_id}/subscribers/{lou.id}").get_data(
        as_text=True
    )


def test_branding_is_for_admins_and_shows_on_recipient_pages(db, client, as_role, signup_setup):
    as_role("marketer")
    assert client.get("/settings/branding/").status_code == 403
    as_role("admin")
    bad = client.post(
        "/settings/branding/",
        data={"name": "Shop", "logo_url": "http://x.example/l.png", "color": "red"},
    )
    assert bad.status_code == 422
    assert b'id="logo_url-error"' in bad.data and b'id="color-error"' in bad.data
    saved = client.post(
        "/settings/branding/",
        data={
            "name": "Shop & Co",
            "logo_url": "https://cdn.shop.example/logo.png",
            "color": "#AA3300",
            "address": "12 Example Street\r\n75001 Paris",
        },
    )
    assert saved.status_code == 302
    assert branding.load().color == "#aa3300"

    page = client.get(signup_setup.url, headers={"Accept-Language": "fr"})
    html = page.get_data(as_text=True)
    assert "Shop &amp; Co" in html and "75001 Paris" in html
    assert 'src="https://cdn.shop.example/logo.png"' in html
    assert (
        "img-src 'self' data: https://cdn.shop.example" in page.headers["Content-Security-Policy"]
    )
    css = client.get("/subscribe/brand.css?v=aa3300")
    assert css.status_code == 200 and b"#aa3300" in css.data and css.mimetype == "text/css"


def test_an_import_can_ask_new_people_to_confirm(app, db, client, as_role, signup_setup):
    as_role("marketer")
    list_id = signup_setup.mailing_list.id
    db.session.add(Subscriber(list_id=list_id, email="old@example.com", status="subscribed"))
    db.session.commit()
    page = client.get(f"/lists/{list_id}").get_data(as_text=True)
    assert 'value="confirm"' in page  # among the import choices
    answer = client.post(
        f"/lists/{list_id}/imports",
        data={
            "mode": "confirm",
            "file": (io.BytesIO(b"email\nnew@example.com\nold@example.com\n"), "people.csv"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    accept_waiting(client)  # the columns as guessed
    work(app, IMPORTS, TRANSACTIONAL)  # the import, then the confirmation emails it queued
    db.session.commit()
    statuses = dict(db.session.execute(db.select(Subscriber.email, Subscriber.status)).all())
    assert statuses == {"old@example.com": "subscribed", "new@example.com": "unconfirmed"}
    assert len(outbox(db, "new@example.com")) == 1 and outbox(db, "old@example.com") == []
    new = db.session.scalar(db.select(Subscriber).filter_by(email="new@example.com"))
    consent = db.session.scalar(db.select(Consent).filter_by(subscriber_id=new.id))
    assert consent.source == "import" and consent.confirmed_at is None


def test_the_unsubscribe_page_carries_the_branding_in_french(db, client, signup_setup):
    branding.store(branding.Branding(name="Atelier", logo_url="https://cdn.shop.example/l.png"))
    sent = make_sent_campaign(db, signup_setup.channel, ["ana@example.com"])
    page = client.get(f"/u/{sent.token('ana@example.com')}", headers={"Accept-Language": "fr"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="fr"' in html
    assert 'src="https://cdn.shop.example/l.png" alt="Atelier"' in html
    assert "https://cdn.shop.example" in page.headers["Content-Security-Policy"]

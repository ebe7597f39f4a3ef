"""The public signup page: a visitor's post, the confirmation email and link, and the bot checks."""

from __future__ import annotations

import time

import itsdangerous.timed
import pytest

from mailer.models import Consent, MailingList, OutboxMessage, Subscriber
from mailer.queue import TRANSACTIONAL
from mailer.services import signup
from tests.factories import make_user
from tests.fixtures.app import csrf_token_from, login_as, work
from tests.fixtures.signup import aged_stamp, confirmation_path, outbox, post_data


def subscriber(db, email="ana@example.com") -> Subscriber | None:
    db.session.commit()
    return db.session.scalar(db.select(Subscriber).filter_by(email=email))


def test_form_then_confirmation_email_then_confirm_subscribes_with_consent(
    app, db, client, signup_setup
):
    app.config["WTF_CSRF_ENABLED"] = True  # on everywhere, as in production
    page = client.get(signup_setup.url)
    assert page.status_code == 200
    assert b'name="stamp"' in page.data and b"Your city" in page.data
    assert b"newsletter-2026-internal" not in page.data  # visitors read the form's label

    # Another website's form: no session, no CSRF token, a foreign Origin.
    stranger = app.test_client()
    answer = stranger.post(
        signup_setup.url,
        data=post_data(signup_setup.form),
        headers={"Origin": "https://www.shop.example", "Referer": "https://www.shop.example/"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert answer.status_code == 200, answer.data
    assert b"Check your inbox" in answer.data
    person = subscriber(db)
    assert person.status == "unconfirmed"
    assert person.attributes["city"] == "Lyon" and person.name == "Ana"
    consent = db.session.scalar(db.select(Consent).filter_by(subscriber_id=person.id))
    assert consent.form_id == signup_setup.form.id and consent.request_ip == "203.0.113.7"
    assert consent.confirmed_at is None

    work(app, TRANSACTIONAL)
    [message] = outbox(db, "ana@example.com")
    assert message.subject == "Please confirm your subscription"
    link = confirmation_path(message)

    shown = stranger.get(link)  # a mail scanner opening the link changes nothing
    assert shown.status_code == 200
    assert subscriber(db).status == "unconfirmed"
    confirmed = stranger.post(
        link,
        data={"csrf_token": csrf_token_from(shown.get_data(as_text=True))},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert confirmed.status_code == 200
    assert b"Subscription confirmed" in confirmed.data
    person = subscriber(db)
    assert person.status == "subscribed"
    consent = db.session.scalar(db.select(Consent).filter_by(subscriber_id=person.id))
    assert consent.confirmed_at is not None and consent.confirm_ip == "198.51.100.9"

    login_as(client, make_user("viewer"))
    page = client.get(f"/lists/{person.list_id}/subscribers/{person.id}")
    assert b"Footer form" in page.data and b"198.51.100.9" in page.data


def test_confirmation_needs_the_csrf_token_of_its_page(app, db, client, signup_setup):
    app.config["WTF_CSRF_ENABLED"] = True
    client.post(signup_setup.url, data=post_data(signup_setup.form))
    work(app, TRANSACTIONAL)
    link = confirmation_path(outbox(db, "ana@example.com")[0])
    assert app.test_client().post(link).status_code == 400  # only the signup post is exempt
    assert subscriber(db).status == "unconfirmed"


def test_a_forged_or_expired_confirmation_link_is_refused(
    app, db, client, signup_setup, monkeypatch
):
    assert client.get("/subscribe/confirm/not-a-token").status_code == 404
    client.post(signup_setup.url, data=post_data(signup_setup.form))
    now = time.time()
    # Signed 8 days ago: the link lives as long as the unconfirmed entry (7 days).
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: now - 8 * 86400)
    token = signup.confirm_token([db.session.scalar(db.select(Consent.id))])
    monkeypatch.undo()
    answer = client.post(f"/subscribe/confirm/{token}")
    assert answer.status_code == 404 and b"no longer works" in answer.data
    assert subscriber(db).status == "unconfirmed"


def test_the_honeypot_turns_bots_away_quietly(app, db, client, signup_setup):
    answer = client.post(
        signup_setup.url, data=post_data(signup_setup.form, website="http://spam.example")
    )
    assert answer.status_code == 200  # the bot learns nothing
    assert subscriber(db) is None
    work(app, TRANSACTIONAL)
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


@pytest.mark.parametrize(
    ("age", "word"), [(0, b"very quick"), (2 * 86400, b"open for a long time")]
)
def test_a_form_sent_too_fast_or_too_late_is_refused(db, client, signup_setup, age, word):
    data = post_data(signup_setup.form, stamp=aged_stamp(signup_setup.form, age))
    answer = client.post(signup_setup.url, data=data)
    assert answer.status_code == 400 and word in answer.data
    assert subscriber(db) is None
    assert b'value="ana@example.com"' in answer.data  # nothing typed is lost


def test_a_forged_stamp_is_refused(db, client, signup_setup):
    stamp = aged_stamp(signup_setup.form)
    forged = stamp[:-1] + ("0" if stamp[-1] != "0" else "1")
    answer = client.post(signup_setup.url, data=post_data(signup_setup.form, stamp=forged))
    assert answer.status_code == 400
    assert subscriber(db) is None


def test_the_snippet_post_without_a_stamp_gets_one_more_click(app, db, client, signup_setup):
    data = post_data(signup_setup.form)
    del data["stamp"]
    answer = client.post(signup_setup.url, data=data)
    assert answer.status_code == 400 and b"Almost done" in answer.data
    assert subscriber(db) is None
    app.config["MAILER_SIGNUP_MIN_SECONDS"] = 0  # the person presses the button at once
    html = answer.get_data(as_text=True)
    stamp = html.split('name="stamp" value="', 1)[1].split('"', 1)[0]
    assert client.post(signup_setup.url, data={**data, "stamp": stamp}).status_code == 200
    assert subscriber(db).status == "unconfirmed"


def test_rate_limit_per_address_and_per_client(app, db, client, signup_setup):
    app.config.update(MAILER_SIGNUP_PER_ADDRESS=2, MAILER_SIGNUP_PER_IP=4)
    form = signup_setup.form
    codes = [client.post(signup_setup.url, data=post_data(form)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    codes = [
        client.post(signup_setup.url, data=post_data(form, email=f"p{i}@example.com")).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]  # 4 posts from this client in the hour, then no more
    other = client.post(
        signup_setup.url,
        data=post_data(form, email="zoe@example.com"),
        environ_base={"REMOTE_ADDR": "192.0.2.44"},
    )
    assert other.status_code == 200


def test_fetch_callers_get_json(db, client, signup_setup):
    headers = {"Accept": "application/json"}
    answer = client.post(signup_setup.url, data=post_data(signup_setup.form), headers=headers)
    assert answer.status_code == 200 and answer.json == {"status": "confirm"}
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    bad = client.post(
        signup_setup.url, data=post_data(signup_setup.form, email="nope", city=""), headers=headers
    )
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"email", "city"}


def test_errors_show_next_to_their_field_in_french(db, client, signup_setup):
    answer = client.post(
        signup_setup.url,
        data=post_data(signup_setup.form, email="nope"),
        headers={"Accept-Language": "fr"},
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'id="email-error"' in html and "adresse" in html
    assert 'lang="fr"' in html


def test_the_thank_you_address_is_the_only_redirect(db, client, signup_setup):
    signup_setup.form.thank_you_url = "https://www.shop.example/merci"
    db.session.commit()
    page = client.get(signup_setup.url)
    assert "https://www.shop.example" in page.headers["Content-Security-Policy"]
    answer = client.post(
        signup_setup.url + "?next=https://evil.example",
        data=post_data(signup_setup.form, next="https://evil.example"),
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "https://www.shop.example/merci"


def test_someone_already_subscribed_is_left_alone(db, client, signup_setup):
    db.session.add(
        Subscriber(
            list_id=signup_setup.mailing_list.id, email="ana@example.com", status="subscribed"
        )
    )
    db.session.commit()
    answer = client.post(signup_setup.url, data=post_data(signup_setup.form))
    assert answer.status_code == 200  # the same answer a newcomer gets: nothing leaks
    assert subscriber(db).status == "subscribed"
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_a_list_without_double_opt_in_subscribes_at_once(db, client, signup_setup):
    signup.save_confirmation_settings(signup_setup.mailing_list.id, {"double_opt_in": ""})
    answer = client.post(signup_setup.url, data=post_data(signup_setup.form))
    assert b"You are subscribed" in answer.data
    person = subscriber(db)
    assert person.status == "subscribed"
    consent = db.session.scalar(db.select(Consent).filter_by(subscriber_id=person.id))
    assert consent.confirmed_at is not None and consent.source == "form"


def test_several_lists_the_visitor_chooses(app, db, client, signup_setup):
    second = MailingList(name="offers-internal")
    db.session.add(second)
    db.session.commit()
    form = signup_setup.form
    form.lists = [*form.lists, {"id": second.id, "label": "Special offers"}]
    db.session.commit()
    page = client.get(signup_setup.url)
    assert b"Special offers" in page.data and b"offers-internal" not in page.data
    none = client.post(signup_setup.url, data=post_data(form))
    assert none.status_code == 422  # no list ticked
    client.post(signup_setup.url, data={**post_data(form), "list": [str(second.id)]})
    db.session.commit()
    rows = db.session.scalars(db.select(Subscriber)).all()
    assert [r.list_id for r in rows] == [second.id]
    work(app, TRANSACTIONAL)
    assert len(outbox(db, "ana@example.com")) == 1


def test_an_unknown_form_is_a_404(client, db):
    assert client.get("/subscribe/nope").status_code == 404
    assert client.post("/subscribe/nope", data={"email": "a@example.com"}).status_code == 404


def test_the_snippets_script_gets_a_fresh_stamp_so_one_post_is_enough(
    app, db, client, signup_setup
):
    answer = client.get(signup_setup.url + "/stamp", headers={"Origin": "https://www.shop.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    app.config["MAILER_SIGNUP_MIN_SECONDS"] = 0
    data = {**post_data(signup_setup.form), "stamp": answer.json["stamp"]}
    assert client.post(signup_setup.url, data=data).status_code == 200
    assert subscriber(db).status == "unconfirmed"
    with client.get("/static/js/signup-embed.js") as script:
        assert script.status_code == 200 and b"mailer-signup" in script.data

"""Admins answer a person's data request from the UI: download, erase, and the log."""

from __future__ import annotations

from mailer.models import Erasure, Role, Subscriber
from tests.factories import make_list, make_user
from tests.fixtures.app import login_as


def test_admins_export_and_erase_from_the_subscriber_page(db, client):
    mailing_list = make_list(db, "Customers", ["ann@example.com", "bob@example.com"])
    ann = db.session.scalar(db.select(Subscriber).filter_by(email="ann@example.com"))
    admin = login_as(client, make_user(Role.ADMIN))
    page = client.get(f"/lists/{mailing_list.id}/subscribers/{ann.id}").get_data(as_text=True)
    assert "Personal data (GDPR)" in page
    download = client.post("/privacy/export", data={"email": "ann@example.com"})
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.get_json()["subscriptions"][0]["list"] == "Customers"
    unconfirmed = client.post("/privacy/erase", data={"email": "ann@example.com"})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.get_data(as_text=True)
    done = client.post(
        "/privacy/erase", data={"email": "ann@example.com", "confirm": "1"}, follow_redirects=True
    )
    text = done.get_data(as_text=True)
    assert "Erased." in text and admin.email in text  # the log names who, not whom
    assert "ann@example.com" not in text
    db.session.commit()
    assert [s.email for s in db.session.scalars(db.select(Subscriber))] == ["bob@example.com"]
    assert db.session.scalars(db.select(Erasure)).one().actor_user_id == admin.id


def test_a_bad_address_is_explained_next_to_the_field(db, client):
    login_as(client, make_user(Role.ADMIN))
    answer = client.post(
        "/privacy/export", data={"email": "nope"}, headers={"Accept-Language": "fr"}
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert 'aria-invalid="true"' in page and "Adresse invalide" in page


def test_only_admins(db, client):
    login_as(client, make_user(Role.MARKETER))
    assert client.get("/privacy").status_code == 403
    assert (
        client.post("/privacy/erase", data={"email": "a@example.com", "confirm": "1"}).status_code
        == 403
    )

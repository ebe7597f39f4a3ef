"""GDPR through the API: export and erase one address with an admin key."""

from __future__ import annotations

from mailer.models import Erasure, Subscriber
from tests.factories import make_list


def test_export_and_erase_with_an_admin_key(db, api):
    make_list(db, "Customers", ["ann@example.com", "bob@example.com"])
    answer = api.post("/api/v1/people/export", json={"email": "Ann@Example.com"})
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["email"] == "ann@example.com"
    assert [s["list"] for s in data["subscriptions"]] == ["Customers"]
    erased = api.post("/api/v1/people/erase", json={"email": "ann@example.com"})
    assert erased.status_code == 200
    assert erased.get_json()["records"]["subscriptions"] == 1
    db.session.commit()
    assert db.session.scalar(db.select(Subscriber).filter_by(email="ann@example.com")) is None
    logged = db.session.scalars(db.select(Erasure)).one()
    assert logged.actor_kind == "api_key" and logged.actor_api_key_id is not None
    # adding the address back through the API is refused
    list_id = data["subscriptions"][0]["list_id"]
    again = api.post(f"/api/v1/lists/{list_id}/subscribers", json={"email": "ann@example.com"})
    assert again.status_code == 422
    assert "erased" in again.get_data(as_text=True)


def test_other_scopes_are_refused(db, api_as):
    api = api_as("campaigns", "read")
    assert api.post("/api/v1/people/export", json={"email": "a@example.com"}).status_code == 403
    assert api.post("/api/v1/people/erase", json={"email": "a@example.com"}).status_code == 403


def test_a_bad_address_is_a_clear_error(db, api):
    answer = api.post("/api/v1/people/erase", json={"email": "not an address"})
    assert answer.status_code == 422
    assert "email" in answer.get_data(as_text=True)

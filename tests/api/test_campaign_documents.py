"""Campaign documents: POST /api/v1/campaigns validates everything, then creates and schedules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import SimpleWorker

from mailer.models import (
    Campaign,
    Channel,
    MailingList,
    Subscriber,
    Suppression,
)
from mailer.queue import SEND, get_redis, set_worker_app
from tests.fixtures.api import UNSUBSCRIBE, document, error_paths, iso, received, taken_paths


def counts(db) -> tuple[int, int, int]:
    db.session.commit()
    return tuple(
        db.session.scalar(db.select(db.func.count()).select_from(model))
        for model in (Campaign, MailingList, Subscriber)
    )


def work(app):
    set_worker_app(app)
    SimpleWorker([SEND], connection=get_redis()).work(burst=True)


# ------------------------------------------------------------------ creating


def test_the_example_document_schedules_a_campaign_with_its_lists_and_recipients(api, db, setup):
    response = api.post("/api/v1/campaigns", json=document(setup))

    assert response.status_code == 201, response.json
    body = response.json
    assert body["external_id"] == "spring-sale-2027"
    assert body["status"] == "scheduled"
    assert body["date"] == "2027-03-01T08:00:00Z"
    assert body["subject"] == "Hello {{ first_name }}"
    assert body["template"] == {"id": setup["default"].id, "name": "Spring newsletter"}
    assert [(s["list"], s["template"]) for s in body["segments"]] == [
        ("VIP customers", {"id": setup["vip"].id, "name": "VIP offer"}),
        ("Newsletter", None),
    ]
    [row] = body["channels"]
    assert row["channel"]["name"] == "Brevo main"
    assert row["sender"]["email"] == "news@shop.example"
    assert row["per_day"] == 50000
    ana = db.session.scalar(db.select(Subscriber).filter_by(email="ana@example.com"))
    assert (ana.first_name, ana.attributes, ana.status) == ("Ana", {"tier": "gold"}, "subscribed")
    vip = db.session.scalar(db.select(MailingList).filter_by(name="VIP customers"))
    assert ana.list_id == vip.id


def test_templates_channels_and_senders_can_be_named_and_subject_defaults_to_the_template(
    api, db, setup
):
    doc = document(setup, template="Spring newsletter")
    del doc["subject"]
    doc["segments"][0]["template"] = "VIP offer"
    doc["channels"] = [{"channel": setup["channel"].id, "sender": "Shop news"}]

    response = api.post("/api/v1/campaigns", json=doc)

    assert response.status_code == 201, response.json
    assert response.json["subject"] == "Spring is here, {{ first_name }}"
    assert response.json["segments"][0]["template"]["name"] == "VIP offer"
    assert response.json["channels"][0]["sender"]["id"] == setup["identity"].id


def test_every_error_is_listed_with_its_path_and_nothing_is_created(api, db, setup):
    doc = document(setup, date=iso(-timedelta(days=1)))
    doc["segments"][0]["template"] = 9999
    doc["segments"][1]["recipients"] += [
        {"email": "cy@example.com", "first_name": "Cy"},
        {"email": "not-an-address"},
        {"email": "dee@example..com"},
    ]
    doc["channels"] = [{"channel": "Nope", "sender": "nobody@shop.example"}]

    response = api.post("/api/v1/campaigns", json=doc)

    assert sorted(error_paths(response)) == [
        "$.channels[0].channel",
        "$.channels[0].sender",
        "$.date",
        "$.segments[0].template",
        "$.segments[1].recipients[2].email",
        "$.segments[1].recipients[3].email",
    ]
    messages = {f["path"]: f["message"] for f in response.json["error"]["details"]["fields"]}
    assert "in the past" in messages["$.date"]
    assert messages["$.segments[1].recipients[2].email"].startswith("Not a valid address")
    assert "No template with this id" in messages["$.segments[0].template"]
    assert counts(db) == (0, 0, 0)


def test_schema_problems_are_listed_with_their_paths(api, setup):
    doc = document(setup, colour="blue")
    doc["segments"][0]["recipients"][0]["nickname"] = "Annie"
    del doc["segments"][1]["list"]
    doc["channels"][0]["per_day"] = 0

    response = api.post("/api/v1/campaigns", json=doc)

    assert error_paths(response) == [
        "$.colour",
        "$.channels[0].per_day",
        "$.segments[0].recipients[0].nickname",
        "$.segments[1].list",
    ]
    fields = response.json["error"]["details"]["fields"]
    assert fields[0]["message"] == "Unknown field."
    assert fields[2]["message"] == "Unknown field."
    assert fields[3]["message"] == "This field is required."


@pytest.mark.parametrize(
    "date",
    ["2027-03-01T09:00:00", "2027-03-01", "next tuesday", "2027-13-01T09:00:00Z"],
)
def test_a_date_must_be_iso_8601_with_a_time_zone(api, db, setup, date):
    response = api.post("/api/v1/campaigns", json=document(setup, date=date))

    assert error_paths(response) == ["$.date"]
    assert "time zone" in response.json["error"]["details"]["fields"][0]["message"]
    assert counts(db) == (0, 0, 0)


def test_a_document_id_is_used_once(api, db, setup):
    assert api.post("/api/v1/campaigns", json=document(setup)).status_code == 201

    again = api.post("/api/v1/campaigns", json=document(setup, name="Another"))

    assert taken_paths(again) == ["$.id"]
    assert "already exists" in again.json["error"]["details"]["fields"][0]["message"]
    assert error_paths(api.post("/api/v1/campaigns", json=document(setup, id="2027"))) == ["$.id"]
    assert counts(db)[0] == 1


def test_the_pages_rules_apply_unsubscribe_link_inactive_channel_and_limits(api, db, setup):
    setup["vip"].html = "<p>No way out</p>"
    setup["channel"].active = False
    db.session.commit()
    doc = document(setup)

    response = api.post("/api/v1/campaigns", json=doc)

    messages = {f["path"]: f["message"] for f in response.json["error"]["details"]["fields"]}
    assert sorted(messages) == ["$.channels[0].channel", "$.segments[0].template"]
    assert "unsubscribe_url" in messages["$.segments[0].template"]
    assert "inactive" in messages["$.channels[0].channel"]
    doc["channels"][0]["frequency_minutes"] = 100000  # over a week: the document says so
    assert error_paths(api.post("/api/v1/campaigns", json=doc)) == [
        "$.channels[0].frequency_minutes"
    ]
    assert counts(db) == (0, 0, 0)


def test_a_template_error_is_reported_on_the_template_that_has_it(api, db, setup):
    setup["default"].html = "<p>{{ first_name </p>" + UNSUBSCRIBE
    db.session.commit()

    response = api.post("/api/v1/campaigns", json=document(setup, subject="Hi {% if %}"))

    assert error_paths(response) == ["$.subject", "$.template"]
    messages = [f["message"] for f in response.json["error"]["details"]["fields"]]
    assert messages[0].startswith("Template error, ")
    assert "“Spring newsletter” has an error in its HTML body, line 1" in messages[1]


def test_channels_may_be_left_out_only_with_one_channel_and_one_sender(api, db, setup):
    doc = document(setup)
    del doc["channels"]
    response = api.post("/api/v1/campaigns", json=doc)
    assert response.status_code == 201, response.json
    assert response.json["channels"][0]["channel"]["id"] == setup["channel"].id

    db.session.add(Channel(name="Second", provider="sandbox", settings={}))
    db.session.commit()
    doc = document(setup, id="other")
    del doc["channels"]
    response = api.post("/api/v1/campaigns", json=doc)
    assert error_paths(response) == ["$.channels"]
    message = response.json["error"]["details"]["fields"][0]["message"]
    assert "2 active channels and 1 senders" in message
    assert api.post("/api/v1/campaigns", json=document(setup, id="other")).status_code == 201


def test_an_audience_left_empty_by_suppressions_is_refused_and_nothing_is_kept(api, db, setup):
    db.session.add_all(
        [
            Suppression(email="ana@example.com", reason="manual"),
            Suppression(email="bo@example.com", reason="manual"),
        ]
    )
    db.session.commit()

    response = api.post("/api/v1/campaigns", json=document(setup))

    assert error_paths(response) == ["$.segments"]
    assert "Nobody to send to" in response.json["error"]["details"]["fields"][0]["message"]
    assert counts(db) == (0, 0, 0)  # the lists and contacts written before the check are gone


def test_an_existing_list_is_reused_and_its_contacts_updated_not_resubscribed(api, db, setup):
    newsletter = MailingList(name="Newsletter")
    db.session.add(newsletter)
    db.session.flush()
    db.session.add(
        Subscriber(
            list_id=newsletter.id,
            email="bo@example.com",
            status="unsubscribed",
            attributes={"city": "Oslo"},
        )
    )
    db.session.commit()
    doc = document(setup)
    doc["segments"][1]["recipients"][0]["fields"] = {"tier": "silver"}

    assert api.post("/api/v1/campaigns", json=doc).status_code == 201

    db.session.commit()
    [bo] = db.session.scalars(db.select(Subscriber).filter_by(email="bo@example.com")).all()
    assert bo.list_id == newsletter.id
    assert (bo.first_name, bo.status) == ("Bo", "unsubscribed")
    assert bo.attributes == {"city": "Oslo", "tier": "silver"}


def test_a_repeated_request_with_its_idempotency_key_creates_one_campaign(api, db, setup):
    headers = {"Idempotency-Key": "doc-1"}
    first = api.post("/api/v1/campaigns", json=document(setup), headers=headers)
    second = api.post("/api/v1/campaigns", json=document(setup), headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json == first.json
    assert counts(db)[0] == 1


def test_a_read_only_key_cannot_create_a_campaign(api_as, db, setup):
    response = api_as("read").post("/api/v1/campaigns", json=document(setup))

    assert response.status_code == 403
    assert "'campaigns'" in response.json["error"]["message"]
    assert counts(db) == (0, 0, 0)


# ------------------------------------------------------------------ sending


def test_each_segment_is_rendered_with_its_own_template(app, api, db, setup):
    doc = document(setup, date=iso(timedelta(0)))  # due: launched at once
    doc["segments"][0]["recipients"].append(
        {"email": "cy@example.com", "first_name": "Cy", "fields": {"tier": "silver"}}
    )
    # Dee is in both segments: one email, with the first segment's template.
    doc["segments"][0]["recipients"].append(
        {"email": "dee@example.com", "first_name": "Dee", "fields": {"tier": "bronze"}}
    )
    doc["segments"][1]["recipients"].append({"email": "dee@example.com", "first_name": "Dee"})
    response = api.post("/api/v1/campaigns", json=doc)
    assert response.status_code == 201, response.json
    work(app)

    mail = received(db)
    assert sorted(mail) == [
        "ana@example.com",
        "bo@example.com",
        "cy@example.com",
        "dee@example.com",
    ]
    assert "VIP gold Ana" in mail["ana@example.com"][1]
    assert "VIP silver Cy" in mail["cy@example.com"][1]
    assert "VIP" in mail["dee@example.com"][1]
    assert "DEFAULT for Bo" in mail["bo@example.com"][1]
    assert "VIP" not in mail["bo@example.com"][1]
    assert {subject for subject, _ in mail.values()} == {
        "Hello Ana",
        "Hello Bo",
        "Hello Cy",
        "Hello Dee",
    }
    assert api.get(f"/api/v1/campaigns/{doc['id']}").json["status"] == "completed"


def test_a_campaign_keeps_its_copy_of_a_segment_template(app, api, db, setup):
    response = api.post("/api/v1/campaigns", json=document(setup, date=iso(timedelta(0))))
    assert response.status_code == 201, response.json
    setup["vip"].html = f"<p>CHANGED</p>{UNSUBSCRIBE}"  # edited before the launch job ran
    db.session.commit()
    work(app)

    html = received(db)["ana@example.com"][1]
    assert "VIP gold Ana" in html and "CHANGED" not in html

"""API resources as a client app uses them: templates, lists, subscribers, imports,
suppressions and events."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta

from rq import SimpleWorker

from mailer.api.spec import document
from mailer.models import (
    Campaign,
    Event,
    Import,
    Link,
    MailingList,
    Message,
    Send,
    Subscriber,
    Suppression,
    Template,
)
from mailer.queue import IMPORTS, get_redis, set_worker_app
from tests.fixtures.api import error_paths, taken_paths

HTML = "<p>Hello {{ first_name }}</p>"


def walk(api, url: str) -> list[dict]:
    """Every item of a paginated collection, following the cursors."""
    items, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in url else "?"
        page = api.get(url + (f"{sep}cursor={cursor}" if cursor else ""))
        assert page.status_code == 200, page.json
        items += page.json["data"]
        pages += 1
        cursor = page.json["next_cursor"]
        if cursor is None:
            return items


# ------------------------------------------------------------------ templates


def test_templates_crud(api, db):
    created = api.post(
        "/api/v1/templates",
        json={"name": "Welcome", "subject": "Hi {{ first_name }}", "html": HTML + "{{ shoe }}"},
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["name"] == "Welcome" and body["text"] is None
    assert any("shoe" in w for w in body["warnings"]), "unknown variables are only warned about"
    template_id = body["id"]

    shown = api.get(f"/api/v1/templates/{template_id}").json
    assert shown["html"] == HTML + "{{ shoe }}" and shown["used_by_campaigns"] == 0

    updated = api.put(
        f"/api/v1/templates/{template_id}",
        json={"name": "Welcome v2", "subject": "Hello", "html": HTML, "text": "Hello"},
    )
    assert updated.status_code == 200 and updated.json["warnings"] == []
    assert db.session.get(Template, template_id).name == "Welcome v2"
    assert [t["name"] for t in api.get("/api/v1/templates").json["data"]] == ["Welcome v2"]

    assert api.delete(f"/api/v1/templates/{template_id}").status_code == 204
    gone = api.get(f"/api/v1/templates/{template_id}")
    assert gone.status_code == 404 and gone.json["error"]["code"] == "not_found"


def test_template_errors_name_their_field_and_line(api, db):
    api.post("/api/v1/templates", json={"name": "Taken", "subject": "s", "html": "<p>x</p>"})
    broken = api.post(
        "/api/v1/templates",
        json={"name": "Broken", "subject": "s", "html": "<p>\n{% if x %}never closed</p>"},
    )
    assert error_paths(broken) == ["$.html"]
    assert broken.json["error"]["details"]["fields"][0]["message"].startswith("Line ")
    duplicate = api.post(
        "/api/v1/templates", json={"name": " Taken ", "subject": "s", "html": "<p>x</p>"}
    )
    assert taken_paths(duplicate) == ["$.name"]
    blank = api.post("/api/v1/templates", json={"name": "Blank", "subject": " ", "html": "<p>"})
    assert error_paths(blank) == ["$.subject"]
    missing = api.post("/api/v1/templates", json={"name": "No body", "colour": "red"})
    assert sorted(error_paths(missing)) == ["$.colour", "$.html", "$.subject"]
    messages = {f["path"]: f["message"] for f in missing.json["error"]["details"]["fields"]}
    assert messages["$.colour"] == "Unknown field."
    assert db.session.scalar(db.select(db.func.count()).select_from(Template)) == 1


MJML = (
    "<mjml><mj-body><mj-section><mj-column>\n"
    "<mj-text>Thanks, {{ first_name }}!</mj-text>\n"
    "</mj-column></mj-section></mj-body></mjml>"
)


def test_a_template_can_be_written_in_mjml(api, db):
    created = api.post("/api/v1/templates", json={"name": "M", "subject": "s", "mjml": MJML})
    assert created.status_code == 201, created.json
    assert created.json["editor"] == "mjml" and created.json["mjml"] == MJML
    assert "Thanks, {{ first_name }}!" in created.json["html"] and "@media" in created.json["html"]
    template_id = created.json["id"]

    broken = api.put(
        f"/api/v1/templates/{template_id}",
        json={"name": "M", "subject": "s", "mjml": MJML.replace("</mj-column>", "")},
    )
    assert error_paths(broken) == ["$.mjml"]
    message = broken.json["error"]["details"]["fields"][0]["message"]
    assert message == "<mj-column> opened on line 1 is not closed before </mj-section>."

    both = api.put(
        f"/api/v1/templates/{template_id}",
        json={"name": "M", "subject": "s", "mjml": MJML, "html": "<p>x</p>"},
    )
    assert both.status_code == 422
    assert both.json["error"]["details"]["fields"] == [
        {"path": "$", "message": "Give the body in html or in mjml, not both."}
    ]
    as_html = api.put(
        f"/api/v1/templates/{template_id}", json={"name": "M", "subject": "s", "html": "<p>x</p>"}
    )
    assert (as_html.json["editor"], as_html.json["mjml"]) == ("html", None)


def test_a_failed_update_changes_nothing(api, db):
    template_id = api.post(
        "/api/v1/templates", json={"name": "Keep", "subject": "s", "html": "<p>x</p>"}
    ).json["id"]
    bad = api.put(
        f"/api/v1/templates/{template_id}",
        json={"name": "Renamed", "subject": "s", "html": "{{ broken"},
    )
    assert error_paths(bad) == ["$.html"]
    assert api.get(f"/api/v1/templates/{template_id}").json["name"] == "Keep"


def test_deleting_a_template_used_by_a_draft_unlinks_the_draft(api, db):
    template_id = api.post(
        "/api/v1/templates", json={"name": "Used", "subject": "s", "html": "<p>x</p>"}
    ).json["id"]
    campaign = Campaign(name="Draft", subject="s", template_id=template_id)
    db.session.add(campaign)
    db.session.commit()
    assert api.get(f"/api/v1/templates/{template_id}").json["used_by_campaigns"] == 1
    assert api.delete(f"/api/v1/templates/{template_id}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).template_id is None


def test_reads_need_read_and_writes_need_campaigns(api_as):
    reader, sender, manager = api_as("read"), api_as("send"), api_as("campaigns")
    body = {"name": "T", "subject": "s", "html": "<p>x</p>"}
    refused = reader.post("/api/v1/templates", json=body)
    assert refused.status_code == 403
    assert "'campaigns'" in refused.json["error"]["message"]
    assert sender.get("/api/v1/lists").status_code == 403
    assert sender.delete("/api/v1/suppressions/a@example.com").status_code == 403
    assert manager.post("/api/v1/templates", json=body).status_code == 201
    assert reader.get("/api/v1/templates").status_code == 200


# ------------------------------------------------------------------ lists and subscribers


def test_lists_crud_with_counts(api, db):
    created = api.post("/api/v1/lists", json={"name": " Newsletter ", "description": "Weekly"})
    assert created.status_code == 201
    list_id = created.json["id"]
    assert created.json["name"] == "Newsletter"
    for i, status in enumerate(["subscribed", "subscribed", "unsubscribed", "bounced"]):
        db.session.add(Subscriber(list_id=list_id, email=f"s{i}@example.com", status=status))
    db.session.commit()
    shown = api.get(f"/api/v1/lists/{list_id}").json
    assert shown["subscribers"] == {
        "total": 4,
        "subscribed": 2,
        "unsubscribed": 1,
        "bounced": 1,
        "complained": 0,
        "unconfirmed": 0,
    }
    assert api.get("/api/v1/lists").json["data"][0]["subscribers"]["total"] == 4
    assert taken_paths(api.post("/api/v1/lists", json={"name": "Newsletter"})) == ["$.name"]
    assert error_paths(api.post("/api/v1/lists", json={"name": "x" * 201})) == ["$.name"]

    renamed = api.patch(f"/api/v1/lists/{list_id}", json={"name": "Weekly news"})
    assert renamed.status_code == 200 and renamed.json["description"] == "Weekly"
    described = api.patch(f"/api/v1/lists/{list_id}", json={"description": "Every Monday"})
    assert described.json["name"] == "Weekly news"
    assert described.json["description"] == "Every Monday"

    assert api.delete(f"/api/v1/lists/{list_id}").status_code == 204
    assert api.get(f"/api/v1/lists/{list_id}").status_code == 404
    assert db.session.scalar(db.select(Subscriber).filter_by(list_id=list_id)) is None


def test_pages_follow_cursors_newest_first_without_gaps(api, db):
    for i in range(7):
        db.session.add(MailingList(name=f"List {i}"))
    db.session.commit()
    first = api.get("/api/v1/lists?limit=3").json
    assert [m["name"] for m in first["data"]] == ["List 6", "List 5", "List 4"]
    assert first["next_cursor"]
    names = [m["name"] for m in walk(api, "/api/v1/lists?limit=3")]
    assert names == [f"List {i}" for i in range(6, -1, -1)]
    assert error_paths(api.get("/api/v1/lists?limit=500")) == ["limit"]
    assert error_paths(api.get("/api/v1/lists?cursor=!!")) == ["cursor"]


def test_any_cursor_of_the_documented_shape_pages_and_no_other_does(api, db):
    """The document's cursor pattern is the server's: every string it allows names a place
    in the list (no overflow, no refusal), and a client cannot pass anything else."""
    for i in range(3):
        db.session.add(MailingList(name=f"List {i}"))
    db.session.commit()
    pattern = document()["components"]["parameters"]["Cursor"]["schema"]["pattern"]

    def names(cursor: str) -> list[str]:
        return [m["name"] for m in api.get(f"/api/v1/lists?cursor={cursor}").json["data"]]

    assert names("") == ["List 2", "List 1", "List 0"], "empty: the first page"
    assert names("f_________8") == ["List 2", "List 1", "List 0"], "past the last id"
    assert names("AAAAAAAAAAA") == [], "before the first id"
    for shape in ["AAAAAAAAAAA", "f_________8", "Zz09-_AbCdE"]:
        assert re.fullmatch(pattern, shape)
        assert api.get(f"/api/v1/lists?cursor={shape}").status_code == 200
    for wrong in ["AAAAAAAAAAB", "g_________8", "AAAAAAAAAA", "MTIz", "AAAAAAAAAAAA"]:
        assert not re.fullmatch(pattern, wrong)
        assert error_paths(api.get(f"/api/v1/lists?cursor={wrong}")) == ["cursor"]


def test_subscribers_are_validated_normalised_and_editable(api, db):
    list_id = api.post("/api/v1/lists", json={"name": "People"}).json["id"]
    url = f"/api/v1/lists/{list_id}/subscribers"
    added = api.post(
        url,
        json={"email": "  Kim@Example.COM ", "first_name": "Kim", "attributes": {"city": "Rome"}},
    )
    assert added.status_code == 201, added.json
    kim = added.json
    assert kim["email"] == "kim@example.com" and kim["attributes"] == {"city": "Rome"}
    assert kim["status"] == "subscribed" and kim["suppressed"] is False

    bad = api.post(url, json={"email": "kim at example", "attributes": [1]})
    assert error_paths(bad) == ["$.attributes"], "the body's shape is checked first"
    invalid = api.post(url, json={"email": "kim at example"})
    assert error_paths(invalid) == ["$.email"]
    assert "Not a valid address" in invalid.json["error"]["details"]["fields"][0]["message"]
    assert taken_paths(api.post(url, json={"email": "KIM@example.com"})) == ["$.email"]

    one = f"{url}/{kim['id']}"
    patched = api.patch(one, json={"last_name": "Lee", "status": "unsubscribed"})
    assert patched.status_code == 200
    assert patched.json["first_name"] == "Kim" and patched.json["last_name"] == "Lee"
    assert patched.json["attributes"] == {"city": "Rome"}, "attributes kept when not sent"
    assert patched.json["unsubscribed_at"] is not None
    replaced = api.patch(one, json={"attributes": {"plan": "pro"}, "first_name": None})
    assert replaced.json["attributes"] == {"plan": "pro"} and replaced.json["first_name"] is None
    assert error_paths(api.patch(one, json={"email": "new@example.com"})) == ["$.email"]
    assert error_paths(api.patch(one, json={"status": "gone"})) == ["$.status"]

    db.session.add(Suppression(email="kim@example.com", reason="manual"))
    db.session.commit()
    assert api.get(one).json["suppressed"] is True

    other = api.post("/api/v1/lists", json={"name": "Other"}).json["id"]
    assert api.get(f"/api/v1/lists/{other}/subscribers/{kim['id']}").status_code == 404
    assert api.delete(one).status_code == 204
    assert api.get(one).status_code == 404
    assert api.post("/api/v1/lists/999999/subscribers", json={"email": "a@b.co"}).status_code == 404


def test_subscribers_filter_by_status_and_search_by_email(api, db):
    mailing_list = MailingList(name="Big")
    db.session.add(mailing_list)
    db.session.flush()
    for i in range(12):
        status = "unsubscribed" if i % 4 == 0 else "subscribed"
        db.session.add(
            Subscriber(list_id=mailing_list.id, email=f"user{i}@example.com", status=status)
        )
    db.session.add(Subscriber(list_id=mailing_list.id, email="under_score@example.com"))
    db.session.commit()
    url = f"/api/v1/lists/{mailing_list.id}/subscribers"
    everyone = walk(api, url + "?limit=5")
    assert len(everyone) == 13 and len({s["id"] for s in everyone}) == 13
    assert [s["id"] for s in everyone] == sorted((s["id"] for s in everyone), reverse=True)
    gone = walk(api, url + "?status=unsubscribed&limit=2")
    assert {s["email"] for s in gone} == {
        "user0@example.com",
        "user4@example.com",
        "user8@example.com",
    }
    found = api.get(url + "?email=USER1").json["data"]
    assert {s["email"] for s in found} == {
        "user1@example.com",
        "user10@example.com",
        "user11@example.com",
    }
    literal = api.get(url + "?email=_").json["data"]
    assert [s["email"] for s in literal] == ["under_score@example.com"], "_ is not a wildcard"
    assert error_paths(api.get(url + "?status=asleep")) == ["status"]


# ------------------------------------------------------------------ imports


def test_import_upload_runs_in_the_worker_and_reports_rejected_rows(app, api, client, db):
    list_id = api.post("/api/v1/lists", json={"name": "Imported"}).json["id"]
    content = json.dumps(
        [
            {"email": "A@Example.com", "city": "Oslo"},
            {"email": "broken"},
            {"email": "b@example.com"},
        ]
    )
    started = api.post(
        f"/api/v1/lists/{list_id}/imports",
        data={"file": (io.BytesIO(content.encode()), "people.json"), "mode": "upsert"},
        content_type="multipart/form-data",
    )
    assert started.status_code == 202, started.json
    record = started.json
    assert record["status"] == "queued" and record["format"] == "json"
    assert started.headers["Location"] == f"/api/v1/imports/{record['id']}"
    assert record["links"]["rejected_rows"] is None

    set_worker_app(app)
    SimpleWorker([IMPORTS], connection=get_redis()).work(burst=True)

    done = api.get(f"/api/v1/imports/{record['id']}").json
    assert done["status"] == "completed" and done["progress"] == 1
    assert (done["rows_read"], done["inserted"], done["rejected"]) == (3, 2, 1)
    counts = api.get(f"/api/v1/lists/{list_id}").json["subscribers"]
    assert counts["total"] == 2
    report_url = done["links"]["rejected_rows"]
    assert report_url == f"/api/v1/imports/{record['id']}/rejected.csv"
    report = api.get(report_url)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "item 2,invalid email: missing @,broken" in report.get_data(as_text=True)
    report.close()
    assert client.get(report_url).status_code == 401, "the report needs the key"


def test_import_refusals(api, db):
    list_id = api.post("/api/v1/lists", json={"name": "Target"}).json["id"]
    url = f"/api/v1/lists/{list_id}/imports"
    no_email = api.post(
        url,
        data={"file": (io.BytesIO(b"phone,name\n1,x\n"), "p.csv")},
        content_type="multipart/form-data",
    )
    assert error_paths(no_email) == ["$.file"]
    assert "no email field" in no_email.json["error"]["details"]["fields"][0]["message"]
    bad_mode = api.post(
        url,
        data={"file": (io.BytesIO(b"email\na@example.com\n"), "a.csv"), "mode": "merge"},
        content_type="multipart/form-data",
    )
    assert error_paths(bad_mode) == ["$.mode"]
    unknown = api.post(
        url,
        data={"file": (io.BytesIO(b"email\n"), "a.csv"), "list": "x"},
        content_type="multipart/form-data",
    )
    assert error_paths(unknown) == ["$.list"]
    missing = api.post(url, data={"mode": "skip"}, content_type="multipart/form-data")
    assert error_paths(missing) == ["$.file"]
    as_json = api.post(url, json={"file": "email\na@example.com"})
    assert as_json.status_code == 415 and as_json.json["error"]["code"] == "unsupported_media_type"
    assert db.session.scalar(db.select(Import)) is None
    assert api.get("/api/v1/imports/12345").status_code == 404


# ------------------------------------------------------------------ suppressions


def test_suppressions_add_search_and_remove(api, db):
    added = api.post("/api/v1/suppressions", json={"email": " Spam@Example.com ", "note": "asked"})
    assert added.status_code == 201
    assert added.json | {"id": 0, "created_at": ""} == {
        "id": 0,
        "email": "spam@example.com",
        "reason": "manual",
        "note": "asked",
        "created_at": "",
    }
    again = api.post("/api/v1/suppressions", json={"email": "spam@example.com"})
    assert taken_paths(again) == ["$.email"]
    assert error_paths(api.post("/api/v1/suppressions", json={"email": "nope"})) == ["$.email"]
    assert error_paths(
        api.post("/api/v1/suppressions", json={"email": "x@example.com", "reason": "complaint"})
    ) == ["$.reason"]
    keyed = api.post("/api/v1/suppressions", json={"email": "other@example.com"}).json
    assert keyed["note"].startswith("added with API key mk_")
    db.session.add(Suppression(email="bounced@example.com", reason="hard_bounce"))
    db.session.commit()

    assert len(walk(api, "/api/v1/suppressions?limit=1")) == 3
    found = api.get("/api/v1/suppressions?email=SPAM").json["data"]
    assert [s["email"] for s in found] == ["spam@example.com"]
    hard = api.get("/api/v1/suppressions?reason=hard_bounce").json["data"]
    assert [s["email"] for s in hard] == ["bounced@example.com"]
    assert error_paths(api.get("/api/v1/suppressions?reason=bored")) == ["reason"]

    assert api.delete("/api/v1/suppressions/SPAM@example.com").status_code == 204
    assert api.delete("/api/v1/suppressions/spam@example.com").status_code == 404
    assert api.delete("/api/v1/suppressions/not-an-address").status_code == 404
    assert db.session.scalar(db.select(Suppression).filter_by(email="spam@example.com")) is None


# ------------------------------------------------------------------ events


def make_events(db) -> dict:
    campaign = Campaign(name="Sale", subject="s", status="running")
    other = Campaign(name="Other", subject="s", status="running")
    db.session.add_all([campaign, other])
    db.session.flush()
    send = Send(campaign_id=campaign.id, subscriber_id=1, email="ann@example.com")
    send2 = Send(campaign_id=other.id, subscriber_id=2, email="bob@example.com")
    link = Link(campaign_id=campaign.id, url="https://shop.example.com/sale", url_hash="h" * 64)
    message = Message(to_email="carl@example.com", subject="Receipt")
    db.session.add_all([send, send2, link, message])
    db.session.flush()
    base = datetime(2025, 3, 1, 12, 0, 0)
    events = [
        Event(type="delivery", occurred_at=base, campaign_id=campaign.id, send_id=send.id),
        Event(
            type="open",
            occurred_at=base + timedelta(hours=1),
            campaign_id=campaign.id,
            send_id=send.id,
        ),
        Event(
            type="click",
            occurred_at=base + timedelta(hours=2),
            campaign_id=campaign.id,
            send_id=send.id,
            link_id=link.id,
        ),
        Event(
            type="bounce",
            occurred_at=base + timedelta(hours=3),
            campaign_id=other.id,
            send_id=send2.id,
            data={"reason": "mailbox full"},
        ),
        Event(type="delivery", occurred_at=base + timedelta(hours=4), message_id=message.id),
    ]
    db.session.add_all(events)
    db.session.commit()
    return {"campaign": campaign.id, "other": other.id, "message": message.id, "send": send.id}


def test_events_filters_and_details(api, db):
    ids = make_events(db)
    everything = api.get("/api/v1/events").json["data"]
    assert [e["type"] for e in everything] == ["delivery", "bounce", "click", "open", "delivery"]
    assert everything[0]["email"] == "carl@example.com"
    assert everything[0]["message_id"] == ids["message"] and everything[0]["campaign_id"] is None
    click = everything[2]
    assert click["url"] == "https://shop.example.com/sale"
    assert click["email"] == "ann@example.com" and click["send_id"] == ids["send"]
    assert click["occurred_at"] == "2025-03-01T14:00:00Z"
    assert everything[1]["data"] == {"reason": "mailbox full"}

    def types(query: str) -> list[str]:
        response = api.get("/api/v1/events?" + query)
        assert response.status_code == 200, response.json
        return [e["type"] for e in response.json["data"]]

    assert types(f"campaign_id={ids['campaign']}") == ["click", "open", "delivery"]
    assert types(f"message_id={ids['message']}") == ["delivery"]
    assert types("type=open,click") == ["click", "open"]
    assert types("type=bounce&type=open") == ["bounce", "open"]
    assert types("since=2025-03-01T13:00:00Z&until=2025-03-01T15:00:00Z") == ["click", "open"]
    in_paris = types("since=2025-03-01T15:00:00%2B02:00")  # 13:00 UTC
    assert in_paris == ["delivery", "bounce", "click", "open"]
    assert types(f"campaign_id={ids['campaign']}&type=delivery&since=2025-03-01") == ["delivery"]

    pages = walk(api, "/api/v1/events?limit=2")
    assert [e["id"] for e in pages] == [e["id"] for e in everything]

    assert error_paths(api.get("/api/v1/events?since=yesterday")) == ["since"]
    assert error_paths(api.get("/api/v1/events?until=")) == ["until"]
    assert error_paths(api.get("/api/v1/events?type=read")) == ["type"]
    assert error_paths(api.get("/api/v1/events?campaign_id=-1")) == ["campaign_id"]
    assert error_paths(api.get("/api/v1/events?message_id=" + "9" * 5000)) == ["message_id"]


# ------------------------------------------------------------------ bodies


def test_bodies_too_large_not_json_or_of_the_wrong_type_get_json_errors(app, api):
    app.config["MAILER_API_MAX_BODY_BYTES"] = 1000
    big = api.post("/api/v1/templates", json={"name": "Big", "subject": "s", "html": "x" * 2000})
    assert big.status_code == 413 and big.json["error"]["code"] == "payload_too_large"
    app.config["MAILER_API_MAX_BODY_BYTES"] = 1_000_000
    broken = api.post("/api/v1/lists", data='{"name": "x",', content_type="application/json")
    assert broken.status_code == 400 and broken.json["error"]["code"] == "invalid_json"
    assert "line 1" in broken.json["error"]["message"]
    form = api.post("/api/v1/lists", data={"name": "x"})
    assert form.status_code == 415 and form.json["error"]["code"] == "unsupported_media_type"
    not_object = api.post("/api/v1/lists", json=["name"])
    assert error_paths(not_object) == ["$"]
    nested = api.post("/api/v1/lists", data="[" * 100_000, content_type="application/json")
    assert nested.status_code == 400 and nested.json["error"]["code"] == "invalid_json"
    huge_id = api.get("/api/v1/templates/99999999999999999999999")
    assert huge_id.status_code == 404 and huge_id.json["error"]["code"] == "not_found"
    endless_id = api.get("/api/v1/templates/" + "9" * 5000)
    assert endless_id.status_code == 404 and endless_id.json["error"]["code"] == "not_found"

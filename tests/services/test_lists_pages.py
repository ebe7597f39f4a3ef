"""Lists, subscribers and suppressions pages as a marketing team uses them."""

from __future__ import annotations

import io
import json
import re

from rq import SimpleWorker

from mailer.models import Import, MailingList, Subscriber, Suppression
from mailer.queue import IMPORTS, get_redis, set_worker_app
from mailer.services import lists
from tests.fixtures.imports import accept_mapping

PROFILE_LINK = re.compile(r'href="/people/\d+"')  # one per subscriber row


def test_create_browse_search_and_filter(client, db, as_role):
    as_role("marketer")
    response = client.post("/lists/", data={"name": "Newsletter"})
    mailing_list = db.session.scalar(db.select(MailingList).filter_by(name="Newsletter"))
    assert response.headers["Location"].endswith(f"/lists/{mailing_list.id}")
    assert client.post("/lists/", data={"name": "Newsletter"}).status_code == 422
    for i in range(60):
        db.session.add(
            Subscriber(
                list_id=mailing_list.id,
                email=f"user{i}@example.com",
                first_name="Zoë" if i == 7 else "Al",
                status="unsubscribed" if i % 10 == 0 else "subscribed",
            )
        )
    db.session.commit()
    page = client.get(f"/lists/{mailing_list.id}").get_data(as_text=True)
    assert "54 subscribed" in page and len(PROFILE_LINK.findall(page)) == 50
    older = re.search(r'href="([^"]*before=\d+)"', page).group(1).replace("&amp;", "&")
    second = client.get(older, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert len(PROFILE_LINK.findall(second)) == 10 and "user0@example.com" in second
    assert "after=" in second and "Older" not in second, "a link back, none further"
    found = client.get(f"/lists/{mailing_list.id}?q=zoë", headers={"HX-Request": "true"})
    body = found.get_data(as_text=True)
    assert "<html" not in body and len(PROFILE_LINK.findall(body)) == 1 and "user7@" in body
    only = client.get(f"/lists/{mailing_list.id}?status=unsubscribed").get_data(as_text=True)
    assert len(PROFILE_LINK.findall(only)) == 6


def test_list_pages_never_repeat_or_skip_a_row_while_rows_are_added(db):
    mailing_list = lists.create_list("Busy")
    for i in range(25):
        db.session.add(Subscriber(list_id=mailing_list.id, email=f"old{i}@example.com"))
    db.session.commit()
    before_ids = set(db.session.scalars(db.select(Subscriber.id)))
    seen, cursor, n = [], None, 0
    while True:
        page = lists.browse(mailing_list.id, before=cursor)
        seen.extend(s.id for s, _suppressed in page.rows)
        n += 1
        db.session.add(Subscriber(list_id=mailing_list.id, email=f"new{n}@example.com"))
        db.session.commit()
        if page.older is None:
            break
        cursor = page.older
    assert len(seen) == len(set(seen)) and before_ids <= set(seen)


def test_add_edit_unsubscribe_and_delete_a_subscriber(client, db, as_role):
    as_role("marketer")
    mailing_list = lists.create_list("L")
    bad = client.post(
        f"/lists/{mailing_list.id}/subscribers",
        data={"email": "nope", "attr_name": ["", ""], "attr_value": ["Rome", ""]},
    )
    assert bad.status_code == 422
    assert "Not a valid address" in bad.get_data(as_text=True)
    assert 'id="attr_name-0-error"' in bad.get_data(as_text=True)
    client.post(
        f"/lists/{mailing_list.id}/subscribers",
        data={
            "email": "Kim@Example.com",
            "first_name": "Kim",
            "attr_name": ["city", ""],
            "attr_value": ["Rome", ""],
        },
    )
    kim = db.session.scalar(db.select(Subscriber).filter_by(email="kim@example.com"))
    assert kim.attributes == {"city": "Rome"}
    broken = client.post(
        f"/lists/{mailing_list.id}/subscribers/{kim.id}",
        data={"attr_name": ['bad"name'], "attr_value": ["x"]},
    )
    assert broken.status_code == 422 and "without quotes" in broken.get_data(as_text=True)
    client.post(f"/lists/{mailing_list.id}/subscribers/{kim.id}/unsubscribe")
    db.session.refresh(kim)
    assert kim.status == "unsubscribed" and kim.unsubscribed_at is not None
    client.post(f"/lists/{mailing_list.id}/subscribers/{kim.id}/delete")
    assert db.session.get(Subscriber, kim.id) is None


def test_deleting_a_list_asks_first_and_says_how_many_go(client, db, as_role):
    as_role("marketer")
    mailing_list = lists.create_list("Old")
    for i in range(3):
        db.session.add(Subscriber(list_id=mailing_list.id, email=f"o{i}@example.com"))
    db.session.commit()
    confirm = client.get(f"/lists/{mailing_list.id}/delete").get_data(as_text=True)
    assert "its 3 subscribers" in confirm
    done = client.post(f"/lists/{mailing_list.id}/delete", follow_redirects=True)
    assert "deleted with its 3 subscribers" in done.get_data(as_text=True)
    assert db.session.scalar(db.select(Subscriber).filter_by(list_id=mailing_list.id)) is None


def test_upload_runs_in_a_worker_with_live_progress_and_a_rejects_report(app, client, db, as_role):
    as_role("marketer")
    mailing_list = lists.create_list("Upload")
    content = json.dumps([{"email": "a@example.com", "city": "Oslo"}, {"email": "broken"}])
    response = client.post(
        f"/lists/{mailing_list.id}/imports",
        data={"file": (io.BytesIO(content.encode()), "people.json"), "mode": "upsert"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    record = db.session.scalar(db.select(Import))
    assert response.headers["Location"].endswith(f"/imports/{record.id}/columns")
    assert accept_mapping(client, record.id).status_code == 302
    queued = client.get(
        f"/lists/{mailing_list.id}/imports/{record.id}", headers={"HX-Request": "true"}
    )
    assert queued.status_code == 200 and 'hx-trigger="every 1s"' in queued.get_data(as_text=True)

    set_worker_app(app)
    SimpleWorker([IMPORTS], connection=get_redis()).work(burst=True)

    done = client.get(
        f"/lists/{mailing_list.id}/imports/{record.id}", headers={"HX-Request": "true"}
    )
    body = done.get_data(as_text=True)
    assert done.status_code == 286, "htmx stops polling once the import is over"
    assert "done" in body and "every 1s" not in body
    assert "<strong>1</strong> added" in body and "<strong>1</strong> rejected" in body
    report = client.get(f"/lists/{mailing_list.id}/imports/{record.id}/rejected.csv")
    assert "item 2" in report.get_data(as_text=True)
    report.close()


def test_an_unreadable_upload_is_refused_at_once_with_the_reason(client, db, as_role):
    as_role("marketer")
    mailing_list = lists.create_list("U")
    response = client.post(
        f"/lists/{mailing_list.id}/imports",
        data={"file": (io.BytesIO(b"\x1f\x8b\x08compressed"), "p.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "this is a gzip file; decompress it first" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(Import)) is None


def test_a_file_without_an_email_column_asks_for_one(client, db, as_role):
    as_role("marketer")
    mailing_list = lists.create_list("U")
    client.post(
        f"/lists/{mailing_list.id}/imports",
        data={"file": (io.BytesIO(b"phone,name\n1,x\n"), "p.csv")},
        content_type="multipart/form-data",
    )
    record = db.session.scalar(db.select(Import))
    response = accept_mapping(client, record.id)
    assert response.status_code == 422
    assert "Choose the column that holds the email addresses." in response.get_data(as_text=True)
    assert db.session.get(Import, record.id).status == "mapping"


def test_a_viewer_cannot_import_or_edit(client, db, as_role):
    as_role("viewer")
    mailing_list = lists.create_list("V")
    response = client.post(
        f"/lists/{mailing_list.id}/imports",
        data={"file": (io.BytesIO(b"email\na@example.com\n"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    page = client.get(f"/lists/{mailing_list.id}").get_data(as_text=True)
    assert "Import a file" not in page and "Add a subscriber" not in page


def test_suppressed_addresses_are_flagged_in_lists_and_managed_on_their_page(client, db, as_role):
    as_role("marketer")
    mailing_list = lists.create_list("S")
    db.session.add(Subscriber(list_id=mailing_list.id, email="gone@example.com"))
    db.session.commit()
    assert "suppressed</span>" not in client.get(f"/lists/{mailing_list.id}").get_data(as_text=True)
    client.post("/suppressions/", data={"email": "Gone@Example.com"})
    assert (
        db.session.scalar(db.select(Suppression).filter_by(email="gone@example.com")).reason
        == "manual"
    )
    assert "suppressed</span>" in client.get(f"/lists/{mailing_list.id}").get_data(as_text=True)
    again = client.post("/suppressions/", data={"email": "gone@example.com"})
    assert again.status_code == 422 and "already suppressed" in again.get_data(as_text=True)
    found = client.get("/suppressions/?q=gone", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "gone@example.com" in found and "<html" not in found
    suppression = db.session.scalar(db.select(Suppression))
    client.post(f"/suppressions/{suppression.id}/delete")
    assert db.session.scalar(db.select(Suppression)) is None

"""People pages: a subscriber's profile, search, bulk actions and exports, by role."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from mailer.extensions import db as _db
from mailer.models import BulkAction, Segment, Subscriber, Suppression
from mailer.queue import IMPORTS
from mailer.services import bulk
from tests.factories import make_list
from tests.fixtures.app import work


def _ids(db, list_id: int) -> list[int]:
    stmt = select(Subscriber.id).filter_by(list_id=list_id).order_by(Subscriber.id)
    return list(db.session.scalars(stmt))


# ------------------------------------------------------------------ profile


def test_attributes_are_edited_as_fields_one_row_each(client, db, as_role):
    as_role("marketer")
    mailing_list = make_list(db, "News", ["kim@example.com"])
    kim = db.session.scalar(select(Subscriber))
    kim.attributes = {"city": "Rome", "score": 12}
    db.session.commit()
    url = f"/people/{kim.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="attr_name" value="city"' in page and 'name="attr_value" value="Rome"' in page
    assert "<textarea" not in page, "no raw JSON box"

    rows = {"attr_name": ["city", "score"], "attr_value": ["Rome", "12"]}
    added = client.post(url, data={**rows, "op": "add"}).get_data(as_text=True)
    assert added.count('name="attr_name"') == 3, "an empty row to fill"
    removed = client.post(url, data={**rows, "op": "remove-0"}).get_data(as_text=True)
    assert 'value="city"' not in removed and 'value="score"' in removed
    db.session.refresh(kim)
    assert kim.attributes == {"city": "Rome", "score": 12}, "adding or removing rows saves nothing"

    nameless = client.post(
        url, data={"attr_name": ["city", ""], "attr_value": ["Rome", "orphan"], "op": "save"}
    )
    body = nameless.get_data(as_text=True)
    assert nameless.status_code == 422 and 'id="attr_name-1-error"' in body
    assert 'value="orphan"' in body, "what was typed is kept"

    saved = client.post(
        url,
        data={
            "first_name": "Kim",
            "attr_name": ["score", "plan", ""],
            "attr_value": ["12", "pro", ""],
            "op": "save",
        },
    )
    assert saved.status_code == 302
    db.session.refresh(kim)
    assert kim.attributes == {"score": 12, "plan": "pro"}, "an unchanged number stays a number"
    assert kim.first_name == "Kim"
    # the list's own subscriber page is this profile too
    assert 'value="plan"' in client.get(f"/lists/{mailing_list.id}/subscribers/{kim.id}").text


def test_the_profile_shows_every_list_of_the_address_with_its_status(client, db, as_role):
    as_role("viewer")
    make_list(db, "News", ["kim@example.com"])
    make_list(db, "Offers", ["kim@example.com"], status="unsubscribed")
    kim = db.session.scalar(select(Subscriber).order_by(Subscriber.id))
    page = client.get(f"/people/{kim.id}").get_data(as_text=True)
    assert "News" in page and "Offers" in page and "badge-unsubscribed" in page
    assert "No mail sent to this address yet" in page
    assert 'name="op" value="save"' not in page, "a viewer sees no save button"


# ------------------------------------------------------------------ search


def test_search_finds_people_on_every_list_and_pages_with_a_cursor(client, db, as_role):
    as_role("viewer")
    make_list(db, "A", [f"ann{i:02}@example.com" for i in range(60)])
    make_list(db, "B", ["ann00@example.com", "bob@example.com"])
    first = client.get("/people/?q=ann&field=email").get_data(as_text=True)
    assert first.count('name="id"') == 50 and "bob@example.com" not in first
    assert "page=" not in first and "after=" in first, "keyset, not page numbers"
    after = first.split('id="next-page"')[0].rsplit("after=", 1)[1].split("&")[0].split('"')[0]
    second = client.get(f"/people/?q=ann&field=email&after={after}", headers={"HX-Request": "true"})
    body = second.get_data(as_text=True)
    assert "<html" not in body and body.count('name="id"') == 11
    assert "ann59@example.com" in body and 'id="next-page"' not in body


# ------------------------------------------------------------------ bulk actions


@pytest.fixture
def crowd(db):
    """Two lists: News (6 people, one unsubscribed) and an empty Target."""
    news = make_list(db, "News", [f"p{i}@example.com" for i in range(6)])
    target = make_list(db, "Target", ["p0@example.com"])
    db.session.get(Subscriber, _ids(db, news.id)[5]).status = "unsubscribed"
    db.session.commit()
    return news, target


def _statuses(db, list_id):
    _db.session.expire_all()
    rows = db.session.execute(
        select(Subscriber.email, Subscriber.status).filter_by(list_id=list_id)
    )
    return dict(rows.all())


BULK_CASES = {
    "add_to_list": lambda db, news, target, picked: (
        set(_statuses(db, target.id)) == {"p0@example.com", "p1@example.com", "p2@example.com"}
    ),
    "remove_from_list": lambda db, news, target, picked: _statuses(db, target.id) == {},
    "unsubscribe": lambda db, news, target, picked: (
        all(_statuses(db, news.id)[e] == "unsubscribed" for e in picked)
        and _statuses(db, news.id)["p4@example.com"] == "subscribed"
    ),
    "suppress": lambda db, news, target, picked: (
        set(db.session.scalars(select(Suppression.email))) == set(picked)
    ),
    "delete": lambda db, news, target, picked: set(_statuses(db, news.id)).isdisjoint(picked),
}


@pytest.mark.parametrize("kind", list(BULK_CASES))
def test_each_bulk_action_on_ticked_rows(client, db, as_role, crowd, kind):
    as_role("marketer")
    news, target = crowd
    ids = _ids(db, news.id)[:3]
    response = client.post(
        "/people/bulk",
        data={
            "kind": kind,
            "id": [str(i) for i in ids],
            "scope": "ticked",
            "target_list": target.id,
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "badge-completed" in page
    picked = ["p0@example.com", "p1@example.com", "p2@example.com"]
    assert BULK_CASES[kind](db, news, target, picked)
    # untouched: the rows not ticked
    assert "p3@example.com" in _statuses(db, news.id)


@pytest.mark.parametrize("kind", list(BULK_CASES))
def test_each_bulk_action_on_a_whole_segment_runs_as_a_job(app, client, db, as_role, crowd, kind):
    as_role("marketer")
    news, target = crowd
    segment = Segment(
        list_id=news.id,
        name="First three",
        match="any",
        conditions=[
            {"field": "email", "op": "eq", "value": f"p{i}@example.com", "attribute": ""}
            for i in range(3)
        ],
    )
    db.session.add(segment)
    db.session.commit()
    app.config["MAILER_BULK_CHUNK"] = 2  # several chunks
    response = client.post(
        "/people/bulk",
        data={"kind": kind, "scope": "all", "segment": segment.id, "target_list": target.id},
    )
    action = db.session.scalar(select(BulkAction))
    assert response.headers["Location"].endswith(f"/people/bulk/{action.id}")
    polling = client.get(f"/people/bulk/{action.id}", headers={"HX-Request": "true"})
    assert polling.status_code == 200 and 'hx-trigger="every 1s"' in polling.text

    work(app, IMPORTS)

    done = client.get(f"/people/bulk/{action.id}", headers={"HX-Request": "true"})
    assert done.status_code == 286, "the progress bar stops polling"
    _db.session.expire_all()
    action = db.session.get(BulkAction, action.id)
    assert (action.status, action.total, action.processed) == ("completed", 3, 3)
    picked = ["p0@example.com", "p1@example.com", "p2@example.com"]
    assert BULK_CASES[kind](db, news, target, picked)


def test_a_bulk_action_cancelled_while_running_stops_between_chunks(
    app, client, db, as_role, crowd, monkeypatch
):
    user = as_role("marketer")
    news, _target = crowd
    app.config["MAILER_BULK_CHUNK"] = 2
    real_apply = bulk.apply
    calls = []

    def apply_then_cancel(kind, ids, *args, **kwargs):
        if len(calls) == 1:  # the person presses Cancel while the second chunk runs
            with app.app_context():
                bulk.cancel(_db.session.get(BulkAction, action_id))
        calls.append(ids)
        return real_apply(kind, ids, *args, **kwargs)

    monkeypatch.setattr(bulk, "apply", apply_then_cancel)
    search = bulk.people.Search(list_id=news.id)
    action_id = bulk.start("delete", bulk.Selection(search=search), None, user).id
    work(app, IMPORTS)

    _db.session.expire_all()
    action = db.session.get(BulkAction, action_id)
    assert action.status == "cancelled" and action.processed == 4 and action.total == 6
    assert len(_statuses(db, news.id)) == 2, "the chunks after the cancel were not deleted"
    page = client.get(f"/people/bulk/{action_id}").get_data(as_text=True)
    assert "badge-cancelled" in page and "4 rows deleted" in page


def test_a_queued_bulk_action_cancelled_changes_nothing(app, client, db, as_role, crowd):
    as_role("marketer")
    news, _target = crowd
    client.post("/people/bulk", data={"kind": "delete", "scope": "all", "list": news.id})
    action = db.session.scalar(select(BulkAction))
    cancelled = client.post(f"/people/bulk/{action.id}/cancel", headers={"HX-Request": "true"})
    assert cancelled.status_code == 286 and "badge-cancelled" in cancelled.text
    work(app, IMPORTS)
    assert len(_statuses(db, news.id)) == 6


def test_a_bulk_action_needs_a_list_and_a_selection(client, db, as_role, crowd):
    as_role("marketer")
    news, _target = crowd
    response = client.post(
        "/people/bulk", data={"kind": "add_to_list", "id": "1"}, follow_redirects=True
    )
    assert "Choose a list" in response.get_data(as_text=True)
    response = client.post("/people/bulk", data={"kind": "delete"}, follow_redirects=True)
    assert "Tick at least one person" in response.get_data(as_text=True)
    assert len(_statuses(db, news.id)) == 6


# ------------------------------------------------------------------ exports


EVIL = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-3", "@SUM(A1)", "\tx", "\rx"]


def _evil_list(db):
    mailing_list = make_list(db, "Evil", [])
    for i, value in enumerate(EVIL):
        db.session.add(
            Subscriber(
                list_id=mailing_list.id,
                email=f"e{i}@example.com",
                first_name=value,
                attributes={"note": value, "plan": "pro"},
            )
        )
    db.session.commit()
    return mailing_list


def test_a_csv_export_escapes_formula_cells(client, db, as_role):
    as_role("viewer")
    mailing_list = _evil_list(db)
    response = client.get(f"/people/export/?list={mailing_list.id}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["first_name"] for r in rows] == ["'" + v for v in EVIL]
    assert [r["note"] for r in rows] == ["'" + v for v in EVIL]
    assert {r["plan"] for r in rows} == {"pro"} and {r["list"] for r in rows} == {"Evil"}


def test_the_excel_export_has_a_byte_order_mark_and_semicolons(client, db, as_role):
    as_role("viewer")
    mailing_list = make_list(db, "Ça va", ["zoé@example.com"])
    body = client.get(f"/people/export/?list={mailing_list.id}&format=excel").data
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("email;first_name;last_name")
    assert "zoé@example.com;Zoé@Example.Com" in text or "zoé@example.com;" in text
    assert "Ça va" in text


def test_a_json_export_of_ticked_rows_keeps_attributes(client, db, as_role):
    as_role("viewer")
    mailing_list = _evil_list(db)
    ids = _ids(db, mailing_list.id)[:2]
    page = client.get(f"/people/?list={mailing_list.id}")
    assert page.status_code == 200
    response = client.post(
        "/people/export/", data={"format": "json", "scope": "ticked", "id": [str(i) for i in ids]}
    )
    items = json.loads(response.get_data(as_text=True))
    assert [i["email"] for i in items] == ["e0@example.com", "e1@example.com"]
    assert items[0]["attributes"] == {"note": EVIL[0], "plan": "pro"}


# ------------------------------------------------------------------ roles


def test_a_viewer_can_search_and_export_but_change_nothing(client, db, as_role, crowd):
    as_role("viewer")
    news, target = crowd
    page = client.get("/people/?q=p&field=email").get_data(as_text=True)
    assert "p1@example.com" in page
    assert 'id="export-bulk"' in page and 'id="apply-bulk"' not in page
    assert client.get(f"/people/export/?list={news.id}").status_code == 200
    ids = [str(i) for i in _ids(db, news.id)]
    assert client.post("/people/export/", data={"id": ids, "scope": "ticked"}).status_code == 200
    refused = [
        client.post("/people/bulk", data={"kind": "delete", "id": ids, "scope": "ticked"}),
        client.post(f"/people/{ids[0]}", data={"first_name": "X", "op": "save"}),
        client.post(f"/people/{ids[0]}", data={"op": "add"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert len(_statuses(db, news.id)) == 6 and db.session.scalar(select(BulkAction)) is None


def test_people_pages_answer_in_french(client, db, as_role, crowd):
    as_role("marketer")
    news, _target = crowd
    fr = {"Accept-Language": "fr"}
    search = client.get("/people/?q=p1&field=email", headers=fr).get_data(as_text=True)
    assert "L’e-mail commence par" in search and "Avec ces personnes" in search
    kim = _ids(db, news.id)[0]
    error = client.post(
        f"/people/{kim}", data={"attr_name": [""], "attr_value": ["x"], "op": "save"}, headers=fr
    )
    assert error.status_code == 422 and "Donnez un nom à cette valeur." in error.text
    done = client.post(
        "/people/bulk",
        data={"kind": "unsubscribe", "id": [str(i) for i in _ids(db, news.id)[:2]]},
        headers=fr,
        follow_redirects=True,
    )
    assert "2 abonnements arrêtés." in done.get_data(as_text=True)


def test_a_segment_exports_only_its_people_from_its_page(client, db, as_role, crowd):
    as_role("viewer")
    news, _target = crowd
    segment = Segment(
        list_id=news.id,
        name="Unsubscribed",
        conditions=[{"field": "status", "op": "eq", "value": "unsubscribed", "attribute": ""}],
    )
    db.session.add(segment)
    db.session.commit()
    page = client.get(f"/lists/{news.id}/segments/").get_data(as_text=True)
    link = f"/people/export/?segment={segment.id}"
    assert f'href="{link}"' in page
    rows = list(csv.DictReader(io.StringIO(client.get(link).get_data(as_text=True))))
    assert [(r["email"], r["status"]) for r in rows] == [("p5@example.com", "unsubscribed")]

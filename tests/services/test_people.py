"""People across lists: search pages, a person's lists and activity timeline."""

from __future__ import annotations

from datetime import timedelta

from mailer.models import (
    Event,
    Link,
    MailingList,
    Message,
    Segment,
    Subscriber,
)
from mailer.models.base import utcnow
from mailer.models.campaigns import MessageLink
from mailer.services import people
from tests.factories import make_channel, make_list, make_sent_campaign


def _walk(search: people.Search, size: int, between=None) -> list[int]:
    """Every page of a search, calling ``between(page_number)`` after each page."""
    seen, cursor, n = [], None, 0
    while True:
        page = people.search_page(search, cursor, size=size)
        seen.extend(s.id for s, _name in page.rows)
        n += 1
        if between:
            between(n)
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


def _add(db, mailing_list: MailingList, emails: list[str], **fields) -> None:
    for email in emails:
        db.session.add(Subscriber(list_id=mailing_list.id, email=email, **fields))
    db.session.commit()


def test_an_email_prefix_search_pages_across_lists_without_repeating_or_skipping(db):
    one = make_list(db, "One", [f"ann{i:02}@example.com" for i in range(0, 30, 2)])
    two = make_list(db, "Two", [f"ann{i:02}@example.com" for i in range(0, 30, 3)])
    make_list(db, "Other", ["bob@example.com"])
    expected = set(
        db.session.scalars(db.select(Subscriber.id).where(Subscriber.email.like("ann%")))
    )
    added = []

    def add_rows(n):  # rows arriving while someone pages: before and after the cursor
        emails = [f"ann{n:02}x@example.com", f"zed{n}@example.com", f"aaa{n}@example.com"]
        _add(db, one if n % 2 else two, emails)
        added.extend(emails)

    seen = _walk(people.Search(q="ANN", field="email"), size=4, between=add_rows)

    assert len(seen) == len(set(seen)), "no row shown twice"
    assert expected <= set(seen), "no row present from the start skipped"
    rows = [db.session.get(Subscriber, i) for i in seen]
    keys = [(s.email, s.list_id) for s in rows]
    assert keys == sorted(keys), "in address order, then list"
    assert all(s.email.startswith("ann") for s in rows)
    assert {s.list_id for s in rows} == {one.id, two.id}


def test_name_and_attribute_searches_page_newest_first_while_rows_arrive(app, db):
    mailing_list = make_list(db, "Big", [])
    _add(db, mailing_list, [f"p{i}@example.com" for i in range(40)], first_name="Zoë")
    _add(db, mailing_list, [f"q{i}@example.com" for i in range(40)], first_name="Al")
    for sub in db.session.scalars(db.select(Subscriber).filter_by(first_name="Al")):
        sub.attributes = {"city": "Montréal" if sub.id % 2 else "Lyon"}
    db.session.commit()
    zoes = set(db.session.scalars(db.select(Subscriber.id).filter_by(first_name="Zoë")))

    def add_rows(n):
        _add(db, mailing_list, [f"late{n}@example.com"], first_name="Zoë")

    seen = _walk(people.Search(q="zoë", field="name"), size=7, between=add_rows)
    assert len(seen) == len(set(seen)) and zoes <= set(seen)
    assert seen == sorted(seen, reverse=True), "newest first"

    montreal = _walk(people.Search(q="montréal", field="attribute", attribute="city"), size=50)
    assert len(montreal) == 20
    anywhere = _walk(people.Search(q="MONTRÉAL", field="attribute"), size=50)
    assert set(anywhere) == set(montreal)


def test_a_scan_out_of_time_offers_to_keep_searching_from_where_it_stopped(app, db, monkeypatch):
    mailing_list = make_list(db, "Slow", [])
    _add(db, mailing_list, ["needle@example.com"], first_name="Needle")
    _add(db, mailing_list, [f"hay{i}@example.com" for i in range(200)], first_name="Hay")
    app.config["MAILER_SEARCH_BUDGET_MS"] = 0  # one step of the scan per page
    search = people.Search(q="needle", field="name")
    monkeypatch.setattr(people, "SCAN_STEP", 50)
    monkeypatch.setattr(people, "FIRST_STEP", 50)
    first = people.search_page(search)
    assert first.rows == [] and first.partial and first.next_cursor
    found = _walk(search, size=10)
    assert [db.session.get(Subscriber, i).email for i in found] == ["needle@example.com"]


def test_a_segment_search_finds_only_the_segment(db):
    mailing_list = make_list(db, "Seg", ["a@example.com", "b@example.com"])
    make_list(db, "Else", ["a@example.com"])
    segment = Segment(
        list_id=mailing_list.id,
        name="A",
        conditions=[{"field": "email", "op": "contains", "value": "a@", "attribute": ""}],
    )
    db.session.add(segment)
    db.session.commit()
    page = people.search_page(people.Search(segment_id=segment.id))
    assert [(s.email, name) for s, name in page.rows] == [("a@example.com", "Seg")]


def test_the_timeline_shows_every_kind_of_event_newest_first_in_pages(db):
    channel = make_channel(db, "sandbox")
    sent = make_sent_campaign(db, channel, ["kim@example.com", "lee@example.com"])
    send = sent.sends["kim@example.com"]
    link = Link(campaign_id=sent.campaign_id, url="https://shop.example/sale", url_hash="a" * 64)
    message_link = MessageLink(url="https://app.example/reset", url_hash="b" * 64)
    db.session.add_all([link, message_link])
    db.session.flush()
    start = utcnow() - timedelta(minutes=20)
    message = Message(
        to_email="kim@example.com", subject="Your receipt", status="sent", sent_at=start
    )
    db.session.add(message)
    db.session.flush()

    def event(minutes, kind, **fields):
        at = start + timedelta(minutes=minutes)
        db.session.add(Event(type=kind, occurred_at=at, **fields))

    event(1, "open", campaign_id=sent.campaign_id, send_id=send.id)
    event(2, "click", campaign_id=sent.campaign_id, send_id=send.id, link_id=link.id)
    event(3, "open", message_id=message.id)
    event(4, "click", message_id=message.id, link_id=message_link.id)
    event(5, "bounce", message_id=message.id, data={"bounce": "hard"})
    event(6, "complaint", campaign_id=sent.campaign_id, send_id=send.id)
    event(7, "unsubscribe", campaign_id=sent.campaign_id, send_id=send.id)
    event(8, "open", campaign_id=sent.campaign_id, send_id=sent.sends["lee@example.com"].id)
    db.session.commit()

    items, cursor = [], None
    while True:
        page = people.timeline("kim@example.com", cursor, size=3)
        items.extend(page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    kinds = [(i.kind, i.transactional) for i in items]
    assert kinds == [
        ("unsubscribe", False),
        ("complaint", False),
        ("bounce", True),
        ("click", True),
        ("open", True),
        ("click", False),
        ("open", False),
        ("sent", True),
        ("sent", False),
    ]
    clicks = {i.transactional: i.url for i in items if i.kind == "click"}
    assert clicks == {False: "https://shop.example/sale", True: "https://app.example/reset"}
    assert next(i for i in items if i.kind == "bounce").detail == "hard"
    assert {i.title for i in items if not i.transactional} == {"Spring sale"}
    assert {i.title for i in items if i.transactional} == {"Your receipt"}


def test_memberships_list_every_list_with_its_status(db):
    make_list(db, "News", ["kim@example.com"])
    make_list(db, "Offers", ["kim@example.com"], status="unsubscribed")
    make_list(db, "Other", ["lee@example.com"])
    found = [(m.list_name, m.status) for m in people.memberships("kim@example.com")]
    assert found == [("News", "subscribed"), ("Offers", "unsubscribed")]

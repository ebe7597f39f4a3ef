"""Typed attributes (numbers, dates, yes/no) and campaign activity in segments, on SQLite and
on MariaDB (MAILER_TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailer.lib.errors import ValidationError
from mailer.models import Send, Subscriber
from mailer.models.base import utcnow
from mailer.services import lists, segments
from tests.factories import make_campaign, make_list


def days_ago(n: int) -> str:
    return (utcnow().date() - timedelta(days=n)).isoformat()


@pytest.fixture
def people(db):
    """Attributes as a typed import stores them: JSON numbers, "YYYY-MM-DD", true/false."""
    mailing_list = lists.create_list("People")
    rows = {
        "ann": {"score": 12.5, "joined": days_ago(3), "client": True},
        "bob": {"score": 40, "joined": days_ago(45), "client": False},
        "cy": {"score": "7", "joined": "2023-06-01T10:00:00", "client": True},  # untyped CSV
        "dee": {"plan": "free"},
    }
    created = {"ann": 40, "bob": 20, "cy": 10, "dee": 100}  # days ago
    for name, attributes in rows.items():
        db.session.add(
            Subscriber(
                list_id=mailing_list.id,
                email=f"{name}@example.com",
                attributes=attributes,
                created_at=utcnow() - timedelta(days=created[name]),
            )
        )
    db.session.commit()
    return mailing_list


def matching(db, mailing_list, *conditions, match="all"):
    cleaned = segments.validate(list(conditions), match)
    rows = db.session.scalars(
        db.select(Subscriber.email).where(
            Subscriber.list_id == mailing_list.id,
            segments.expression(cleaned, match, mailing_list.id),
        )
    )
    return sorted(e.split("@")[0] for e in rows)


def attr(name, op, value="", value2=""):
    return {"field": "attribute", "attribute": name, "op": op, "value": value, "value2": value2}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("score", "gt", "10"), ["ann", "bob"]),
        (attr("score", "lt", "10"), ["cy"]),
        (attr("score", "between", "7", "13"), ["ann", "cy"]),
        (attr("score", "between", "13", "7"), ["ann", "cy"]),  # either order
        (attr("joined", "in_last_days", "30"), ["ann"]),
        (attr("joined", "in_last_days", "60"), ["ann", "bob"]),
        (attr("joined", "date_before", "2024-01-01"), ["cy"]),  # a date-time's date
        (attr("joined", "date_after", days_ago(10)), ["ann"]),
        (attr("client", "is_yes"), ["ann", "cy"]),
        (attr("client", "is_no"), ["bob"]),
        ({"field": "created_at", "op": "in_last_days", "value": "25"}, ["bob", "cy"]),
        ({"field": "created_at", "op": "since", "value": days_ago(45)}, ["ann", "bob", "cy"]),
    ],
)
def test_typed_attribute_conditions(db, people, condition, expected):
    assert matching(db, people, condition) == expected


def test_typed_conditions_explain_bad_values(db):
    with pytest.raises(ValidationError) as err:
        segments.validate(
            [
                attr("score", "between", "1", "lots"),
                attr("joined", "in_last_days", "a month"),
                attr("joined", "date_after", "31/12/2024"),
                {"field": "engagement", "op": "opened", "value": "0"},
            ]
        )
    errors = err.value.errors
    assert errors["conditions.0.value2"] == "Enter a number."
    assert errors["conditions.1.value"] == "Enter a whole number from 1 to 36500."
    assert errors["conditions.2.value"] == "Enter a date as YYYY-MM-DD."
    assert errors["conditions.3.value"] == "Enter a whole number from 1 to 100."


def _campaign(db, mailing_list, days, sends):
    """A launched campaign to the list: {email: ("opened"|"clicked"|"bounced"|None)}."""
    campaign = make_campaign(db, [mailing_list], [], status="completed")
    campaign.started_at = utcnow() - timedelta(days=days)
    campaign.materialised_at = campaign.started_at
    members = {
        s.email: s
        for s in db.session.scalars(db.select(Subscriber).filter_by(list_id=mailing_list.id))
    }
    for email, what in sends.items():
        send = Send(
            campaign_id=campaign.id,
            subscriber_id=members[email].id,
            email=email,
            status="sent",
            sent_at=campaign.started_at,
        )
        if what in ("opened", "clicked"):
            send.opened_at = campaign.started_at
        if what == "clicked":
            send.clicked_at = campaign.started_at
        if what == "bounced":
            send.status, send.bounced_at = "failed", campaign.started_at
        db.session.add(send)
    db.session.commit()
    return campaign


def test_engagement_in_the_last_campaigns(db):
    emails = [f"{n}@example.com" for n in ("ann", "bob", "cy", "dee", "eve")]
    news = make_list(db, "News", emails)
    _campaign(db, news, 30, {"ann@example.com": "opened", "bob@example.com": "clicked"})
    _campaign(db, news, 20, {"ann@example.com": None, "cy@example.com": "opened"})
    _campaign(db, news, 10, {e: None for e in emails[:3]} | {"dee@example.com": "bounced"})
    # A campaign to another list, and one still being written, count for nobody here.
    other = make_list(db, "Other", ["ann@example.com"])
    _campaign(db, other, 1, {"ann@example.com": "opened"})
    unfinished = _campaign(db, news, 0, {"eve@example.com": "opened"})
    unfinished.materialised_at = None
    db.session.commit()

    def who(op, n):
        return matching(db, news, {"field": "engagement", "op": op, "value": str(n)})

    assert who("opened", 3) == ["ann", "bob", "cy"]
    assert who("opened", 2) == ["cy"]
    assert who("clicked", 3) == ["bob"]
    assert who("not_opened", 1) == ["ann", "bob", "cy"]  # received the last one, opened none
    assert who("not_opened", 2) == ["ann", "bob"]
    assert who("not_opened", 3) == []
    assert who("bounced", 1) == ["dee"]
    segment = segments.save(
        news, "Sleepers", [{"field": "engagement", "op": "not_opened", "value": "2"}], "all"
    )
    assert segments.count(news.id, segment.conditions)["total"] == 2
    assert len(segments.matching_ids(segment)) == 2
    empty = lists.create_list("Nobody mailed yet")
    assert segments.count(empty.id, segment.conditions)["total"] == 0

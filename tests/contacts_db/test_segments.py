"""Segment conditions select the right subscribers, on SQLite and on MariaDB."""

from __future__ import annotations

from datetime import datetime

import pytest

from mailer.models import Subscriber
from mailer.services import lists, segments
from mailer.services.errors import ValidationError


@pytest.fixture
def people(db):
    mailing_list = lists.create_list("People")
    rows = [
        ("ann@example.com", "subscribed", {"city": "Paris", "age": 31, "vip": True}, "2025-01-10"),
        (
            "bob@example.com",
            "subscribed",
            {"city": "Oslo", "age": "45", "plan": "pro"},
            "2025-03-01",
        ),
        ("cy@example.com", "unsubscribed", {"city": "paris", "age": 19}, "2025-06-15"),
        ("dee@example.com", "bounced", {"plan": "free"}, "2026-01-01"),
    ]
    for email, status, attributes, created in rows:
        db.session.add(
            Subscriber(
                list_id=mailing_list.id,
                email=email,
                status=status,
                attributes=attributes,
                first_name=email[0].upper(),
                created_at=datetime.fromisoformat(created),
            )
        )
    db.session.commit()
    return mailing_list


def emails(db, mailing_list, conditions, match="all"):
    conditions = segments.validate(conditions, match)
    rows = db.session.scalars(
        db.select(Subscriber.email).where(
            Subscriber.list_id == mailing_list.id, segments.expression(conditions, match)
        )
    )
    return sorted(e.split("@")[0] for e in rows)


def attr(name, op, value=""):
    return {"field": "attribute", "attribute": name, "op": op, "value": value}


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([{"field": "status", "op": "eq", "value": "subscribed"}], ["ann", "bob"]),
        ([{"field": "status", "op": "ne", "value": "subscribed"}], ["cy", "dee"]),
        ([attr("city", "eq", "Paris")], ["ann"]),
        ([attr("city", "ne", "Paris")], ["bob", "cy", "dee"]),
        ([attr("city", "contains", "PAR")], ["ann", "cy"]),
        ([attr("plan", "in", "pro, free")], ["bob", "dee"]),
        ([attr("age", "gt", "30")], ["ann", "bob"]),  # a JSON number and a CSV string
        ([attr("age", "lt", "30")], ["cy"]),
        ([attr("age", "eq", "45")], ["bob"]),
        ([attr("age", "eq", "31")], ["ann"]),
        ([attr("vip", "eq", "true")], ["ann"]),
        ([attr("plan", "exists")], ["bob", "dee"]),
        ([attr("plan", "not_exists")], ["ann", "cy"]),
        ([{"field": "created_at", "op": "before", "value": "2025-03-01"}], ["ann"]),
        ([{"field": "created_at", "op": "after", "value": "2025-03-01"}], ["cy", "dee"]),
        ([{"field": "email", "op": "contains", "value": "BO"}], ["bob"]),
        ([{"field": "first_name", "op": "eq", "value": "D"}], ["dee"]),
    ],
)
def test_each_condition(db, people, conditions, expected):
    assert emails(db, people, conditions) == expected


def test_and_or_combinations(db, people):
    both = [
        attr("city", "contains", "paris"),
        {"field": "status", "op": "eq", "value": "subscribed"},
    ]
    assert emails(db, people, both, "all") == ["ann"]
    assert emails(db, people, both, "any") == ["ann", "bob", "cy"]


def test_attribute_names_are_bound_not_spliced_into_sql(db, people):
    hostile = attr("x') OR 1=1 --", "exists")
    assert emails(db, people, [hostile]) == []


def test_invalid_conditions_are_explained_per_row(db, people):
    with pytest.raises(ValidationError) as err:
        segments.validate(
            [
                attr("", "eq", "x"),
                attr("age", "gt", "many"),
                {"field": "created_at", "op": "before", "value": "yesterday"},
                {"field": "status", "op": "contains", "value": "x"},
            ]
        )
    errors = err.value.errors
    assert errors["conditions.0.attribute"] == "Name the attribute."
    assert errors["conditions.1.value"] == "Enter a number."
    assert "YYYY-MM-DD" in errors["conditions.2.value"]
    assert "does not apply" in errors["conditions.3.op"]


def test_segment_editor_saves_and_counts_live(client, db, people, as_role):
    as_role("marketer")
    query = {
        "match": "all",
        "field": "attribute",
        "attribute": "city",
        "op": "contains",
        "value": "paris",
    }
    live = client.get(
        f"/lists/{people.id}/segments/count", query_string=query, headers={"HX-Request": "true"}
    )
    assert "<strong>1</strong> subscribed (2 in all) match" in live.get_data(as_text=True)
    saved = client.post(f"/lists/{people.id}/segments/", data={"name": "Parisians", **query})
    assert saved.status_code == 302
    page = client.get(f"/lists/{people.id}/segments/").get_data(as_text=True)
    assert "Parisians" in page
    invalid = client.post(f"/lists/{people.id}/segments/", data={**query, "name": "", "value": ""})
    assert invalid.status_code == 422
    body = invalid.get_data(as_text=True)
    assert "Give the segment a name." in body and "Enter a value." in body

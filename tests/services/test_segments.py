"""Segment conditions select the right subscribers, on SQLite and on MariaDB."""

from __future__ import annotations

from datetime import datetime

import pytest

from mailer.lib.errors import ValidationError
from mailer.models import Segment, Subscriber
from mailer.services import lists, segments


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
    assert "<strong>1</strong> subscribed person matches (2 in all)." in live.get_data(as_text=True)
    saved = client.post(f"/lists/{people.id}/segments/", data={"name": "Parisians", **query})
    assert saved.status_code == 302
    page = client.get(f"/lists/{people.id}/segments/").get_data(as_text=True)
    assert "Parisians" in page
    invalid = client.post(f"/lists/{people.id}/segments/", data={**query, "name": "", "value": ""})
    assert invalid.status_code == 422
    body = invalid.get_data(as_text=True)
    assert "Give the segment a name." in body and "Enter a value." in body


QUOTED = 'city" || "x'


def test_an_attribute_name_with_a_quote_is_refused_next_to_its_field(client, db, people, as_role):
    as_role("marketer")
    form = {"match": "all", "field": "attribute", "attribute": QUOTED, "op": "exists"}
    live = client.get(
        f"/lists/{people.id}/segments/count", query_string=form, headers={"HX-Request": "true"}
    )
    assert live.status_code == 200
    assert "Complete the conditions" in live.get_data(as_text=True)
    saved = client.post(f"/lists/{people.id}/segments/", data={"name": "Quoted", **form})
    assert saved.status_code == 422
    body = saved.get_data(as_text=True)
    attribute_input = body.index('name="attribute"')
    error = body.index('id="conditions.0.attribute-error"')
    assert attribute_input < error < body.index('name="op"')  # right after the field
    assert "cannot be used" in body[error : body.index("</small>", error)]
    assert "without quotes (&#34;), backslashes" in body
    assert db.session.scalar(db.select(db.func.count()).select_from(Segment)) == 0
    assert client.get(f"/lists/{people.id}/segments/").status_code == 200


@pytest.mark.parametrize("name", [QUOTED, "back\\slash", "tab\there", "x" * 101])
def test_names_that_would_break_the_json_path_are_invalid(name):
    with pytest.raises(ValidationError) as err:
        segments.validate([attr(name, "exists")])
    assert "cannot be used" in err.value.errors["conditions.0.attribute"]


def test_a_segment_saved_with_a_quoted_name_before_the_check_matches_nobody(
    client, db, people, as_role
):
    """Rows written before names were checked: the segment pages and the audience query must
    not fail on them, and such a condition selects no one rather than everyone."""
    segment = Segment(
        list_id=people.id, name="Old", conditions=[attr(QUOTED, "not_exists")], match="all"
    )
    db.session.add(segment)
    db.session.commit()
    assert segments.matching_ids(segment) == []
    as_role("viewer")
    assert client.get(f"/lists/{people.id}/segments/").status_code == 200
    assert client.get(f"/lists/{people.id}/segments/{segment.id}").status_code == 200


def test_names_with_dots_spaces_and_apostrophes_still_select(db, people):
    ann = db.session.scalar(db.select(Subscriber).filter_by(email="ann@example.com"))
    ann.attributes = {**ann.attributes, "home town": "Rhône", "a.b": "1", "it's": "yes"}
    db.session.commit()
    assert emails(db, people, [attr("home town", "contains", "rhône")]) == ["ann"]
    assert emails(db, people, [attr("a.b", "eq", "1")]) == ["ann"]
    assert emails(db, people, [attr("it's", "not_exists")]) == ["bob", "cy", "dee"]

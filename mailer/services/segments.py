"""Segments: saved conditions on a list, compiled to SQLAlchemy expressions.

A condition is a small dict checked against fixed vocabularies; values only ever become bound
parameters (attribute names too: SQLAlchemy binds the JSON path ``$."name"``), so user input
never becomes SQL. A name that would break that path (a quote, a backslash, a control
character: SQLite's paths have no escapes) is refused when a segment is saved. The same
expressions run on SQLite (json_extract) and MySQL/MariaDB (JSON_EXTRACT + JSON_UNQUOTE), with
numbers compared as numbers whether they were stored as JSON numbers (JSON imports) or as
strings (CSV imports). Typed dates are "YYYY-MM-DD" text (engine/imports/values.py), compared
as text. Engagement conditions look at the sends of the list's last N launched campaigns
(their ids are read first, so the query stays an EXISTS on the sends' unique index).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, and_, cast, exists, false, func, not_, or_, select, true
from sqlalchemy.sql import ColumnElement

from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import (
    Campaign,
    CampaignAudience,
    MailingList,
    Segment,
    Send,
    Subscriber,
    SubscriberStatus,
)
from mailer.models.base import utcnow

TEXT_FIELDS = {
    "email": Subscriber.email,
    "first_name": Subscriber.first_name,
    "last_name": Subscriber.last_name,
    "name": Subscriber.name,
}
OPS = {
    "status": ("eq", "ne"),
    "text": ("eq", "ne", "contains"),
    "created_at": ("before", "after", "since", "in_last_days"),
    "attribute": (
        "eq",
        "ne",
        "contains",
        "in",
        "gt",
        "lt",
        "between",
        "date_before",
        "date_after",
        "in_last_days",
        "is_yes",
        "is_no",
        "exists",
        "not_exists",
    ),
    "engagement": ("opened", "clicked", "not_opened", "bounced"),
}
#: Ops whose value is a whole number (days or campaigns), and how large it may be.
COUNTED = {"in_last_days": 36_500, "opened": 100, "clicked": 100, "not_opened": 100, "bounced": 100}
#: Ops that take no value.
VALUELESS = {"exists", "not_exists", "is_yes", "is_no"}
OP_LABELS = {
    "eq": _l("equals"),
    "ne": _l("does not equal"),
    "contains": _l("contains"),
    "in": _l("is one of"),
    "gt": _l("is greater than"),
    "lt": _l("is less than"),
    "exists": _l("is set"),
    "not_exists": _l("is not set"),
    "before": _l("before"),
    "after": _l("after"),
    "between": _l("is a number between"),
    "date_before": _l("is a date before"),
    "date_after": _l("is a date after"),
    "since": _l("on or after"),
    "in_last_days": _l("in the last … days"),
    "is_yes": _l("is yes"),
    "is_no": _l("is no"),
    "opened": _l("opened one of the last … campaigns"),
    "clicked": _l("clicked in one of the last … campaigns"),
    "not_opened": _l("opened none of the last … campaigns"),
    "bounced": _l("bounced in one of the last … campaigns"),
}
FIELD_LABELS = {
    "status": _l("Status"),
    "email": _l("Email"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "name": _l("Name"),
    "created_at": _l("Subscription date"),
    "attribute": _l("Attribute"),
    "engagement": _l("Campaign activity"),
}
ATTRIBUTE_MAX = 100
_ATTRIBUTE_NAME = re.compile(rf'[^"\\\x00-\x1f\x7f]{{1,{ATTRIBUTE_MAX}}}')
ATTRIBUTE_RULE = _l(
    'Use at most %(n)s characters, without quotes ("), backslashes (\\) or control characters.',
    n=ATTRIBUTE_MAX,
)


def _kind(field: str) -> str:
    return "text" if field in TEXT_FIELDS else field


def validate(conditions: list[dict], match: str = "all") -> list[dict]:
    """Return cleaned conditions or raise ValidationError keyed "conditions.N.part"."""
    errors: dict[str, str] = {}
    if match not in ("all", "any"):
        errors["match"] = _("Choose all or any.")
    cleaned = []
    for i, raw in enumerate(conditions):
        field = str(raw.get("field") or "")
        op = str(raw.get("op") or "")
        value = raw.get("value")
        value = "" if value is None else value
        value2 = str(raw.get("value2") or "").strip()
        attribute = str(raw.get("attribute") or "").strip()
        key = f"conditions.{i}"
        if field not in FIELD_LABELS:
            errors[f"{key}.field"] = _("Choose a field.")
            continue
        if op not in OPS[_kind(field)]:
            errors[f"{key}.op"] = _(
                "“%(op)s” does not apply to this field.", op=OP_LABELS.get(op, op)
            )
            continue
        if field == "attribute" and not attribute:
            errors[f"{key}.attribute"] = _("Name the attribute.")
        elif field == "attribute" and not _ATTRIBUTE_NAME.fullmatch(attribute):
            errors[f"{key}.attribute"] = _(
                "This attribute name cannot be used. %(rule)s", rule=ATTRIBUTE_RULE
            )
        if field == "status" and value not in {s.value for s in SubscriberStatus}:
            errors[f"{key}.value"] = _("Choose a status.")
        if op in ("before", "after", "since", "date_before", "date_after"):
            try:
                date.fromisoformat(str(value).strip())
            except ValueError:
                errors[f"{key}.value"] = _("Enter a date as YYYY-MM-DD.")
        if op in ("gt", "lt", "between"):
            try:
                float(value)
            except (TypeError, ValueError):
                errors[f"{key}.value"] = _("Enter a number.")
        if op == "between":
            if _number(value2) is None:
                errors[f"{key}.value2"] = _("Enter a number.")
        else:
            value2 = ""
        if op in COUNTED:
            number = str(value).strip()
            if not number.isdigit() or not 1 <= int(number) <= COUNTED[op]:
                errors[f"{key}.value"] = _(
                    "Enter a whole number from 1 to %(max)s.", max=COUNTED[op]
                )
        if op in VALUELESS:
            value = ""
        if op in ("eq", "ne", "contains", "in") and str(value).strip() == "" and field != "status":
            errors[f"{key}.value"] = _("Enter a value.")
        row = {"field": field, "op": op, "value": str(value).strip(), "attribute": attribute}
        if value2:
            row["value2"] = value2
        cleaned.append(row)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _condition(c: dict, list_id: int | None = None) -> ColumnElement:
    field, op, value = c["field"], c["op"], c["value"]
    if field == "status":
        return Subscriber.status == value if op == "eq" else Subscriber.status != value
    if field == "engagement":
        return _engagement(op, int(value), list_id)
    if field == "created_at":
        if op == "in_last_days":
            return Subscriber.created_at >= utcnow() - timedelta(days=int(value))
        day = datetime.combine(date.fromisoformat(value), datetime.min.time())
        if op == "before":
            return Subscriber.created_at < day
        if op == "since":
            return Subscriber.created_at >= day
        return Subscriber.created_at >= day + timedelta(days=1)
    if field in TEXT_FIELDS:
        column = TEXT_FIELDS[field]
        return _compare(column, op, value)
    if not _ATTRIBUTE_NAME.fullmatch(c["attribute"]):
        return false()  # saved before names were checked: it can address no value
    text = Subscriber.attributes[c["attribute"]].as_string()
    if op == "exists":
        return text.is_not(None)
    if op == "not_exists":
        return text.is_(None)
    if op in ("gt", "lt"):
        number = cast(text, Float)
        return and_(
            text.is_not(None), number > float(value) if op == "gt" else number < float(value)
        )
    if op == "between":
        low, high = sorted((float(value), float(c.get("value2") or value)))
        return and_(text.is_not(None), cast(text, Float).between(low, high))
    if op in ("is_yes", "is_no"):
        return text.in_(["true", "1"] if op == "is_yes" else ["false", "0"])
    if op in ("date_before", "date_after", "in_last_days"):
        day = func.substr(text, 1, 10)  # a date-time's date
        if op == "date_before":
            return and_(text.is_not(None), day < value)
        if op == "date_after":
            return and_(text.is_not(None), day > value)
        today = utcnow().date()
        start = (today - timedelta(days=int(value))).isoformat()
        return and_(text.is_not(None), day >= start, day <= today.isoformat())
    return _compare(text, op, value, numeric=True)


def last_campaigns(list_id: int | None, n: int) -> list[int]:
    """Ids of the last ``n`` campaigns launched to the list (every send written), newest
    first; any list's when ``list_id`` is None."""
    query = select(Campaign.id).where(Campaign.materialised_at.is_not(None))
    if list_id is not None:
        reached = select(CampaignAudience.campaign_id).where(CampaignAudience.list_id == list_id)
        query = query.where(Campaign.id.in_(reached))
    query = query.order_by(Campaign.started_at.desc(), Campaign.id.desc()).limit(n)
    return list(db.session.scalars(query))


def _engagement(op: str, n: int, list_id: int | None) -> ColumnElement:
    ids = last_campaigns(list_id, n)
    if not ids:
        return false()  # no campaign yet: nobody opened, clicked, bounced or ignored one

    def sent(*more) -> ColumnElement:
        return exists(
            select(Send.id).where(
                Send.campaign_id.in_(ids), Send.subscriber_id == Subscriber.id, *more
            )
        )

    if op == "opened":
        return sent(Send.opened_at.is_not(None))
    if op == "clicked":
        return sent(Send.clicked_at.is_not(None))
    if op == "bounced":
        return sent(Send.bounced_at.is_not(None))
    # not_opened: got at least one of them (sent, not bounced) and opened none
    received = sent(Send.sent_at.is_not(None), Send.bounced_at.is_(None))
    return and_(received, not_(sent(Send.opened_at.is_not(None))))


def _compare(column, op: str, value: str, numeric: bool = False) -> ColumnElement:
    if op == "contains":
        return func.lower(column).contains(value.lower(), autoescape=True)
    if op == "in":
        values = [v.strip() for v in value.split(",") if v.strip()]
        return column.in_(values)
    equal = column == value
    if numeric:
        lowered = value.lower()
        if lowered in ("true", "false"):  # JSON booleans read back as true/1 or false/0
            equal = column.in_(["true", "1"] if lowered == "true" else ["false", "0"])
        elif (number := _number(value)) is not None:
            equal = or_(equal, and_(column.is_not(None), cast(column, Float) == number))
    if op == "eq":
        return equal
    return or_(column.is_(None), not_(equal))


def expression(
    conditions: list[dict], match: str = "all", list_id: int | None = None
) -> ColumnElement:
    """The WHERE clause of a segment (on top of the list filter); ``list_id`` scopes the
    engagement conditions to the campaigns sent to that list."""
    parts = [_condition(c, list_id) for c in conditions]
    if not parts:
        return true()
    return and_(*parts) if match == "all" else or_(*parts)


def count(list_id: int, conditions: list[dict], match: str = "all") -> dict[str, int]:
    base = (
        select(func.count())
        .select_from(Subscriber)
        .where(Subscriber.list_id == list_id, expression(conditions, match, list_id))
    )
    total = db.session.scalar(base) or 0
    subscribed = db.session.scalar(base.where(Subscriber.status == "subscribed")) or 0
    return {"total": total, "subscribed": subscribed}


def matching_ids(segment: Segment) -> list[int]:
    """Subscriber ids of a segment (tests and small lists; campaigns use expression())."""
    return list(
        db.session.scalars(
            select(Subscriber.id)
            .where(
                Subscriber.list_id == segment.list_id,
                expression(segment.conditions, segment.match, segment.list_id),
            )
            .order_by(Subscriber.id)
        )
    )


def save(
    mailing_list: MailingList,
    name: str,
    conditions: list[dict],
    match: str,
    segment: Segment | None = None,
) -> Segment:
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("Give the segment a name.")
    clash = db.session.scalar(select(Segment).filter_by(list_id=mailing_list.id, name=name))
    if clash is not None and clash is not segment:
        errors["name"] = _("This list already has a segment with that name.")
    try:
        conditions = validate(conditions, match)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    segment = segment or Segment(list_id=mailing_list.id)
    segment.name, segment.conditions, segment.match = name, conditions, match
    db.session.add(segment)
    db.session.commit()
    return segment


def conditions_from_form(form) -> list[dict]:
    """Rows of the segment editor: parallel field/op/value/value2/attribute inputs."""
    fields = form.getlist("field")
    ops = form.getlist("op")
    values = form.getlist("value")
    values2 = form.getlist("value2")
    attributes = form.getlist("attribute")
    rows = []
    for i, field in enumerate(fields):
        rows.append(
            {
                "field": field,
                "op": ops[i] if i < len(ops) else "",
                "value": values[i] if i < len(values) else "",
                "value2": values2[i] if i < len(values2) else "",
                "attribute": attributes[i] if i < len(attributes) else "",
            }
        )
    return rows

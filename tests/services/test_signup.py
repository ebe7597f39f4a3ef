"""Purging people who never confirmed, and each list's own confirmation email."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailer.lib.errors import ValidationError
from mailer.models import Consent, Subscriber
from mailer.models.base import utcnow
from mailer.queue import TICKS, TRANSACTIONAL, enqueue
from mailer.services import signup
from tests.fixtures.app import work
from tests.fixtures.signup import outbox, post_data


def _person(db, list_id, email, status, days_ago):
    row = Subscriber(
        list_id=list_id, email=email, status=status, created_at=utcnow() - timedelta(days=days_ago)
    )
    db.session.add(row)
    db.session.flush()
    db.session.add(Consent(subscriber_id=row.id, source="form", requested_at=row.created_at))
    db.session.commit()
    return row.id


def test_the_daily_tick_purges_old_unconfirmed_people_only(app, db, signup_setup):
    list_id = signup_setup.mailing_list.id
    old = _person(db, list_id, "old@example.com", "unconfirmed", 8)
    recent = _person(db, list_id, "recent@example.com", "unconfirmed", 2)
    member = _person(db, list_id, "member@example.com", "subscribed", 30)
    enqueue(TICKS, "jobs.ticks.purge_unconfirmed")  # as rq-scheduler runs it
    work(app, TICKS)
    db.session.commit()
    left = set(db.session.scalars(db.select(Subscriber.id)))
    assert left == {recent, member}
    assert db.session.scalar(db.select(Consent).filter_by(subscriber_id=old)) is None
    # the member's stale, never-confirmed request goes; the member stays subscribed
    assert db.session.scalar(db.select(Consent).filter_by(subscriber_id=member)) is None
    assert db.session.get(Subscriber, member).status == "subscribed"


def test_a_lists_own_confirmation_email_is_sent(app, db, client, signup_setup):
    signup.save_confirmation_settings(
        signup_setup.mailing_list.id,
        {
            "double_opt_in": "1",
            "channel_id": str(signup_setup.channel.id),
            "identity_id": str(signup_setup.identity.id),
            "subject": "Confirm, {{ name }}",
            "html": '<p>Hi {{ name }}, <a href="{{ confirm_url }}">click</a> for {{ lists }}</p>',
        },
    )
    client.post(signup_setup.url, data=post_data(signup_setup.form))
    work(app, TRANSACTIONAL)
    [message] = outbox(db, "ana@example.com")
    assert message.subject == "Confirm, Ana"
    assert "for Our newsletter" in message.raw and "news@shop.example" in message.raw


def test_the_default_confirmation_email_speaks_french(app, db, client, signup_setup):
    client.post(
        signup_setup.url, data=post_data(signup_setup.form), headers={"Accept-Language": "fr"}
    )
    work(app, TRANSACTIONAL)
    [message] = outbox(db, "ana@example.com")
    assert message.subject == "Merci de confirmer votre inscription"


@pytest.mark.parametrize(
    ("field", "value"),
    [("html", "<p>No link here</p>"), ("html", "<p>{{ confirm_url }</p>"), ("channel_id", "999")],
)
def test_confirmation_settings_are_checked(db, signup_setup, field, value):
    with pytest.raises(ValidationError) as caught:
        signup.save_confirmation_settings(signup_setup.mailing_list.id, {field: value})
    assert field in caught.value.errors

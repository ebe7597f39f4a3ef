"""Retention of transactional click links: a link still written into new mail is kept, one
unused for longer than MAILER_RETENTION_MESSAGE_LINKS_DAYS is pruned, and a message's body is
emptied once older than MAILER_RETENTION_MESSAGE_BODIES_DAYS."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app

from mailer.campaigns import retention
from mailer.models.base import utcnow
from mailer.models.campaigns import Message, MessageLink
from tests.fixtures.api import BROWSER, run, send

pytestmark = pytest.mark.usefixtures("quick_drain")

SHOP, OLD = "https://shop.example.com/item", "https://old.example.com/gone"


def html(*urls: str) -> str:
    links = "".join(f'<p><a href="{u}">x</a></p>' for u in urls)
    return f"<html><body>{links}</body></html>"


def click_path(brevo, n: int) -> str:
    return re.findall(r'href="http://[^"/]+(/t/c/[^"]+)"', brevo.requests[n].json["htmlContent"])[0]


def test_links_in_use_are_kept_and_links_unused_for_long_are_pruned(
    app, db, client, api, brevo, channel
):
    app.config["MAILER_RETENTION_MESSAGE_LINKS_DAYS"] = 90
    first = send(api, html=html(SHOP, OLD))
    run(app, db)
    used = dict(db.session.execute(db.select(MessageLink.url, MessageLink.used_at)).all())
    assert set(used) == {SHOP, OLD} and all(
        utcnow() - t < timedelta(minutes=5) for t in used.values()
    )

    # 100 days later: the worker's link cache (kept for a day) is new, the shop link is sent again.
    db.session.execute(db.update(MessageLink).values(used_at=utcnow() - timedelta(days=100)))
    db.session.execute(
        db.update(Message).values(sent_at=utcnow() - timedelta(days=100)).filter_by(id=first)
    )
    db.session.commit()
    current_app.extensions["mailer_message_links"].day -= timedelta(days=100)
    send(api, html=html(SHOP))
    run(app, db)

    pruned = retention.prune()
    assert pruned.message_links == 1
    db.session.commit()
    assert list(db.session.scalars(db.select(MessageLink.url))) == [SHOP]
    shop_in_first_mail = client.get(click_path(brevo, 0), headers={"User-Agent": BROWSER})
    assert shop_in_first_mail.status_code == 302
    assert shop_in_first_mail.headers["Location"] == SHOP


def test_old_message_bodies_are_emptied_and_recent_ones_kept(app, db, api, brevo, channel):
    app.config["MAILER_RETENTION_MESSAGE_BODIES_DAYS"] = 30
    old, recent = send(api, html=html(SHOP)), send(api, html=html(SHOP))
    run(app, db)
    db.session.execute(
        db.update(Message).values(created_at=utcnow() - timedelta(days=31)).filter_by(id=old)
    )
    db.session.commit()
    assert retention.prune().message_bodies == 1
    db.session.commit()  # end the read snapshot (MariaDB): see what the job committed
    assert db.session.get(Message, old).payload == {}
    assert db.session.get(Message, old).status == "sent", "the message's record stays"
    assert "html" in db.session.get(Message, recent).payload
    assert retention.prune().message_bodies == 0, "the next night starts after the last one"

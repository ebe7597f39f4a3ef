"""GDPR for one address: the export holds every kind of record; after an erasure no text
column of any table and no stored payload holds the address, campaign figures are unchanged,
and a re-import or an API add refuses it (unless the setting is off)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from mailer.campaigns import stats
from mailer.engine.imports import importer
from mailer.engine.transactional import accept as transactional
from mailer.lib import erased
from mailer.lib.errors import ValidationError
from mailer.models import (
    Consent,
    ConsentSource,
    Erasure,
    Link,
    OutboxMessage,
    Subscriber,
    WebhookDelivery,
    WebhookEndpoint,
)
from mailer.models.base import utcnow
from mailer.services import lists as lists_service
from mailer.services import privacy, signup
from tests.factories import make_list, make_sent_campaign, make_user
from tests.fixtures.feedback import drain, url

ANN = "ann.lee@example.com"
BOB = "bob@example.com"
HEADERS = {"Authorization": "Bearer brevo-token", "Content-Type": "application/json"}


def _brevo(sent, email: str, name: str, ms: int, **extra) -> dict:
    return {
        "event": name,
        "email": email,
        "id": 1,
        "date": "2026-05-01 12:00:00",
        "message-id": sent.pmid(email),
        "subject": "Hi",
        "X-Mailin-custom": json.dumps({"token": sent.token(email)}),
        "ts_epoch": 1_777_000_000_000 + ms,
        "tags": [],
        **extra,
    }


@pytest.fixture
def footprint(app, db, client, channels):
    """Ann and Bob got a campaign; providers reported opens, clicks, a bounce and a complaint
    about Ann (raw payloads stored); Ann got a transactional message, an outbound webhook
    named her, the sandbox kept a copy, and a personalised link names her."""
    channel = channels["brevo"]
    sent = make_sent_campaign(db, channel, [ANN, BOB])
    make_list(db, "Second list", [ANN], last_name="Lee", attributes={"city": "Porto"})
    [outcome] = transactional.accept(
        [{"to": ANN, "subject": f"Receipt for {ANN}", "html": f"<p>Hi {ANN}</p>"}], None
    )
    assert outcome.queued
    for n, (name, extra) in enumerate(
        [
            ("delivered", {}),
            ("unique_opened", {}),
            ("click", {"link": f"https://shop.example.com/?who={quote(ANN)}"}),
            ("soft_bounce", {"reason": f"452 <{ANN}>: mailbox full"}),
            ("spam", {}),
        ]
    ):
        for email in (ANN, BOB):
            body = json.dumps(_brevo(sent, email, name, n, **extra))
            assert client.post(url(channel), data=body, headers=HEADERS).status_code == 200
    drain(app, db)
    endpoint = WebhookEndpoint(url="https://app.example.com/hook", secret_encrypted="x")
    db.session.add(endpoint)
    db.session.flush()
    db.session.add_all(
        [
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id="ev1",
                event_type="open",
                payload={"type": "open", "data": {"email": ANN}},
                expires_at=utcnow() + timedelta(days=1),
            ),
            OutboxMessage(to_email=ANN, subject="Hi", message_id="<m1>", raw=f"To: {ANN}\r\n"),
            Link(
                campaign_id=sent.campaign_id,
                url=f"https://shop.example.com/?who={ANN}",
                url_hash="0" * 64,
            ),
        ]
    )
    db.session.commit()
    return sent


def test_the_export_holds_every_kind_of_record(db, footprint):
    data = privacy.export(ANN)
    assert data["email"] == ANN
    for kind in (
        "subscriptions",
        "suppressions",
        "sends",
        "opens",
        "clicks",
        "bounces",
        "complaints",
        "transactional_messages",
        "provider_payloads",
        "webhook_deliveries",
        "sandbox_outbox",
    ):
        assert data[kind], f"no {kind} in the export"
    assert {s["list"] for s in data["subscriptions"]} >= {"Second list"}
    assert {s["attributes"].get("city") for s in data["subscriptions"]} >= {"Porto"}
    assert all(ANN in p["body"] or quote(ANN) in p["body"] for p in data["provider_payloads"])
    assert BOB not in json.dumps(data)  # other people named in a batch payload stay hidden


def test_a_registered_source_joins_the_export_and_the_erasure(db, footprint):
    seen = []
    privacy.register("extra_records", lambda fp: [{"email": fp.email}], seen.append)
    try:
        assert privacy.export(ANN)["extra_records"] == [{"email": ANN}]
        privacy.erase(ANN, privacy.Actor("user"))
        assert [fp.email for fp in seen] == [ANN]
    finally:
        privacy.SOURCES.pop("extra_records")


def test_consent_records_are_exported_and_erased(db):
    mailing_list = make_list(db, "Newsletter", [ANN])
    ann = db.session.scalar(sa.select(Subscriber).filter_by(list_id=mailing_list.id))
    signup.declare(ann, ConsentSource.MANUAL)
    db.session.commit()
    records = privacy.export(ANN)["consent_records"]
    assert [(r["subscriber_id"], r["source"]) for r in records] == [(ann.id, "manual")]
    assert records[0]["confirmed_at"], "declared consent counts as given"
    privacy.erase(ANN, privacy.Actor("user"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 0


def _text_columns(db) -> dict[str, list[str]]:
    """Every table's text-like columns, as the database itself describes them."""
    inspector = sa.inspect(db.engine)
    found = {}
    for table in inspector.get_table_names():
        names = [
            c["name"]
            for c in inspector.get_columns(table)
            if isinstance(c["type"], (sa.String, sa.Text, sa.JSON))
            or type(c["type"]).__name__.upper() in {"JSON", "LONGTEXT", "MEDIUMTEXT"}
        ]
        if names:
            found[table] = names
    return found


def _mentions(db, needle: str) -> list[str]:
    db.session.commit()
    hits = []
    forms = {needle.lower(), quote(needle, safe="").lower()}
    with db.engine.connect() as conn:
        for table, columns in _text_columns(db).items():
            quoted = ", ".join(db.engine.dialect.identifier_preparer.quote(c) for c in columns)
            name = db.engine.dialect.identifier_preparer.quote(table)
            for row in conn.execute(sa.text(f"SELECT {quoted} FROM {name}")):
                for column, value in zip(columns, row, strict=True):
                    text = value if isinstance(value, str) else json.dumps(value)
                    if value is not None and any(f in text.lower() for f in forms):
                        hits.append(f"{table}.{column}")
    return sorted(set(hits))


def test_after_erase_nothing_names_the_address_and_figures_stay(app, db, footprint, tmp_path):
    campaign_id = footprint.campaign_id
    assert "sends.email" in _mentions(db, ANN)  # the scan does see the address
    before = (stats.status_counts(campaign_id), stats.campaign_figures(campaign_id))
    admin = make_user()
    record = privacy.erase(ANN, privacy.Actor("user", user_id=admin.id))
    assert _mentions(db, ANN) == []
    assert "sends.email" in _mentions(db, BOB)  # the others' data is untouched
    db.session.expire_all()
    assert (stats.status_counts(campaign_id), stats.campaign_figures(campaign_id)) == before
    # logged: who and when, not whom
    logged = db.session.get(Erasure, record.id)
    assert logged.actor_user_id == admin.id and logged.erased_at is not None
    assert logged.counts["sends"] == 1 and logged.counts["subscriptions"] == 2

    # a re-import refuses the address, and says so without writing it down
    target = lists_service.create_list("Re-import")
    path = tmp_path / "again.csv"
    path.write_text(f"email,first_name\n{ANN},Ann\n{BOB},Bob\n")
    done = importer.run_import(importer.create_import(path, list_id=target.id).id)
    assert (done.inserted, done.rejected) == (1, 1)
    emails = set(db.session.scalars(sa.select(Subscriber.email).filter_by(list_id=target.id)))
    assert emails == {BOB}
    # and so does adding it by hand (page and API share this)
    with pytest.raises(ValidationError) as refused:
        lists_service.add_subscriber(target.id, {"email": ANN.upper()})
    assert "erased" in refused.value.errors["email"]
    assert _mentions(db, ANN) == []


def test_the_setting_lets_an_erased_address_back(app, db, footprint):
    privacy.erase(ANN, privacy.Actor("user"))
    app.config["MAILER_ERASED_REFUSE_READD"] = False
    target = lists_service.create_list("Again")
    assert lists_service.add_subscriber(target.id, {"email": ANN}).email == ANN


def test_fresh_consent_forgets_the_hash(app, db):
    privacy.erase(ANN, privacy.Actor("user"))
    assert erased.erased_among([ANN, BOB]) == {ANN}
    assert erased.forget(ANN)
    db.session.commit()
    assert erased.erased_among([ANN]) == set()

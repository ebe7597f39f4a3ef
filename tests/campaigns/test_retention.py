"""Retention: the nightly tick prunes old rows in batches, keeps everything younger than its
setting, and a pruned campaign's report shows the same figures as before."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict
from datetime import timedelta

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from mailer.campaigns import reports, retention, stats
from mailer.lib.errors import NotAllowed
from mailer.models import (
    Campaign,
    Event,
    FeedbackPayload,
    Message,
    Send,
)
from mailer.models.base import utcnow
from mailer.models.campaigns import MessageLink
from mailer.queue import TICKS, get_queue, get_redis, set_worker_app
from tests.fixtures.tracking import get

SCANNER = "Mozilla/5.0 (compatible; Proofpoint URL Defense)"
PEOPLE = [f"p{i}@example.com" for i in range(7)]
AGO = timedelta(days=400)  # older than every default retention


@pytest.fixture
def old_campaign(db, client, send_campaign):
    """A campaign sent through the real worker, with opens, clicks (people and machines), an
    unsubscribe, deliveries, a bounce and a complaint; then every date moved 400 days back."""
    sent = send_campaign(PEOPLE)
    p = [sent[e] for e in PEOPLE]
    get(client, p[0].pixel_path)
    get(client, p[0].pixel_path)
    get(client, p[0].click_path(0))
    get(client, p[0].click_path(1))
    get(client, p[1].pixel_path, ua="Mozilla/5.0")  # Apple privacy pre-fetch
    get(client, p[1].pixel_path)
    get(client, p[2].click_path(1), ua=SCANNER)
    get(client, p[3].pixel_path)
    client.post(f"/u/{p[4].token}", data={"List-Unsubscribe": "One-Click"})
    now = utcnow()
    ids = [d.send.id for d in p]
    db.session.execute(sa.update(Send).where(Send.id.in_(ids[:5])).values(delivered_at=now))
    db.session.execute(sa.update(Send).where(Send.id == ids[5]).values(bounced_at=now))
    db.session.execute(sa.update(Send).where(Send.id == ids[1]).values(complained_at=now))
    db.session.commit()
    move_back(db, sent.campaign.id, AGO)
    campaign = db.session.get(Campaign, sent.campaign.id)
    assert campaign.status == "completed"
    return campaign


def move_back(db, campaign_id: int, by: timedelta) -> None:
    """Every date of a campaign, its sends and its events, `by` earlier."""
    for model, columns in (
        (Campaign, ("started_at", "finished_at", "created_at")),
        (Send, ("sent_at", "delivered_at", "opened_at", "clicked_at", "bounced_at")),
        (Event, ("occurred_at",)),
    ):
        key = model.id if model is Campaign else model.campaign_id
        for row in db.session.scalars(sa.select(model).where(key == campaign_id)):
            for name in columns:
                if getattr(row, name) is not None:
                    setattr(row, name, getattr(row, name) - by)
    db.session.commit()


def everything_a_user_sees(db, client, campaign: Campaign) -> dict:
    """The report page, the API's stats, the list page's and dashboard's figures, the live
    block's counts, and the report's read model."""
    db.session.commit()
    report = reports.campaign_report(campaign)
    progress = stats.progress(campaign)
    return {
        "report page": page(client, f"/reports/campaigns/{campaign.id}"),
        "campaign page": page(client, f"/campaigns/{campaign.id}"),
        "campaigns list": page(client, "/campaigns"),
        "figures": asdict(report.figures),
        "channels": [(c.row_id, c.label, asdict(c.figures)) for c in report.channels],
        "timeline": report.timeline,
        "top links": report.top_links,
        "rates": asdict(stats.rates([campaign.id])[campaign.id]),
        "list": stats.list_figures([campaign.id]),
        "progress": (progress.counts, progress.total, [r.counts for r in progress.rows]),
        "api": stats.status_counts(campaign.id),
    }


def page(client, path: str) -> str:
    """A page's main content (the CSRF tokens around it are new each time; the delete link
    appears once the figures are archived: a started campaign is deletable only then)."""
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    main = csrf_token.sub("", html[html.index("<main") : html.index("</main>")])
    return " ".join(delete_link.sub("", main).split())


csrf_token = re.compile(r'name="csrf_token" value="[^"]*"')
delete_link = re.compile(r'<a href="/campaigns/\d+/delete"[^>]*>[^<]*</a>')


def test_pruning_a_finished_campaign_keeps_its_figures_and_removes_its_rows_in_batches(
    app, db, client, as_role, old_campaign
):
    as_role("admin")
    before = everything_a_user_sees(db, client, old_campaign)
    assert before["figures"]["opens"]["unique_human"] == 3  # the fixture did what it says
    assert before["figures"]["unsubscribed"] == 1
    assert count(db, Send, old_campaign.id) == len(PEOPLE)
    events_before = count(db, Event, old_campaign.id)
    assert events_before >= 8

    app.config["MAILER_RETENTION_BATCH"] = 3
    deletes: list[tuple[str, int]] = []
    listener = record_deletes(deletes)
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        pruned = retention.prune()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)

    assert pruned.campaigns_archived == 1
    assert (pruned.sends, pruned.campaign_events) == (len(PEOPLE), events_before)
    assert count(db, Send, old_campaign.id) == 0
    assert count(db, Event, old_campaign.id) == 0
    send_deletes = [n for table, n in deletes if table == "sends"]
    assert len(send_deletes) == 3 and max(send_deletes) == 3, send_deletes  # 3 + 3 + 1
    assert all(n <= 3 for _, n in deletes), deletes

    after = everything_a_user_sees(db, client, db.session.get(Campaign, old_campaign.id))
    for name, value in before.items():
        assert after[name] == value, name
    with pytest.raises(NotAllowed):
        from mailer.campaigns import lifecycle

        lifecycle.retry_in_doubt(db.session.get(Campaign, old_campaign.id))

    again = retention.prune()  # a second night: nothing left, nothing archived twice
    assert (again.campaigns_archived, again.sends, again.campaign_events) == (0, 0, 0)


def record_deletes(out: list):
    """A SQLAlchemy listener keeping (table, ids bound) of each DELETE statement."""

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM"):
            table = statement.split()[2].strip('`"')
            out.append((table, len(parameters) if parameters else 0))

    return listener


def count(db, model, campaign_id: int) -> int:
    db.session.commit()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(model).where(model.campaign_id == campaign_id)
    )


def test_nothing_younger_than_its_setting_is_pruned(app, db, send_campaign):
    recent = send_campaign(["new@example.com"])  # finished now: kept
    now = utcnow()
    days = {
        "MAILER_RETENTION_FEEDBACK_DAYS": 30,
        "MAILER_RETENTION_EVENTS_DAYS": 90,
        "MAILER_RETENTION_SENDS_DAYS": 90,
        "MAILER_RETENTION_MESSAGE_BODIES_DAYS": 30,
        "MAILER_RETENTION_MESSAGE_LINKS_DAYS": 90,
    }
    app.config.update(days, MAILER_RETENTION_BATCH=2)
    old, young = now - timedelta(days=100), now - timedelta(days=20)
    rows = {}
    for age, when in (("old", old), ("young", young)):
        for status in ("processed", "failed", "received"):
            rows[f"payload {status} {age}"] = FeedbackPayload(
                provider="brevo", body='{"raw": 1}', status=status, received_at=when
            )
        for status in ("delivered", "queued"):
            rows[f"message {status} {age}"] = Message(
                to_email="t@example.com",
                subject="S",
                payload={"html": "<p>Hi</p>"},
                status=status,
                created_at=when,
            )
        url = f"https://example.com/{age}"
        rows[f"link {age}"] = MessageLink(
            url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), used_at=when
        )
    db.session.add_all(rows.values())
    db.session.flush()
    for age, when in (("old", old), ("young", young)):
        rows[f"event {age}"] = Event(
            type="open", message_id=rows[f"message delivered {age}"].id, occurred_at=when
        )
    middle = Event(type="bounce", message_id=rows["message delivered old"].id, occurred_at=young)
    db.session.add_all([rows["event old"], rows["event young"], middle])
    db.session.commit()
    ids = {name: row.id for name, row in rows.items()}

    pruned = run_tick(app)

    assert pruned["feedback_payloads"] == 2
    assert pruned["events"] == 1 and pruned["message_bodies"] == 1 and pruned["message_links"] == 1
    assert pruned["campaigns_archived"] == 0 and pruned["sends"] == 0
    db.session.commit()  # end the read snapshot (MariaDB): see what the job committed
    gone = {name for name, i in ids.items() if db.session.get(type(rows[name]), i) is None}
    assert gone == {"payload processed old", "payload failed old", "event old", "link old"}
    assert db.session.get(Message, ids["message delivered old"]).payload == {}
    assert db.session.get(Message, ids["message queued old"]).payload == {"html": "<p>Hi</p>"}
    assert db.session.get(Message, ids["message delivered young"]).payload == {"html": "<p>Hi</p>"}
    assert db.session.get(Event, middle.id) is not None
    assert count(db, Send, recent.campaign.id) == 1
    assert db.session.get(Campaign, recent.campaign.id).archived_at is None


def test_a_setting_of_zero_keeps_that_kind_forever(app, db, old_campaign):
    for name in (
        "MAILER_RETENTION_FEEDBACK_DAYS",
        "MAILER_RETENTION_EVENTS_DAYS",
        "MAILER_RETENTION_SENDS_DAYS",
        "MAILER_RETENTION_MESSAGE_BODIES_DAYS",
        "MAILER_RETENTION_MESSAGE_LINKS_DAYS",
    ):
        app.config[name] = 0
    db.session.add(
        FeedbackPayload(provider="brevo", body="{}", status="processed", received_at=utcnow() - AGO)
    )
    db.session.commit()
    pruned = retention.prune()
    assert pruned.as_dict() == asdict(retention.Pruned())
    assert count(db, Send, old_campaign.id) == len(PEOPLE)
    assert db.session.get(Campaign, old_campaign.id).archived_at is None

    app.config["MAILER_RETENTION_EVENTS_DAYS"] = 365  # events go, sends stay (figures frozen)
    before = asdict(stats.campaign_figures(old_campaign.id))
    pruned = retention.prune()
    assert pruned.campaigns_archived == 1 and pruned.campaign_events > 0 and pruned.sends == 0
    assert count(db, Event, old_campaign.id) == 0
    assert count(db, Send, old_campaign.id) == len(PEOPLE)
    assert asdict(stats.campaign_figures(old_campaign.id)) == before


def run_tick(app) -> dict:
    """The retention tick's job through a real RQ worker, as the scheduler runs it."""
    job = get_queue(TICKS).enqueue("jobs.ticks.retention_tick")
    set_worker_app(app)
    SimpleWorker([TICKS], connection=get_redis()).work(burst=True)
    job.refresh()
    assert job.is_finished, job.exc_info
    return job.return_value()

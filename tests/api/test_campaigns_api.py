"""Campaigns through the API: list, describe, reschedule, delete, launch by the tick,
pause/resume/cancel and stats."""

from __future__ import annotations

from datetime import datetime, timedelta

from rq import SimpleWorker

from mailer.campaigns import launch as campaign_launch
from mailer.lib import tokens
from mailer.models import Campaign, Send
from mailer.models.base import utcnow
from mailer.queue import SEND, TICKS, enqueue, get_redis, set_worker_app
from tests.fixtures.api import document, error_paths, iso, received


def create(api, setup, **changes) -> dict:
    response = api.post("/api/v1/campaigns", json=document(setup, **changes))
    assert response.status_code == 201, response.json
    return response.json


def work(app, *queues: str) -> None:
    set_worker_app(app)
    SimpleWorker(list(queues or [SEND]), connection=get_redis()).work(burst=True)


def status_of(db, campaign_id: int) -> str:
    db.session.commit()  # a fresh snapshot: the worker wrote on its own connection
    return db.session.get(Campaign, campaign_id).status


def launch_without_sending(db, campaign_id: int) -> None:
    """The orchestrator's part only: sends materialised, channel jobs queued but not run."""
    db.session.execute(db.update(Campaign).values(scheduled_at=utcnow()))
    db.session.commit()
    campaign_launch.orchestrate(campaign_id)


# ------------------------------------------------------------------ reading


def test_list_and_describe_by_our_id_or_the_document_id(api, db, setup):
    first = create(api, setup)
    second = create(api, setup, id="summer-2027", name="Summer")
    db.session.execute(db.update(Campaign).where(Campaign.id == first["id"]).values(status="draft"))
    db.session.commit()

    page = api.get("/api/v1/campaigns")
    assert page.status_code == 200
    assert [c["external_id"] for c in page.json["data"]] == ["summer-2027", "spring-sale-2027"]
    assert page.json["next_cursor"] is None
    scheduled = api.get("/api/v1/campaigns?status=scheduled").json["data"]
    assert [c["id"] for c in scheduled] == [second["id"]]
    one = api.get("/api/v1/campaigns?limit=1").json
    assert len(one["data"]) == 1 and one["next_cursor"]
    rest = api.get(f"/api/v1/campaigns?limit=1&cursor={one['next_cursor']}").json
    assert [c["id"] for c in rest["data"]] == [first["id"]]

    by_id = api.get(f"/api/v1/campaigns/{second['id']}")
    by_document_id = api.get("/api/v1/campaigns/summer-2027")
    assert by_id.json == by_document_id.json == second
    assert api.get("/api/v1/campaigns/nope").status_code == 404
    assert api.get("/api/v1/campaigns/999999").status_code == 404
    assert error_paths(api.get("/api/v1/campaigns?status=sleeping")) == ["$.status"]


def test_scopes_campaigns_to_write_campaigns_or_read_to_read(api, api_as, setup):
    create(api, setup)
    reader = api_as("read")
    assert reader.get("/api/v1/campaigns/spring-sale-2027").status_code == 200
    assert reader.get("/api/v1/campaigns/spring-sale-2027/stats").status_code == 200
    for method, path, body in [
        ("patch", "/api/v1/campaigns/spring-sale-2027", {"date": iso(timedelta(days=1))}),
        ("delete", "/api/v1/campaigns/spring-sale-2027", None),
        ("post", "/api/v1/campaigns/spring-sale-2027/pause", None),
        ("post", "/api/v1/campaigns/spring-sale-2027/cancel", None),
    ]:
        assert getattr(reader, method)(path, json=body).status_code == 403, (method, path)
    assert api_as("send").get("/api/v1/campaigns").status_code == 403
    assert api_as("campaigns").get("/api/v1/campaigns").status_code == 200


# ------------------------------------------------------------------ the date


def test_the_date_can_change_while_scheduled(api, db, setup):
    campaign = create(api, setup)

    response = api.patch(
        "/api/v1/campaigns/spring-sale-2027", json={"date": "2027-04-01T10:30:00+02:00"}
    )

    assert response.status_code == 200, response.json
    assert response.json["date"] == "2027-04-01T08:30:00Z"
    assert response.json["status"] == "scheduled"
    assert db.session.get(Campaign, campaign["id"]).scheduled_at == datetime(2027, 4, 1, 8, 30)
    past = api.patch("/api/v1/campaigns/spring-sale-2027", json={"date": iso(-timedelta(hours=2))})
    assert error_paths(past) == ["$.date"]
    other = api.patch("/api/v1/campaigns/spring-sale-2027", json={"name": "New name"})
    assert error_paths(other) == ["$.name", "$.date"]  # only the date may change


def test_a_date_that_has_come_launches_the_campaign(app, api, db, setup):
    campaign = create(api, setup)

    response = api.patch("/api/v1/campaigns/spring-sale-2027", json={"date": iso(timedelta(0))})

    assert response.status_code == 200
    work(app)
    assert status_of(db, campaign["id"]) == "completed"
    assert sorted(received(db)) == ["ana@example.com", "bo@example.com"]


def test_the_date_of_a_running_campaign_cannot_change(api, db, setup):
    campaign = create(api, setup)
    launch_without_sending(db, campaign["id"])

    response = api.patch("/api/v1/campaigns/spring-sale-2027", json={"date": iso(timedelta(1))})

    assert response.status_code == 409
    assert "running campaign cannot be rescheduled" in response.json["error"]["message"]


def test_the_tick_launches_the_campaign_when_its_date_comes(app, api, db, setup):
    from jobs.ticks import campaigns_tick

    campaign = create(api, setup, date=iso(timedelta(hours=1)))
    enqueue(TICKS, campaigns_tick)
    work(app, TICKS, SEND)
    assert status_of(db, campaign["id"]) == "scheduled"
    assert received(db) == {}

    db.session.execute(  # an hour later
        db.update(Campaign)
        .where(Campaign.id == campaign["id"])
        .values(scheduled_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    enqueue(TICKS, campaigns_tick)
    work(app, TICKS, SEND)

    assert status_of(db, campaign["id"]) == "completed"
    assert sorted(received(db)) == ["ana@example.com", "bo@example.com"]


# ------------------------------------------------------------------ deleting


def test_a_scheduled_campaign_can_be_deleted_its_lists_stay(api, db, setup):
    campaign = create(api, setup)

    response = api.delete("/api/v1/campaigns/spring-sale-2027")

    assert response.status_code == 204
    assert db.session.get(Campaign, campaign["id"]) is None
    assert api.get("/api/v1/campaigns/spring-sale-2027").status_code == 404
    assert [s["list"] for s in campaign["segments"]] == ["VIP customers", "Newsletter"]
    assert create(api, setup)["segments"][0]["list_id"] == campaign["segments"][0]["list_id"]


def test_a_running_campaign_cannot_be_deleted(api, db, setup):
    campaign = create(api, setup)
    launch_without_sending(db, campaign["id"])

    response = api.delete("/api/v1/campaigns/spring-sale-2027")

    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert "cannot be deleted once it has started" in response.json["error"]["message"]
    assert status_of(db, campaign["id"]) == "running"


# ------------------------------------------------------------------ operator actions


def test_pause_resume_and_cancel(api, db, setup):
    campaign = create(api, setup)
    refused = api.post("/api/v1/campaigns/spring-sale-2027/pause")
    assert refused.status_code == 409
    assert "scheduled campaign cannot become paused" in refused.json["error"]["message"]
    launch_without_sending(db, campaign["id"])

    paused = api.post("/api/v1/campaigns/spring-sale-2027/pause")
    assert (paused.status_code, paused.json["status"]) == (200, "paused")
    assert api.post("/api/v1/campaigns/spring-sale-2027/pause").status_code == 409
    resumed = api.post(f"/api/v1/campaigns/{campaign['id']}/resume")
    assert (resumed.status_code, resumed.json["status"]) == (200, "running")
    assert api.post("/api/v1/campaigns/spring-sale-2027/resume").status_code == 409

    cancelled = api.post("/api/v1/campaigns/spring-sale-2027/cancel")

    assert (cancelled.status_code, cancelled.json["status"]) == (200, "cancelled")
    stats = api.get("/api/v1/campaigns/spring-sale-2027/stats").json
    assert (stats["cancelled"], stats["remaining"], stats["sent"]) == (2, 0, 0)
    assert api.post("/api/v1/campaigns/spring-sale-2027/cancel").status_code == 409
    assert api.post("/api/v1/campaigns/nope/cancel").status_code == 404


# ------------------------------------------------------------------ stats


def test_stats_count_recipients_and_what_they_did(app, api, client, db, setup):
    ref = "spring-sale-2027"
    doc = document(setup, date=iso(timedelta(0)))
    doc["segments"][1]["recipients"] += [
        {"email": "cy@example.com", "first_name": "Cy"},
        {"email": "dee@example.com", "first_name": "Dee"},
    ]
    assert api.post("/api/v1/campaigns", json=doc).status_code == 201
    before = api.get(f"/api/v1/campaigns/{ref}/stats").json
    assert (before["sent"], before["rates"]["open"]) == (0, None)
    work(app)
    db.session.commit()
    sends = {s.email: s for s in db.session.scalars(db.select(Send))}
    # Hits come later than the machine window after sending: move the sends back in time.
    db.session.execute(db.update(Send).values(sent_at=utcnow() - timedelta(hours=1)))
    db.session.execute(  # as provider feedback records a bounce
        db.update(Send).where(Send.email == "dee@example.com").values(bounced_at=utcnow())
    )
    db.session.commit()
    browser = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Firefox/128.0"}
    ana = tokens.make(tokens.CAMPAIGN_SEND, sends["ana@example.com"].id)
    bo = tokens.make(tokens.CAMPAIGN_SEND, sends["bo@example.com"].id)
    for _ in range(2):
        assert client.get(f"/t/o/{ana}.gif", headers=browser).status_code == 200
    assert client.get(f"/t/o/{bo}.gif", headers=browser).status_code == 200
    assert client.post(f"/u/{bo}", data={"List-Unsubscribe": "One-Click"}).status_code == 200

    stats = api.get(f"/api/v1/campaigns/{ref}/stats").json

    assert stats["status"] == "completed"
    assert (stats["audience"], stats["sent"], stats["remaining"]) == (4, 4, 0)
    assert (stats["failed"], stats["suppressed"], stats["in_doubt"]) == (0, 0, 0)
    assert stats["opens"] == {"total": 3, "unique": 2, "unique_human": 2}
    assert stats["clicks"] == {"total": 0, "unique": 0, "unique_human": 0}
    assert (stats["delivered"], stats["bounced"], stats["unsubscribed"]) == (0, 1, 1)
    assert stats["rates"]["open"] == 0.5  # over sent until feedback reports deliveries
    assert (stats["rates"]["bounce"], stats["rates"]["unsubscribe"]) == (0.25, 0.25)
    assert (stats["rates"]["delivery"], stats["rates"]["click"]) == (0, 0)
    assert stats["campaign_id"] == db.session.scalar(db.select(Campaign.id))

"""A campaign document may ask for several loops (worker processes) on a channel row."""

from __future__ import annotations

from mailer.models import CampaignChannel
from tests.fixtures.api import document, error_paths


def test_a_row_asks_for_several_loops_and_the_campaign_shows_them(api, db, setup):
    doc = document(setup)
    doc["channels"][0]["loops"] = 4

    response = api.post("/api/v1/campaigns", json=doc)

    assert response.status_code == 201, response.json
    [row] = response.json["channels"]
    assert row["loops"] == 4
    assert db.session.get(CampaignChannel, row["id"]).loops == 4
    shown = api.get(f"/api/v1/campaigns/{response.json['id']}").json
    assert shown["channels"][0]["loops"] == 4


def test_without_loops_a_row_uses_the_setting(api, db, setup):
    response = api.post("/api/v1/campaigns", json=document(setup))

    assert response.json["channels"][0]["loops"] is None


def test_loops_out_of_range_are_refused_with_their_path(api, db, setup):
    for loops in (0, 33, "many"):
        doc = document(setup)
        doc["channels"][0]["loops"] = loops
        assert error_paths(api.post("/api/v1/campaigns", json=doc)) == ["$.channels[0].loops"]

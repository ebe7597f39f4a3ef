"""Numbers past what a database column holds are refused where they come in, never a 500.

A path id, a query argument, a form field or an API cursor past BIGINT used to reach the
driver (OverflowError on SQLite; counts past INT are "out of range" on MariaDB).
"""

from __future__ import annotations

import base64

import pytest
from werkzeug.routing import IntegerConverter

from mailer.lib.dbutil import MAX_ID, MAX_INT, parse_id
from mailer.models import Campaign, Channel, Identity, MailingList
from mailer.services import api_keys
from mailer.web.routing import IdConverter

HUGE = "99999999999999999999"
PAST_BIGINT = str(MAX_ID + 1)


def _campaign(db) -> Campaign:
    campaign = Campaign(name="Spring", subject="Hi", html="<p>Hi</p>")
    db.session.add(campaign)
    db.session.commit()
    return campaign


def _key(*scopes: str) -> dict[str, str]:
    plaintext = api_keys.create("Bounds", list(scopes) or ["admin"], None).plaintext
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.mark.parametrize("big", [HUGE, PAST_BIGINT])
@pytest.mark.parametrize(
    "path",
    [
        "/lists/{}",
        "/campaigns/{}",
        "/campaigns/{}/setup",
        "/templates/{}",
        "/reports/campaigns/{}",
        "/lists/1/segments/{}",
        "/lists/{}/segments/",
        "/channels/{}",
        "/outbound-webhooks/{}",
    ],
)
def test_a_page_with_an_id_past_bigint_is_404(client, as_role, path, big):
    as_role("admin")
    assert client.get(path.format(big)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/lists/{}",
        "/api/v1/lists/{}/subscribers",
        "/api/v1/lists/1/subscribers/{}",
        "/api/v1/templates/{}",
        "/api/v1/imports/{}",
        "/api/v1/messages/{}",
        "/api/v1/campaigns/{}",
        "/api/v1/campaigns/{}/stats",
    ],
)
@pytest.mark.parametrize("big", [HUGE, PAST_BIGINT])
def test_an_api_id_past_bigint_is_a_json_404(client, db, path, big):
    response = client.get(path.format(big), headers=_key())
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("big", [HUGE, PAST_BIGINT])
def test_a_write_to_an_id_past_bigint_is_404_not_405(client, db, big):
    """Werkzeug refuses a converter's value after picking the rule: /lists/<id> has a GET
    rule too, so a PATCH refused by the converter alone answered 405."""
    for method in ("PATCH", "DELETE"):
        response = client.open(f"/api/v1/lists/{big}", method=method, headers=_key(), json={})
        assert response.status_code == 404, method


def test_every_int_route_is_bounded_and_answers_404_past_bigint(app, client, as_role):
    """Walk the whole URL map: a route added later gets the bound from the app's converter."""
    as_role("admin")
    headers = _key()
    checked = 0
    for rule in app.url_map.iter_rules():
        ints = [a for a, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        if not ints:
            continue
        for name in ints:
            converter = rule._converters[name]
            assert isinstance(converter, IdConverter), rule.rule
            assert converter.max == MAX_ID, rule.rule
        for name in ints:
            values = {a: 424242 if a == name else 1 if a in ints else "x" for a in rule._converters}
            url = rule.build(values, append_unknown=False)[1].replace("424242", HUGE)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, headers=headers)
                assert response.status_code == 404, (method, url, response.status)
                checked += 1
    assert checked > 50  # every <int:…> route of the UI, the API and rq-dashboard


@pytest.mark.parametrize("decoded", [HUGE, PAST_BIGINT, "0", "-5", "1e3", "٣"])
def test_an_api_cursor_past_any_id_is_refused_with_a_message(client, db, decoded):
    cursor = base64.urlsafe_b64encode(decoded.encode()).decode().rstrip("=")
    response = client.get(f"/api/v1/lists?cursor={cursor}", headers=_key())
    assert response.status_code == 422
    error = response.json["error"]
    assert error["details"]["fields"] == [
        {"path": "cursor", "message": "Not a cursor from a previous page."}
    ]


def test_a_real_cursor_still_pages(client, db):
    for n in range(3):
        db.session.add(MailingList(name=f"List {n}"))
    db.session.commit()
    first = client.get("/api/v1/lists?limit=2", headers=_key()).json
    rest = client.get(f"/api/v1/lists?limit=2&cursor={first['next_cursor']}", headers=_key())
    assert [row["name"] for row in rest.json["data"]] == ["List 0"]


def test_an_id_query_argument_past_bigint_is_refused(client, db):
    response = client.get(f"/api/v1/events?campaign_id={HUGE}", headers=_key())
    assert response.status_code == 422
    assert response.json["error"]["details"]["fields"][0]["path"] == "campaign_id"


@pytest.mark.parametrize(
    "path",
    [
        "/lists/{list}?page={n}",
        "/suppressions/?page={n}",
        "/campaigns/?page={n}",
        "/outbox/?page={n}",
    ],
)
@pytest.mark.parametrize("n", [HUGE, "9" * 5000, "-3"])
def test_a_page_number_past_any_page_shows_a_page(client, db, as_role, path, n):
    as_role("admin")
    mailing_list = MailingList(name="People")
    db.session.add(mailing_list)
    db.session.commit()
    assert client.get(path.format(list=mailing_list.id, n=n)).status_code == 200


def test_form_fields_naming_rows_past_bigint_are_explained(client, db, as_role):
    as_role("admin")
    step1 = client.post(
        "/campaigns/", data={"name": "X", "subject": "Hi", "template_id": HUGE, "html": ""}
    )
    assert step1.status_code == 422
    assert "This template no longer exists" in step1.get_data(as_text=True)
    campaign = _campaign(db)
    db.session.add(MailingList(name="People"))
    db.session.commit()
    audience = client.post(f"/campaigns/{campaign.id}/audiences", data={"list_id": HUGE})
    assert audience.status_code == 422
    assert "Choose a list." in audience.get_data(as_text=True)
    picker = client.get(
        f"/campaigns/{campaign.id}/segments?list_id={HUGE}", headers={"HX-Request": "true"}
    )
    assert picker.status_code == 200
    preview = client.post("/templates/preview", data={"template_id": HUGE, "html": "<p>x</p>"})
    assert preview.status_code == 200
    channel = Channel(name="Sandbox", provider="sandbox", settings={}, rate_per_second=10)
    db.session.add_all([channel, Identity(name="News", from_email="news@example.com")])
    db.session.commit()
    test_send = client.post(
        f"/channels/{channel.id}/test", data={"to": "a@example.com", "identity_id": HUGE}
    )
    assert test_send.status_code == 422
    assert "Choose a sender." in test_send.get_data(as_text=True)


@pytest.mark.parametrize("big", [str(MAX_INT + 1), HUGE, "9" * 5000])
def test_counts_past_int_are_explained_not_stored(client, db, as_role, big):
    """Quotas and limits are INT columns on MariaDB: a larger number failed the INSERT."""
    as_role("admin")
    key = client.post(
        "/settings/api-keys/", data={"name": "K", "scopes": "read", "rate_limit": big}
    )
    assert key.status_code == 422
    assert "requests per minute" in key.get_data(as_text=True)
    channel = client.post(
        "/channels/",
        data={"name": "S", "provider": "sandbox", "rate_per_second": "5", "daily_quota": big},
    )
    assert channel.status_code == 422
    assert "emails per day" in channel.get_data(as_text=True)
    identity = Identity(name="News", from_email="news@example.com")
    sandbox = Channel(name="Box", provider="sandbox", settings={}, rate_per_second=10)
    db.session.add_all([identity, sandbox])
    db.session.commit()
    campaign = _campaign(db)
    setup = client.post(
        f"/campaigns/{campaign.id}/setup",
        data={
            "action": "save",
            "row": "a",
            "row-a-identity_id": str(identity.id),
            "row-a-channel_id": str(sandbox.id),
            "row-a-daily_max": big,
        },
    )
    assert setup.status_code == 422
    assert "emails per day" in setup.get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        (str(MAX_ID), MAX_ID),
        (PAST_BIGINT, None),
        (HUGE, None),
        ("0", None),
        ("-1", None),
        ("1.0", None),
        ("٣", None),
        ("", None),
        (None, None),
        (True, None),
        (5, 5),
        (MAX_ID + 1, None),
    ],
)
def test_parse_id(value, expected):
    assert parse_id(value) == expected

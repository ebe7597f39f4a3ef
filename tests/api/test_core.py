"""What every API request goes through: keys, scopes, rate limits, errors; and the admin page
where keys are made and revoked."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from mailer.api.spec import document
from mailer.models import ApiKey
from mailer.services import api_keys


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == code
    assert error["message"]
    return error


@pytest.mark.parametrize(
    "header",
    [
        None,
        "mk_without_the_word_bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer mk_00000000_not-a-real-key",
        "Bearer " + "x" * 300,
    ],
)
def test_a_missing_or_wrong_key_is_401_with_the_json_error_shape(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/lists", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_stops_working_at_once(api, db):
    assert api.get("/api/v1/lists").status_code == 200
    key = db.session.scalar(db.select(ApiKey))
    api_keys.revoke(key)
    error = assert_error(api.get("/api/v1/lists"), 401, "unauthorized")
    assert "revoked" in error["message"]


def test_a_key_cached_by_earlier_requests_stops_working_right_after_revoke(api, db):
    """Requests read the key from a short-lived cache, not its row; revoking must still
    take effect on the very next request, and stay in effect."""
    for _ in range(3):
        assert api.get("/api/v1/lists").status_code == 200
    key = db.session.scalar(db.select(ApiKey))
    db.session.execute(db.update(ApiKey).values(revoked_at=db.func.now()))
    db.session.commit()
    assert api.get("/api/v1/lists").status_code == 200, "the row alone: cached for a moment"
    api_keys.revoke(db.session.get(ApiKey, key.id))
    for _ in range(3):
        assert_error(api.get("/api/v1/lists"), 401, "unauthorized")


def test_a_missing_scope_is_403_and_names_the_scope(api_as):
    sender = api_as("send")
    error = assert_error(sender.get("/api/v1/templates"), 403, "forbidden")
    assert "'read'" in error["message"]
    reader = api_as("read")
    error = assert_error(reader.post("/api/v1/lists", json={"name": "x"}), 403, "forbidden")
    assert "'campaigns'" in error["message"]
    assert api_as("admin").post("/api/v1/lists", json={"name": "x"}).status_code == 201


def test_the_rate_limit_is_per_key_and_answers_429_with_retry_after(api_as):
    limited = api_as("read", rate_limit=3)
    other = api_as("read", rate_limit=3)
    assert [limited.get("/api/v1/lists").status_code for _ in range(3)] == [200] * 3
    refused = limited.get("/api/v1/lists")
    error = assert_error(refused, 429, "rate_limited")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60 and error["details"]["retry_after"] == retry_after
    assert other.get("/api/v1/lists").status_code == 200, "another key has its own budget"


@pytest.fixture
def twenty_seconds_into_a_minute(monkeypatch):
    """The key's minute is pinned: 40 seconds are left of it, whenever the test runs."""
    monkeypatch.setattr(api_keys, "utcnow", lambda: datetime(2026, 3, 2, 9, 15, 20))


def rate_headers(response) -> tuple[int, int, int]:
    h = response.headers
    return int(h["RateLimit-Limit"]), int(h["RateLimit-Remaining"]), int(h["RateLimit-Reset"])


@pytest.mark.usefixtures("twenty_seconds_into_a_minute")
def test_every_answer_tells_the_key_its_limit_what_is_left_and_when_it_resets(api_as):
    limited = api_as("read", rate_limit=4)
    assert rate_headers(limited.get("/api/v1/lists")) == (4, 3, 40)
    forbidden = limited.post("/api/v1/lists", json={"name": "x"})
    assert forbidden.status_code == 403 and rate_headers(forbidden) == (4, 2, 40)
    missing = limited.get("/api/v1/templates/999")
    assert missing.status_code == 404 and rate_headers(missing) == (4, 1, 40)
    no_route = limited.get("/api/v1/nothing-here")
    assert no_route.status_code == 404 and rate_headers(no_route) == (4, 0, 40)
    refused = limited.get("/api/v1/lists")
    assert refused.status_code == 429
    assert rate_headers(refused) == (4, 0, 40) and refused.headers["Retry-After"] == "40"


@pytest.mark.usefixtures("twenty_seconds_into_a_minute")
def test_the_default_limit_shows_for_keys_without_their_own(api, app):
    assert rate_headers(api.get("/api/v1/lists"))[:2] == (
        app.config["MAILER_API_RATE_LIMIT"],
        app.config["MAILER_API_RATE_LIMIT"] - 1,
    )


def test_answers_without_a_known_key_carry_no_rate_headers(client):
    for headers in ({}, {"Authorization": "Bearer mk_00000000_not-a-real-key"}):
        answer = client.get("/api/v1/lists", headers=headers)
        assert answer.status_code == 401 and "RateLimit-Limit" not in answer.headers
    assert "RateLimit-Limit" not in client.get("/api/v1/openapi.json").headers


def test_the_document_lists_the_rate_headers_on_every_answer_to_a_keyed_request():
    doc = document()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or op.get("security") == []:
                continue
            for code, response in op["responses"].items():
                headers = _resolve(doc, response).get("headers", {})
                has = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(headers)
                assert has == (code != "401"), (method, path, code)


def _resolve(doc, node):
    if "$ref" in node:
        return doc["components"]["responses"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_last_used_time_is_recorded(api, db):
    key = db.session.scalar(db.select(ApiKey))
    assert key.last_used_at is None
    api.get("/api/v1/lists")
    db.session.refresh(key)
    first = key.last_used_at
    assert first is not None
    api.get("/api/v1/lists")
    db.session.refresh(key)
    assert key.last_used_at == first, "written at most once a minute, not on every request"


def test_unknown_routes_and_methods_answer_json(api):
    assert_error(api.get("/api/v1/nothing-here"), 404, "not_found")
    wrong = api.put("/api/v1/lists", json={})
    assert_error(wrong, 405, "method_not_allowed")
    assert "GET" in wrong.headers["Allow"]


def test_the_openapi_document_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/templates" in document["paths"]


@pytest.mark.parametrize("header", ["Bearer mk_00000000_not-a-real-key", "Basic dXNlcjpwYXNz", "x"])
def test_the_reference_page_opens_with_any_authorization_header_and_no_cookie(client, header):
    """A client that sends its key everywhere gets the cookie-less API session; the docs page
    (public HTML, it renders a CSRF token) must still render, and set no cookie."""
    response = client.get("/api/v1/docs", headers={"Authorization": header})
    assert response.status_code == 200
    assert "API reference" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_the_reference_page_with_a_real_key_renders_too(api):
    assert api.get("/api/v1/docs").status_code == 200


# ------------------------------------------------------------------ the admin page


def test_an_admin_creates_a_key_shown_once_then_only_its_prefix(client, as_role, db):
    as_role("admin")
    created = client.post(
        "/settings/api-keys/",
        data={"name": "Shop backend", "scopes": ["send", "read"], "rate_limit": "120"},
    )
    assert created.status_code == 200
    page = created.get_data(as_text=True)
    match = re.search(r'id="new-api-key">(mk_[0-9a-f]{8}_[\w-]+)<', page)
    assert match, "the full key is shown after creating it"
    plaintext = match.group(1)
    key = db.session.scalar(db.select(ApiKey).filter_by(name="Shop backend"))
    assert key.scopes == ["read", "send"] and key.rate_limit_per_minute == 120
    assert key.key_hash != plaintext and plaintext not in str(key.__dict__)

    later = client.get("/settings/api-keys/").get_data(as_text=True)
    assert plaintext not in later and f"{key.prefix}…" in later

    response = client.get("/api/v1/lists", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200, "the key shown works"


def test_the_admin_page_refuses_bad_input(client, as_role):
    as_role("admin")
    response = client.post("/settings/api-keys/", data={"name": " ", "rate_limit": "fast"})
    assert response.status_code == 422
    assert "mk_" not in response.get_data(as_text=True)
    no_scope = client.post("/settings/api-keys/", data={"name": "App"})
    assert no_scope.status_code == 422
    assert "Choose at least one scope" in no_scope.get_data(as_text=True)


def test_an_admin_revokes_a_key(client, as_role, db):
    as_role("admin")
    created = api_keys.create("Old app", ["read"], None)
    headers = {"Authorization": f"Bearer {created.plaintext}"}
    assert client.get("/api/v1/lists", headers=headers).status_code == 200
    done = client.post(f"/settings/api-keys/{created.key.id}/revoke", follow_redirects=True)
    assert "is revoked" in done.get_data(as_text=True)
    assert client.get("/api/v1/lists", headers=headers).status_code == 401
    assert client.post("/settings/api-keys/999999/revoke").status_code == 404


@pytest.mark.parametrize("role", ["marketer", "viewer"])
def test_only_admins_manage_keys(client, as_role, db, role):
    as_role(role)
    assert client.get("/settings/api-keys/").status_code == 403
    refused = client.post("/settings/api-keys/", data={"name": "Sneaky", "scopes": ["admin"]})
    assert refused.status_code == 403
    assert db.session.scalar(db.select(ApiKey)) is None

"""Every page carries a Content-Security-Policy without inline script, and the hardening headers
(issue 16, item 4): a value that slips into markup as script is refused by the browser."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mailer.lib import tokens
from mailer.models import BulkAction, Send, SignupForm
from tests.e2e.crafted import plant
from tests.factories import make_asset, make_user
from tests.fixtures.app import login_as


def _directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy")
    assert policy, f"no Content-Security-Policy on {response.request.path}"
    parts = (p.split() for p in policy.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


def _assert_hardened(response) -> None:
    path = response.request.path
    csp = _directives(response)
    script = csp.get("script-src", csp.get("default-src"))
    assert "'unsafe-inline'" not in script and "*" not in script, path
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"], path
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"], path
    assert response.headers["X-Content-Type-Options"] == "nosniff", path
    assert response.headers["X-Frame-Options"] == "DENY", path
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer"), path


def _bulk_action(db, list_id: int) -> int:
    action = BulkAction(kind="delete", selection={"search": {"list_id": list_id}})
    db.session.add(action)
    db.session.commit()
    return action.id


@pytest.fixture
def ids(db) -> dict[str, int]:
    planted = plant(db)
    form = SignupForm(public_id="pub1", name="Form", lists=[{"id": planted.list_id, "label": "L"}])
    db.session.add(form)
    db.session.commit()
    asset = make_asset(db)  # the image library (issue 18)
    return {
        "asset_id": asset.id,
        "filename": asset.filename,
        "form_id": form.id,  # signup forms (issue 20)
        "public_id": form.public_id,
        "list_id": planted.list_id,
        "subscriber_id": planted.subscriber_id,
        "segment_id": planted.segment_id,
        "identity_id": planted.identity_id,
        "channel_id": planted.channel_id,
        "endpoint_id": planted.endpoint_id,
        "message_id": planted.outbox_id,
        "template_id": planted.template_id,
        "import_id": planted.import_id,
        "action_id": _bulk_action(db, planted.list_id),
        "campaign_id": planted.sent_id,
        # rq-dashboard's
        "instance_number": 0,
        "queue_name": "imports",
        "registry_name": "queued",
        "per_page": 8,
        "order": "asc",
        "page": 1,
    }


def test_every_html_page_carries_the_policy(app, client, ids):
    login_as(client, make_user("admin"))
    checked, skipped = [], []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if not set(rule.arguments) <= ids.keys():
            skipped.append(rule.rule)
            continue
        path = rule.build({name: ids[name] for name in rule.arguments})[1]
        response = client.get(path)
        if response.mimetype == "text/html":
            _assert_hardened(response)
            checked.append(path)
        response.close()
    assert len(checked) >= 45, checked  # every page of the app, ids filled in
    assert "/lists/{}/subscribers/{}".format(ids["list_id"], ids["subscriber_id"]) in checked
    assert "/admin/rq/0/view/workers" in checked
    # Left out: tracking tokens (below), API refs (JSON), rq-dashboard job ids, static files.
    assert all(re.search(r"<(token|ref|job_id|path:filename)>", r) for r in skipped), skipped


def test_pages_without_a_login_carry_it_too(app, client, db, ids):
    send_id = db.session.scalar(select(Send.id).limit(1))
    token = tokens.make(tokens.CAMPAIGN_SEND, send_id)
    for path in ("/login", "/nowhere", "/u/not-a-token", f"/u/{token}", "/api/v1/docs"):
        response = client.get(path)
        assert response.mimetype == "text/html", path
        _assert_hardened(response)
    # The view-online page keeps its own, stricter sandbox policy.
    online = client.get(f"/v/{token}")
    assert _directives(online)["default-src"] == ["'none'"] and "sandbox" in _directives(online)


def test_inline_script_is_allowed_nowhere_but_rq_dashboard_by_hash(app, client):
    login_as(client, make_user("admin"))
    page = client.get("/admin/rq/")
    script = _directives(page)["script-src"]
    hashes = [s for s in script if s.startswith("'sha256-")]
    assert hashes and "'unsafe-inline'" not in script  # its own inline script, by its hash
    assert "'unsafe-eval'" in script  # its underscore templates compile with new Function
    assert "'unsafe-eval'" not in _directives(client.get("/"))["script-src"]


def test_email_previews_style_their_frames_but_run_no_script(app, client, ids):
    login_as(client, make_user("admin"))
    preview = _directives(client.get(f"/templates/{ids['template_id']}"))
    assert "'unsafe-inline'" in preview["style-src"] and preview["script-src"] == ["'self'"]
    assert _directives(client.get("/templates/"))["style-src"] == ["'self'"]


def test_hsts_only_when_cookies_are_https_only(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")

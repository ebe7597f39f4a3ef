"""One template serves the full page and its htmx fragment."""

from __future__ import annotations

from mailer.models import Role


def test_full_page_without_htmx_and_fragment_with_it(client, as_role):
    as_role(Role.ADMIN)
    full = client.get("/queues/")
    assert full.status_code == 200
    assert "HX-Request" in full.headers["Vary"]
    assert b"<html" in full.data and b'id="queue-status"' in full.data

    fragment = client.get("/queues/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert b"<html" not in fragment.data
    assert fragment.data.lstrip().startswith(b'<div id="queue-status"')

    restore = client.get(
        "/queues/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert b"<html" in restore.data


def test_vendored_assets_are_served_locally(client):
    for path in (
        "/static/js/htmx-2.0.11.min.js",
        "/static/css/pico-2.1.1.min.css",
        "/static/css/app.css",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()

"""Every blueprint's routes are guarded: anonymous users log in, viewers change nothing."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from mailer.models import Role
from mailer.web.auth import PUBLIC_ENDPOINT_PREFIXES
from tests.factories import make_user


def _routes(app, methods):
    """(endpoint, url) for every guarded rule accepting one of `methods`, with dummy ids."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(PUBLIC_ENDPOINT_PREFIXES):
            continue
        if not (rule.methods & methods):
            continue
        values = {
            arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x"
            for arg in rule.arguments
        }
        found.append((rule.endpoint, rule.build(values, append_unknown=False)[1]))
    return found


def test_anonymous_users_are_sent_to_login_everywhere(client, app):
    routes = _routes(app, {"GET"})
    assert len(routes) >= 3
    for endpoint, url in routes:
        response = client.get(url)
        assert response.status_code == 302, endpoint
        assert "/login" in response.headers["Location"], endpoint


def test_a_viewer_cannot_create_change_or_delete_anything(client, app, as_role):
    as_role(Role.VIEWER)
    routes = _routes(app, {"POST", "PUT", "PATCH", "DELETE"})
    blueprints = {endpoint.split(".")[0] for endpoint, _ in routes}
    assert {"users", "auth"} - {"auth"} <= blueprints
    for endpoint, url in routes:
        if endpoint == "auth.logout" or endpoint.startswith("people_export."):
            continue  # an export of ticked rows is a POST that changes nothing
        response = client.post(url, data={"name": "x", "email": "x@example.com"})
        assert response.status_code == 403, f"{endpoint} {url} answered {response.status_code}"


def test_a_viewer_reads_the_dashboard_but_not_admin_pages(client, as_role):
    as_role(Role.VIEWER)
    assert client.get("/").status_code == 200
    assert client.get("/users/").status_code == 403
    assert client.get("/queues/").status_code == 403


def test_a_marketer_cannot_manage_users_or_queues(client, as_role):
    as_role(Role.MARKETER)
    assert client.get("/users/").status_code == 403
    assert (
        client.post("/users/", data={"email": "z@example.com", "role": "admin"}).status_code == 403
    )
    assert client.get("/queues/").status_code == 403


def test_navigation_shows_admin_items_only_to_admins(client, as_role):
    as_role(Role.VIEWER)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/users/"' not in page and 'href="/queues/"' not in page
    client.post("/logout")
    as_role(Role.ADMIN)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/users/"' in page and 'href="/queues/"' in page


def test_error_pages_are_friendly(client, as_role):
    as_role(Role.VIEWER)
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "Page not found" in response.text
    assert "the link may be old" in response.text
    forbidden = client.get("/users/")
    assert "Your role does not allow this" in forbidden.text
    assert "As a viewer you can look at everything" in forbidden.text


def test_the_403_page_says_what_the_role_allows_and_whom_to_ask(client, as_role):
    make_user(Role.ADMIN, email="boss@example.com")
    as_role(Role.MARKETER)
    forbidden = client.get("/users/", headers={"Accept-Language": "fr"})
    assert forbidden.status_code == 403
    assert "Votre rôle ne permet pas cela" in forbidden.text
    assert "Avec le rôle marketing" in forbidden.text
    assert "boss@example.com" in forbidden.text
    assert (
        "Forbidden" not in forbidden.text and "You don't have the permission" not in forbidden.text
    )

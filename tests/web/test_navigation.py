"""The top bar: every link sits in the "Menu" disclosure that phones open (issue 19, item 4;
the browser suite checks the layout at 390 px), labelled in the reader's language."""

from __future__ import annotations

from tests.factories import make_user
from tests.fixtures.app import login_as


def _menu(html: str) -> str:
    start = html.index('<details class="nav-menu">')
    return html[start : html.index("</details>\n    </nav>", start)]


def test_the_links_and_log_out_are_inside_the_menu(client):
    login_as(client, make_user("admin"))
    menu = _menu(client.get("/").text)
    assert "<summary>Menu</summary>" in menu
    for href in ('href="/campaigns/"', 'href="/lists/"', 'href="/outbox/"', 'href="/channels/"'):
        assert href in menu
    assert 'action="/logout"' in menu


def test_the_menu_is_labelled_in_french(client):
    login_as(client, make_user("viewer"))
    page = client.get("/", headers={"Accept-Language": "fr"}).text
    assert '<nav class="container-fluid" aria-label="Menu principal">' in page
    menu = _menu(page)
    assert "<summary>Menu</summary>" in menu and "Campagnes" in menu
    assert 'href="/channels/"' not in menu  # settings are for admins

"""Lists, segments, suppressions and templates as each role and language sees them
(issue 19: items 3, 5 and 9, and the French UI)."""

from __future__ import annotations

import io
import re

import pytest

from mailer.models import Import, Role, Segment, Subscriber, Suppression, Template
from mailer.services import lists
from tests.factories import make_campaign, make_list
from tests.fixtures.app import work
from tests.fixtures.imports import accept_mapping

FR = {"Accept-Language": "fr"}


@pytest.fixture
def audience(db):
    """A list with a subscriber and a segment, a suppression and a template."""
    people = make_list(db, "People", ["ann@example.com"])
    segment = Segment(list_id=people.id, name="Anns", conditions=[], match="all")
    template = Template(name="Welcome", subject="Hi", html="<p>Hi</p>")
    db.session.add_all([segment, template, Suppression(email="x@example.com", reason="manual")])
    db.session.commit()
    subscriber = db.session.scalars(db.select(Subscriber).filter_by(list_id=people.id)).one()
    return {
        "list": f"/lists/{people.id}",
        "lists": "/lists/",
        "subscriber": f"/lists/{people.id}/subscribers/{subscriber.id}",
        "segments": f"/lists/{people.id}/segments/",
        "segment": f"/lists/{people.id}/segments/{segment.id}",
        "suppressions": "/suppressions/",
        "templates": "/templates/",
        "template": f"/templates/{template.id}",
    }


def _buttons(page: str) -> set[str]:
    """The labels of the page's buttons and button-like links."""
    found = re.findall(r"<button\b[^>]*>\s*([^<]*?)\s*</button>", page)
    found += re.findall(r'<a\b[^>]*role="button"[^>]*>\s*([^<]*?)\s*</a>', page)
    found += re.findall(r'<a\b[^>]*class="danger[^"]*"[^>]*>\s*([^<]*?)\s*</a>', page)
    return {label for label in found if label}


ACTIONS = {
    "Save",
    "Delete",
    "Import",
    "Start import",
    "Upload and match the columns",
    "Add",
    "Rename",
    "Delete list…",
    "Delete from list",
    "Save segment",
    "+ Add condition",
    "Suppress",
    "Remove",
    "Duplicate",
    "Unsubscribe",
    "New segment",
    "New template",
    "Create list",
}


def test_a_viewer_sees_no_button_for_what_only_a_marketer_may_do(client, audience, as_role):
    as_role(Role.VIEWER)
    for name, url in audience.items():
        page = client.get(url)
        assert page.status_code == 200, name
        shown = _buttons(page.get_data(as_text=True)) & ACTIONS
        assert shown == set(), f"{name} shows {shown} to a viewer"
    # The subscriber's fields are shown, read-only.
    page = client.get(audience["subscriber"]).get_data(as_text=True)
    assert "<fieldset disabled>" in page or "<fieldset  disabled>" in page


def test_a_marketer_sees_the_buttons_a_viewer_does_not(client, audience, as_role):
    as_role(Role.MARKETER)
    expected = {
        "list": {"Upload and match the columns", "Add", "Rename", "Delete list…"},
        "lists": {"Create list"},
        "subscriber": {"Save", "Delete from list"},
        "segments": {"Delete", "New segment"},
        "segment": {"Save segment", "+ Add condition"},
        "suppressions": {"Suppress", "Import", "Remove"},
        "templates": {"New template", "Duplicate", "Delete"},
        "template": {"Save", "Duplicate", "Delete"},
    }
    for name, url in audience.items():
        shown = _buttons(client.get(url).get_data(as_text=True))
        assert expected[name] <= shown, f"{name}: {expected[name] - shown} missing"


def _upload(client, list_id: int, content: bytes, name: str = "people.csv", **headers):
    """Upload and accept the offered mapping: the import is queued."""
    response = client.post(
        f"/lists/{list_id}/imports",
        data={"file": (io.BytesIO(content), name), "mode": "upsert"},
        content_type="multipart/form-data",
        headers=headers,
    )
    if response.status_code == 302 and "/columns" in response.headers["Location"]:
        import_id = int(response.headers["Location"].split("/")[-2])
        return accept_mapping(client, import_id)
    return response


def test_the_list_page_refreshes_its_counts_and_table_when_an_import_ends(app, client, db, as_role):
    as_role(Role.MARKETER)
    people = lists.create_list("People")
    assert _upload(client, people.id, b"email\na@example.com\nb@example.com\n").status_code == 302
    record = db.session.scalars(db.select(Import)).one()
    page = client.get(f"/lists/{people.id}").get_data(as_text=True)
    assert "No subscribers yet" in page
    # The table and the counts listen for the event the finished import sends.
    assert 'hx-trigger="import-finished from:body"' in page
    progress = f"/lists/{people.id}/imports/{record.id}"
    running = client.get(progress, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'hx-get="{progress}?watching=1"' in running and 'hx-trigger="every 1s"' in running

    work(app, "imports")

    done = client.get(f"{progress}?watching=1", headers={"HX-Request": "true"})
    assert done.status_code == 286 and done.headers["HX-Trigger"] == "import-finished"
    # Loading an old import's progress with the page triggers nothing.
    again = client.get(progress, headers={"HX-Request": "true"})
    assert again.status_code == 286 and "HX-Trigger" not in again.headers
    # htmx names the element the event reloads (HX-Trigger): only then come the counts.
    reload = {"HX-Request": "true", "HX-Trigger": "subscriber-table"}
    table = client.get(f"/lists/{people.id}", headers=reload)
    body = table.get_data(as_text=True)
    assert "<html" not in body and "b@example.com" in body
    counts = re.search(r'<span id="list-counts" hx-swap-oob="true">(.*?)</span>', body, re.S)
    assert counts and "2 subscribed" in counts.group(1)
    # As a plain page: the counts are there too.
    assert "2 subscribed" in client.get(f"/lists/{people.id}").get_data(as_text=True)


def test_a_file_that_is_not_text_is_refused_in_plain_words_in_either_language(client, db, as_role):
    as_role(Role.MARKETER)
    people = lists.create_list("People")
    binary = b"e\x00m\x00a\x00i\x00l\x00\n"
    english = _upload(client, people.id, binary, "people.csv").get_data(as_text=True)
    assert "this is not a text file (it may be a spreadsheet, a PDF or an image)" in english
    assert "NUL" not in english
    french = _upload(client, people.id, binary, "people.csv", **FR).get_data(as_text=True)
    assert "ce n’est pas un fichier texte" in french


def test_an_import_that_stopped_says_why_in_the_readers_language(app, client, db, as_role):
    as_role(Role.MARKETER)
    people = lists.create_list("People")
    _upload(client, people.id, b"email,name\na@example.com,A\nb@example.com,B,extra\n")
    work(app, "imports")
    record = db.session.scalars(db.select(Import)).one()
    assert record.status == "failed" and record.error.startswith("line 3: 3 cells")
    url = f"/lists/{people.id}/imports/{record.id}"
    english = client.get(url).get_data(as_text=True)
    assert "Import stopped: line 3: 3 cells but the header has 2" in english
    french = client.get(url, headers=FR).get_data(as_text=True)
    assert "Import arrêté\u00a0: ligne 3\u00a0: 3 cellules alors que l’en-tête en a 2" in french


def test_list_pages_answer_in_french_with_numbers_in_french(client, db, as_role):
    as_role(Role.MARKETER)
    people = make_list(db, "Clients", [f"p{i}@example.com" for i in range(1234)])
    page = client.get(f"/lists/{people.id}", headers=FR).get_data(as_text=True)
    assert "1\u202f234 inscrits" in page or "1\u00a0234 inscrits" in page
    assert "Importer un fichier" in page and "Ajouter un abonné" in page
    refused = client.post("/lists/", data={"name": ""}, headers=FR).get_data(as_text=True)
    assert "Donnez un nom à la liste." in refused


def test_suppressions_name_the_campaign_and_the_reason(client, db, as_role):
    as_role(Role.VIEWER)
    campaign = make_campaign(db, [make_list(db, "People", [])], [])
    campaign.name = "Spring sale"
    db.session.add(
        Suppression(email="u@example.com", reason="unsubscribed", source=f"campaign {campaign.id}")
    )
    db.session.commit()
    page = client.get("/suppressions/").get_data(as_text=True)
    assert "campaign “Spring sale”" in page and f"campaign {campaign.id}<" not in page
    french = client.get("/suppressions/", headers=FR).get_data(as_text=True)
    assert "campagne «\u00a0Spring sale\u00a0»" in french, french[french.find("<tbody") :][:800]
    assert "désinscrit" in french

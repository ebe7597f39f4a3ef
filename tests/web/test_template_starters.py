"""The starter gallery page: pick a design, name it, land in its editor."""

from __future__ import annotations

import re

from mailer.models import Role, Template
from tests.factories import make_template


def test_the_gallery_shows_every_starter_and_the_blank_choices(client, as_role):
    as_role(Role.MARKETER)
    page = client.get("/templates/gallery")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("Newsletter", "Promotion", "Receipt", "Plain letter", "Event invitation"):
        assert f"<h3>{name}</h3>" in html
    for editor in ("visual", "mjml", "html"):
        assert f'href="/templates/new?editor={editor}"' in html
    # Each preview is the email with sample data, in a sandboxed frame, images served here.
    assert html.count('<iframe class="starter-frame" sandbox=""') == 8
    assert "Hi Jane," in html and "/static/starters/logo.png" in html
    assert "img-src * data:" in page.headers["Content-Security-Policy"]


def test_the_templates_page_leads_to_the_gallery(client, as_role):
    as_role(Role.MARKETER)
    assert 'href="/templates/gallery"' in client.get("/templates/").get_data(as_text=True)


def test_viewers_cannot_open_the_gallery_or_create(client, as_role, db):
    as_role(Role.VIEWER)
    assert client.get("/templates/gallery").status_code == 403
    assert client.post("/templates/gallery/welcome", data={"name": "Hi"}).status_code == 403
    assert db.session.scalar(db.select(db.func.count(Template.id))) == 0


def test_picking_a_starter_creates_the_template_and_opens_its_editor(client, as_role, db):
    as_role(Role.MARKETER)
    reply = client.post("/templates/gallery/welcome", data={"name": "Welcome series 1"})
    template = db.session.scalars(db.select(Template)).one()
    assert reply.status_code == 302
    assert reply.headers["Location"] == f"/templates/{template.id}"
    assert (template.name, template.editor) == ("Welcome series 1", "visual")
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Template “Welcome series 1” created from the “Welcome” starter." in page


def test_a_taken_name_is_refused_next_to_the_field_and_kept(client, as_role, db):
    as_role(Role.MARKETER)
    make_template(db, name="Taken")
    reply = client.post("/templates/gallery/digest", data={"name": "Taken"})
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert 'id="name-digest-error">Another template already has this name.' in html
    assert 'value="Taken"' in html
    # htmx: the card's form alone comes back, with the error; a success navigates.
    fragment = client.post(
        "/templates/gallery/digest", data={"name": "Taken"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 422
    body = fragment.get_data(as_text=True)
    assert "<html" not in body
    assert "Another template already has this name." in body
    done = client.post(
        "/templates/gallery/digest", data={"name": "Digest"}, headers={"HX-Request": "true"}
    )
    created = db.session.scalars(db.select(Template).filter_by(name="Digest")).one()
    assert done.headers["HX-Redirect"] == f"/templates/{created.id}"


def test_an_unknown_starter_is_not_found(client, as_role):
    as_role(Role.MARKETER)
    assert client.post("/templates/gallery/nope", data={"name": "X"}).status_code == 404


def test_the_gallery_speaks_french(client, as_role, db):
    as_role(Role.MARKETER)
    make_template(db, name="Reçu")
    french = {"Accept-Language": "fr"}
    page = client.get("/templates/gallery", headers=french).get_data(as_text=True)
    assert "Partir de zéro" in page and "<h3>Lettre simple</h3>" in page
    reply = client.post("/templates/gallery/receipt", data={"name": "Reçu"}, headers=french)
    assert "Un autre modèle porte déjà ce nom." in reply.get_data(as_text=True)


def test_the_gallery_is_shown_as_part_of_templates_in_the_bar(client, as_role):
    as_role(Role.MARKETER)
    page = client.get("/templates/gallery").get_data(as_text=True)
    current = re.findall(r'<a href="([^"]+)"\s+aria-current="page"', page)
    assert current == ["/templates/"]

"""The mapping step's pages: who may use them, errors next to their column, both languages,
cancelling; and the segment editor's new conditions in plain words."""

from __future__ import annotations

import io
from datetime import timedelta

from mailer.engine.imports import importer
from mailer.lib.storage import storage
from mailer.models import Import, Role
from mailer.models.base import utcnow
from mailer.services import lists
from tests.fixtures.imports import mapping_form

FR = {"Accept-Language": "fr"}


def _upload(client, list_id, content: bytes, name="people.csv"):
    response = client.post(
        f"/lists/{list_id}/imports",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return int(response.headers["Location"].split("/")[-2])


def test_the_mapping_page_previews_and_guesses_in_french(client, db, as_role):
    as_role(Role.MARKETER)
    people = lists.create_list("Clients")
    import_id = _upload(
        client, people.id, "Courriel;Prénom;Nom;LEID\na@example.com;Al;Bo;9\n".encode()
    )
    page = client.get(f"/imports/{import_id}/columns", headers=FR).get_data(as_text=True)
    assert "Associer les colonnes de people.csv" in page
    assert "La première ligne du fichier" in page and "a@example.com" in page
    assert '<option value="email" selected>Adresse e-mail</option>' in page
    assert '<option value="skip" selected>Ignorer cette colonne</option>' in page
    listed = client.get(f"/lists/{people.id}/imports/{import_id}", headers=FR)
    assert "Associez ses colonnes pour lancer l’import" in listed.get_data(as_text=True)


def test_errors_are_shown_next_to_their_column_and_nothing_starts(client, db, as_role):
    as_role(Role.MARKETER)
    people = lists.create_list("Clients")
    import_id = _upload(client, people.id, b"email,city,town\na@example.com,Oslo,Rome\n")
    form = mapping_form(import_id, town={"to": "attribute", "attribute": "City"})
    form["to.0"] = "first_name"
    response = client.post(f"/imports/{import_id}/columns", data=form, headers=FR)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choisissez la colonne qui contient les adresses e-mail." in body
    assert 'id="attribute.2-error">Une autre colonne porte déjà ce nom d’attribut.' in body
    assert 'value="first_name" selected' in body, "the person's choices are kept"
    assert db.session.get(Import, import_id).status == "mapping"


def test_a_viewer_cannot_map_and_a_cancelled_upload_is_deleted(client, db, as_role):
    as_role(Role.MARKETER)
    people = lists.create_list("Clients")
    import_id = _upload(client, people.id, b"email\na@example.com\n")
    key = db.session.get(Import, import_id).path
    as_role(Role.VIEWER)
    assert client.get(f"/imports/{import_id}/columns").status_code == 403
    assert client.post(f"/imports/{import_id}/cancel").status_code == 403
    as_role(Role.MARKETER)
    done = client.post(f"/imports/{import_id}/cancel", follow_redirects=True)
    assert "Import of people.csv cancelled." in done.get_data(as_text=True)
    assert db.session.get(Import, import_id) is None
    assert not storage().exists(key)


def test_the_segment_editor_offers_the_new_conditions_in_plain_words(client, db, as_role):
    as_role(Role.MARKETER)
    people = lists.create_list("Clients")
    people.attribute_types = {"score": "number", "joined": "date"}
    db.session.commit()
    page = client.get(f"/lists/{people.id}/segments/new").get_data(as_text=True)
    for words in (
        "Campaign activity",
        "opened none of the last … campaigns",
        "is a number between",
        "in the last … days",
        "is yes",
    ):
        assert words in page
    assert "score · number" in page and '<option value="joined">' in page
    french = client.get(f"/lists/{people.id}/segments/new", headers=FR).get_data(as_text=True)
    assert "n’a ouvert aucune des … dernières campagnes" in french
    assert "score · nombre" in french
    count = client.get(
        f"/lists/{people.id}/segments/count",
        query_string={"field": "engagement", "op": "opened", "value": "0"},
        headers={"HX-Request": "true"},
    )
    assert "Complete the conditions" in count.get_data(as_text=True)


def test_an_upload_never_matched_is_deleted_after_the_retention(app, client, db, as_role):
    as_role(Role.MARKETER)
    people = lists.create_list("Clients")
    import_id = _upload(client, people.id, b"email\na@example.com\n")
    record = db.session.get(Import, import_id)
    key = record.path
    days = app.config["MAILER_FAILED_UPLOAD_RETENTION_DAYS"]
    assert importer.purge_failed_uploads() == 0 and storage().exists(key)
    record.created_at = utcnow() - timedelta(days=days, minutes=1)
    db.session.commit()
    assert importer.purge_failed_uploads() == 1
    record = db.session.get(Import, import_id)
    assert record.status == "failed" and not storage().exists(key)
    page = client.get(f"/lists/{people.id}/imports/{import_id}", headers=FR)
    assert "a attendu trop longtemps que ses colonnes soient associées" in page.get_data(
        as_text=True
    )

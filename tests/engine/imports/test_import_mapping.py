"""The mapping step: guesses for the exports people bring, a remembered mapping, nested JSON
merged into attributes, typed attributes converted (bad values set aside with the reason)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mailer.engine.imports import importer, mapping
from mailer.engine.imports.files import preview
from mailer.models import Subscriber
from mailer.services import lists

EXPORTS = {
    "mailchimp": (
        "Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,"
        "OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,"
        "CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS\n"
        'ann@example.com,Ann,Lee,"1 Main St",0612345678,03/14,2,2023-01-01 10:00:00,1.2.3.4,'
        "2023-01-01 10:00:00,1.2.3.4,48.8,2.3,1,1,Europe/Paris,FR,IDF,2023-01-01 10:00:00,"
        '123,abc,,"vip,paid"\n',
        {
            "Email Address": "email",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Address": "attribute",
            "Phone Number": ("attribute", "text"),  # a leading zero: not a number
            "Birthday": ("attribute", "text"),  # "03/14" has no year: not a date
            "MEMBER_RATING": "skip",
            "OPTIN_TIME": "skip",
            "OPTIN_IP": "skip",
            "CONFIRM_IP": "skip",
            "LATITUDE": "skip",
            "LAST_CHANGED": "skip",
            "LEID": "skip",
            "EUID": "skip",
            "TAGS": "attribute",
        },
    ),
    "brevo": (
        "CONTACT ID,EMAIL,FIRSTNAME,LASTNAME,SMS,EMAIL_BLACKLISTED\n"
        "1,ann@example.com,Ann,Lee,+33612345678,false\n",
        {
            "CONTACT ID": "skip",
            "EMAIL": "email",
            "FIRSTNAME": "first_name",
            "LASTNAME": "last_name",
            "SMS": ("attribute", "text"),
            "EMAIL_BLACKLISTED": "skip",
        },
    ),
    "sendinblue": (
        "EMAIL;PRENOM;NOM;VILLE\nann@example.com;Anne;Leroy;Paris\n",
        {"EMAIL": "email", "PRENOM": "first_name", "NOM": "last_name", "VILLE": "attribute"},
    ),
    "mailjet": (
        "email,name,firstname,country\nann@example.com,Ann Lee,Ann,FR\n",
        {"email": "email", "name": "name", "firstname": "first_name", "country": "attribute"},
    ),
    "hubspot": (
        "Record ID,First Name,Last Name,Email,Create Date,Lifecycle Stage\n"
        "5,Ann,Lee,ann@example.com,2023-01-05 10:00,lead\n",
        {
            "Record ID": "skip",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Email": "email",
            "Create Date": ("attribute", "date"),
            "Lifecycle Stage": ("attribute", "text"),
        },
    ),
    "listmonk": (
        "uuid,email,name,attributes,status,created_at,updated_at\n"
        'x-1,ann@example.com,Ann Lee,"{""city"": ""Oslo""}",enabled,2023-01-01,2023-01-01\n',
        {
            "uuid": "skip",
            "email": "email",
            "name": "name",
            "attributes": "merge",
            "status": "skip",
            "created_at": "skip",
        },
    ),
    "french": (
        "Courriel,Prénom,Nom,Newsletter,Points\nann@example.com,Anne,Leroy,oui,12\n",
        {
            "Courriel": "email",
            "Prénom": "first_name",
            "Nom": "last_name",
            "Newsletter": ("attribute", "bool"),
            "Points": ("attribute", "number"),
        },
    ),
    "german": (
        "E-Mail;Vorname;Nachname;Geburtsdatum;Kunde\nann@example.com;Anna;Müller;1990-05-01;ja\n",
        {
            "E-Mail": "email",
            "Vorname": "first_name",
            "Nachname": "last_name",
            "Geburtsdatum": ("attribute", "date"),
            "Kunde": ("attribute", "bool"),
        },
    ),
    "spanish": (
        "Correo electrónico,Nombre,Apellido,Puntos\nann@example.com,Ana,García,12,5\n",
        {
            "Correo electrónico": "email",
            "Nombre": "first_name",
            "Apellido": "last_name",
        },
    ),
    "spanish-short": (
        "Correo,Nombre,Apellidos\nann@example.com,Ana,García\n",
        {"Correo": "email", "Nombre": "first_name", "Apellidos": "last_name"},
    ),
}


def _preview(text: str, name: str = "contacts.csv"):
    return preview(io.BytesIO(text.encode()), filename=name)


@pytest.mark.parametrize("export", EXPORTS)
def test_each_known_export_header_maps_as_expected(export):
    text, expected = EXPORTS[export]
    columns = {c.field: c for c in mapping.guess(_preview(text))}
    for field, want in expected.items():
        to, kind = want if isinstance(want, tuple) else (want, None)
        assert columns[field].to == to, f"{export}: {field}"
        if kind:
            assert columns[field].type == kind, f"{export}: {field}"


def test_a_json_nested_object_is_guessed_as_attributes_to_spread():
    text = json.dumps([{"email": "a@example.com", "profile": {"plan": "free"}, "n": 3}])
    columns = {c.field: c for c in mapping.guess(_preview(text, "a.json"))}
    assert (columns["profile"].to, columns["n"].type) == ("merge", "number")


def test_without_an_email_name_the_column_holding_addresses_is_the_email():
    columns = mapping.guess(_preview("who,code\nann@example.com,1\nbob@example.com,2\n"))
    assert [c.to for c in columns] == ["email", "attribute"]


def _upload(db, tmp_path, text: str, name: str, list_id: int):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return importer.create_import(path, list_id=list_id, filename=name, map_columns=True)


def test_a_remembered_mapping_is_offered_again_for_the_same_header(db, tmp_path):
    people = lists.create_list("People")
    text = "Mail,Vorname,Stadt\na@example.com,Ann,Oslo\n"
    first = _upload(db, tmp_path, text, "a.csv", people.id)
    columns, remembered = mapping.suggest(importer.read_preview(first))
    assert not remembered
    columns[1].to, columns[1].attribute = "attribute", "given"  # the person's own choice
    columns[2].to = "skip"
    importer.confirm_mapping(first, columns, importer.read_preview(first).fields)

    # Another file, same columns in another spelling and order.
    text = "STADT,vorname,MAIL\nRome,Bo,b@example.com\n"
    second = _upload(db, tmp_path, text, "b.csv", people.id)
    offered, remembered = mapping.suggest(importer.read_preview(second))
    assert remembered
    assert [(c.field, c.to, c.attribute) for c in offered] == [
        ("STADT", "skip", ""),
        ("vorname", "attribute", "given"),
        ("MAIL", "email", ""),
    ]
    # A different header gets the guesses.
    other = _upload(db, tmp_path, "Mail,Vorname\nc@example.com,Cy\n", "c.csv", people.id)
    assert mapping.suggest(importer.read_preview(other))[1] is False


def _rows(db, list_id):
    rows = db.session.scalars(db.select(Subscriber).filter_by(list_id=list_id)).all()
    return {s.email: s for s in rows}


def test_nested_json_objects_are_merged_into_attributes(db, tmp_path):
    people = lists.create_list("People")
    data = [
        {"email": "a@example.com", "attributes": {"plan": "free", "seats": 2}, "city": "Oslo"},
        {"email": "b@example.com", "attributes": {"city": "Rome"}, "city": "Paris"},
    ]
    record = _upload(db, tmp_path, json.dumps(data), "a.json", people.id)
    columns, _ = mapping.suggest(importer.read_preview(record))
    assert [c.to for c in columns] == ["email", "merge", "attribute"]
    importer.confirm_mapping(record, columns, importer.read_preview(record).fields)
    assert importer.run_import(record.id).status == "completed"
    rows = _rows(db, people.id)
    assert rows["a@example.com"].attributes == {"plan": "free", "seats": 2, "city": "Oslo"}
    assert rows["b@example.com"].attributes == {"city": "Paris"}  # the file's own column wins


def test_listmonk_attributes_merge_without_a_mapping_too(db, tmp_path):
    """The API and the command line import without the mapping step: listmonk's
    "attributes" (a JSON column in CSV, an object in JSON) still becomes attributes."""
    people = lists.create_list("People")
    csv_path = tmp_path / "listmonk.csv"
    csv_path.write_text(
        'email,name,attributes\na@example.com,Ann,"{""plan"": ""pro"", ""n"": 1}"\n'
    )
    record = importer.create_import(csv_path, list_id=people.id)
    assert importer.run_import(record.id).status == "completed"
    json_path = tmp_path / "listmonk.json"
    json_path.write_text(json.dumps([{"email": "b@example.com", "attributes": {"plan": "x"}}]))
    importer.run_import(importer.create_import(json_path, list_id=people.id).id)
    rows = _rows(db, people.id)
    assert rows["a@example.com"].attributes == {"plan": "pro", "n": 1}
    assert rows["b@example.com"].attributes == {"plan": "x"}


def test_typed_attributes_are_converted_and_bad_values_set_aside_with_the_reason(db, tmp_path):
    people = lists.create_list("People")
    text = (
        "Courriel;Prénom;Points;Inscrit le;Client;Code\n"
        "a@example.com;Ann;12,5;2024-03-01;oui;007\n"
        "b@example.com;Bob;lots;01/02/2024;non;008\n"
        "c@example.com;Cy;3;31/12/2023;x;\n"
        "d@example.com;Di;4;someday;non;009\n"
    )
    record = _upload(db, tmp_path, text, "people.csv", people.id)
    fields = importer.read_preview(record).fields
    columns, _ = mapping.suggest(importer.read_preview(record))
    by_field = {c.field: c for c in columns}
    by_field["Points"].type = "number"  # "lots" in the preview made it text
    by_field["Inscrit le"].type, by_field["Inscrit le"].attribute = "date", "joined"
    by_field["Client"].type = "bool"
    importer.confirm_mapping(record, columns, fields)
    assert people.attribute_types == {"Points": "number", "joined": "date", "Client": "bool"}
    done = importer.run_import(record.id)
    assert (done.inserted, done.rejected) == (2, 2)
    rows = _rows(db, people.id)
    assert rows["a@example.com"].first_name == "Ann"
    assert rows["a@example.com"].attributes == {
        "Points": 12.5,
        "joined": "2024-03-01",
        "Client": True,
        "Code": "007",
    }
    assert rows["c@example.com"].attributes == {"Points": 3, "joined": "2023-12-31", "Client": True}
    with importer.open_rejected(done) as report:
        rejected = list(csv.reader(io.StringIO(report.read().decode())))
    assert [r[:2] for r in rejected[1:]] == [
        ["line 3", "Points: not a number: 'lots'"],
        ["line 5", "joined: not a date: 'someday' (expected YYYY-MM-DD or DD/MM/YYYY)"],
    ]
    assert "b@example.com" in rejected[1][2], "nothing is lost: the raw row is kept"

"""The mapping step of an import: what each column of a file becomes, guessed from its name
and first values, remembered per header, and turned into the readers' Plan.

A mapping is a list of columns, each ``{"field", "to", "attribute", "type"}``: ``to`` is
email, first_name, last_name, name, attribute, merge (a JSON object spread into the
attributes) or skip; an attribute has a name and a type (values.TYPES).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from mailer.engine.imports.fields import EMAIL, FIRST, LAST, NAME, Plan
from mailer.engine.imports.files import Preview
from mailer.engine.imports.values import BOOL, DATE, NUMBER, TEXT, TYPES, BadValue, convert
from mailer.extensions import db
from mailer.models import ImportMapping
from mailer.models.base import utcnow

ROLES = {"email": EMAIL, "first_name": FIRST, "last_name": LAST, "name": NAME}
TARGETS = (*ROLES, "attribute", "merge", "skip")
ATTRIBUTE_MAX = 100
_ATTRIBUTE_NAME = re.compile(rf'[^"\\\x00-\x1f\x7f]{{1,{ATTRIBUTE_MAX}}}')

# Canonical header (lowercase, no accents, letters and digits only) -> what it is, for the
# exports people bring: Mailchimp, Brevo/Sendinblue, Mailjet, HubSpot, listmonk, and French,
# German and Spanish headers.
_GUESSES: dict[str, str] = {}
for _target, _names in {
    "email": "email emailaddress mail emailadresse mailadresse courriel adressemail "
    "adresseemail adressecourriel correo correoelectronico direcciondecorreo "
    "direcciondecorreoelectronico emails primaryemail useremail contactemail",
    "first_name": "firstname givenname first fname prenom vorname nombre nombrepila nomdepila",
    "last_name": "lastname surname familyname last lname nom nomdefamille nachname "
    "familienname apellido apellidos",
    "name": "name fullname nomcomplet vollstandigername nombrecompleto displayname contactname",
    "merge": "attributes attribs",
    # Technical columns of the exports: kept out unless asked for.
    "skip": "leid euid optinip optintime confirmip confirmtime latitude longitude gmtoff "
    "dstoff timezone cc region lastchanged memberrating id uuid recordid contactid "
    "ipaddress ip createdat updatedat addedtime modifiedtime emailblacklisted "
    "smsblacklisted status subscriberid listid unsubscribetime cleantime cleancampaigntitle "
    "cleancampaignid unsubcampaigntitle unsubcampaignid unsubreason unsubreasonother "
    "marketingpermissions",
}.items():
    for _name in _names.split():
        _GUESSES[_name] = _target
_DATE_NAMES = {"birthday", "birthdate", "dateofbirth", "dob", "anniversaire", "datedenaissance"}
_DATE_NAMES |= {"geburtstag", "geburtsdatum", "cumpleanos", "fechadenacimiento", "signupdate"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T].*)?")
_NUMBER = re.compile(r"-?(0|[1-9]\d*)([.,]\d+)?")
_YES_NO = {"true", "false", "yes", "no", "oui", "non", "ja", "nein", "si", "sí"}


def canonical(field: str) -> str:
    """ "Prénom", "PRENOM" and "pre_nom" all read "prenom"."""
    text = unicodedata.normalize("NFKD", field.casefold())
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


def header_hash(fields: Iterable[str]) -> str:
    """The same for any spelling or order of the same column names."""
    names = sorted({canonical(f) or f.strip() for f in fields})
    return hashlib.sha256("\x1f".join(names).encode()).hexdigest()


@dataclass
class Column:
    field: str
    to: str
    attribute: str = ""
    type: str = TEXT

    def as_dict(self) -> dict[str, str]:
        if self.to != "attribute":
            return {"field": self.field, "to": self.to, "attribute": "", "type": TEXT}
        return {"field": self.field, "to": self.to, "attribute": self.attribute, "type": self.type}


def guess(preview: Preview) -> list[Column]:
    """A column per field: its role by name, an attribute typed by its first values."""
    columns = []
    taken: set[str] = set()
    for i, field in enumerate(preview.fields):
        values = [row[i] for row in preview.rows if row[i] not in (None, "")]
        target = _GUESSES.get(canonical(field), "attribute")
        if target in ROLES and target in taken:
            target = "attribute"  # a second "Name": the first one found wins
        if target == "attribute" and values and all(type(v) is dict for v in values):
            target = "merge"
        if target in ROLES:
            taken.add(target)
        kind = _guess_type(field, values) if target == "attribute" else TEXT
        columns.append(Column(field, target, field.strip() if target == "attribute" else "", kind))
    if "email" not in taken:  # no name says email: the first column whose values are emails
        for i, column in enumerate(columns):
            values = [str(row[i]) for row in preview.rows if row[i]]
            if values and all("@" in v for v in values):
                column.to, column.attribute, column.type = "email", "", TEXT
                break
    return columns


def _guess_type(field: str, values: list[Any]) -> str:
    if canonical(field) in _DATE_NAMES and _all_dates(values):
        return DATE  # not Mailchimp's "03/14" birthdays without a year: they stay text
    if not values:
        return TEXT
    if all(v is True or v is False for v in values):
        return BOOL
    if all(type(v) in (int, float) for v in values):
        return NUMBER
    texts = [v.strip() for v in values if type(v) is str]
    if len(texts) != len(values):
        return TEXT
    if all(_ISO_DATE.fullmatch(t) for t in texts):
        return DATE
    if all(_NUMBER.fullmatch(t) for t in texts):
        return NUMBER  # leading zeros (post codes, phone numbers) stay text
    if all(t.lower() in _YES_NO for t in texts):
        return BOOL
    return TEXT


def _all_dates(values: list[Any]) -> bool:
    try:
        for value in values:
            convert(DATE, value)
    except BadValue:
        return False
    return True


def suggest(preview: Preview) -> tuple[list[Column], bool]:
    """The mapping to offer: the one remembered for this header, or a guess; and whether it
    was remembered."""
    remembered = db.session.scalar(
        select(ImportMapping.columns).where(
            ImportMapping.header_hash == header_hash(preview.fields)
        )
    )
    guessed = guess(preview)
    if not remembered:
        return guessed, False
    by_name = {canonical(c.get("field", "")): c for c in remembered}
    columns = []
    for column in guessed:
        kept = by_name.get(canonical(column.field))
        if kept is None:
            columns.append(column)
        else:
            columns.append(
                Column(column.field, kept["to"], kept.get("attribute", ""), kept.get("type", TEXT))
            )
    return columns, True


def remember(fields: list[str], columns: list[Column]) -> None:
    """Keep the mapping for the next file with this header (the caller commits)."""
    key = header_hash(fields)
    stored = [c.as_dict() for c in columns]
    record = db.session.scalar(select(ImportMapping).filter_by(header_hash=key))
    if record is None:
        db.session.add(ImportMapping(header_hash=key, columns=stored))
    else:
        record.columns, record.updated_at = stored, utcnow()


def parse(fields: list[str], form: dict[str, str]) -> tuple[list[Column], dict[str, str]]:
    """The mapping form's answer (``to.N``, ``attribute.N``, ``type.N`` per column N), and
    the errors keyed by those names (plus "mapping" for the whole)."""
    columns, errors = [], {}
    seen_roles: dict[str, int] = {}
    seen_attributes: dict[str, int] = {}
    for i, field in enumerate(fields):
        to = form.get(f"to.{i}", "skip")
        attribute = (form.get(f"attribute.{i}") or "").strip()
        kind = form.get(f"type.{i}") or TEXT
        if to not in TARGETS:
            errors[f"to.{i}"] = "choose"
            to = "skip"
        if to in ROLES:
            if to in seen_roles:
                errors[f"to.{i}"] = "role-twice"
            seen_roles[to] = i
            attribute, kind = "", TEXT
        elif to == "attribute":
            attribute = attribute or field.strip()
            if not _ATTRIBUTE_NAME.fullmatch(attribute):
                errors[f"attribute.{i}"] = "bad-name"
            elif attribute.casefold() in seen_attributes:
                errors[f"attribute.{i}"] = "attribute-twice"
            seen_attributes[attribute.casefold()] = i
            if kind not in TYPES:
                errors[f"type.{i}"] = "choose"
                kind = TEXT
        else:
            attribute, kind = "", TEXT
        columns.append(Column(field, to, attribute, kind))
    if "email" not in seen_roles:
        errors["mapping"] = "no-email"
    return columns, errors


def plan(columns: list[dict[str, str]] | list[Column]) -> Plan:
    """The readers' Plan for a stored mapping."""
    items = [c if isinstance(c, Column) else Column(**c) for c in columns]
    roles = {ROLES[c.to]: c.field for c in items if c.to in ROLES}
    skip = frozenset(c.field for c in items if c.to == "skip")
    merge = frozenset(c.field for c in items if c.to == "merge")
    rename = {c.field: c.attribute for c in items if c.to == "attribute" and c.attribute != c.field}
    types = {c.attribute: c.type for c in items if c.to == "attribute" and c.type != TEXT}
    return Plan(roles, skip, rename, merge, types)


def attribute_types(columns: list[Column]) -> dict[str, str]:
    """Attribute name -> type for a list's schema (text ones included, so a column changed
    back to text forgets its old type)."""
    return {c.attribute: c.type for c in columns if c.to == "attribute"}


def sample(column: Column, values: list[Any]) -> list[tuple[Any, str | None]]:
    """The preview values as the import would store them, with the reason for any that
    would send its row to the rejected rows."""
    shown: list[tuple[Any, str | None]] = []
    for value in values:
        if column.to != "attribute" or value in (None, ""):
            shown.append((value, None))
            continue
        try:
            shown.append((convert(column.type, value), None))
        except BadValue as exc:
            shown.append((value, str(exc)))
    return shown

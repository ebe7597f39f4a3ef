"""What a contact file's rows become (ContactRow, RejectedRow, ImportFileError) and how field
names are matched to email, first name, last name and name.

Names match case-insensitively, ignoring spaces, ``_`` and ``-`` (aliases below; the first
present wins). Every other field goes into ``attributes``: JSON values as parsed, CSV values as
strings with empty cells left out. The CSV header or the first JSON object decides the fields;
later JSON objects are matched key by key with the same rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mailer.engine.imports.values import CONVERTERS, BadValue

#: Longest ``RejectedRow.raw`` (characters).
RAW_LIMIT = 200
#: Distinct JSON keys whose role is cached; beyond this keys are classified each time.
MAX_CACHED_KEYS = 10_000

# Roles of a field; slots 0-3 index the per-row value list.
EMAIL, FIRST, LAST, NAME, ATTR = 0, 1, 2, 3, 4
# Canonical field name (lowercased, without spaces/_/-) -> (role, priority; lower wins).
_ALIASES: dict[str, tuple[int, int]] = {
    "email": (EMAIL, 0),
    "emailaddress": (EMAIL, 1),
    "mail": (EMAIL, 2),
    "firstname": (FIRST, 0),
    "givenname": (FIRST, 1),
    "lastname": (LAST, 0),
    "surname": (LAST, 1),
    "familyname": (LAST, 2),
    "name": (NAME, 0),
    "fullname": (NAME, 1),
}
_CANON_STRIP = re.compile(r"[\s_\-]+")


class ImportFileError(Exception):
    """The file cannot be imported further; the message says why and where.

    ``template`` is one of ``messages``' English templates, filled in with ``values``."""

    def __init__(self, template: str, position: str | None = None, **values: object) -> None:
        super().__init__(template % values if values else template)
        self.template = template
        self.values = values
        self.position = position


@dataclass(slots=True)
class ContactRow:
    """A valid contact. ``position`` is "line N" (CSV/NDJSON) or "item N" (JSON), 1-based."""

    position: str
    email: str
    first_name: str | None
    last_name: str | None
    name: str | None
    attributes: dict[str, Any]


@dataclass(slots=True)
class RejectedRow:
    """A row that was skipped, kept so the user can be shown what and why."""

    position: str
    reason: str
    raw: str


Row = ContactRow | RejectedRow


@dataclass(frozen=True)
class Plan:
    """How a file's fields become a contact: the mapping step's choice, or the automatic
    one. ``roles`` overrides the alias matching; fields it does not name stay attributes
    unless skipped; ``merge`` fields hold a JSON object (or its text, in a CSV cell) whose
    keys join the attributes (the file's own fields win); ``types`` converts attributes."""

    roles: dict[int, str] | None = None
    skip: frozenset[str] = frozenset()
    rename: dict[str, str] = field(default_factory=dict)
    merge: frozenset[str] = frozenset()
    types: dict[str, str] = field(default_factory=dict)
    converters: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        steps = tuple((name, CONVERTERS[kind]) for name, kind in self.types.items())
        object.__setattr__(self, "converters", steps)

    @property
    def shapes(self) -> bool:
        """Whether rows need ``shape`` (False: the readers' fast path as before)."""
        return bool(self.skip or self.rename or self.merge or self.types)

    def shape(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Skip, rename, merge and convert one row's attributes; raises BadValue."""
        for key in self.skip:
            attrs.pop(key, None)
        for source, target in self.rename.items():
            if source in attrs:
                attrs[target] = attrs.pop(source)
        for key in self.merge:
            value = attrs.pop(key, None)
            if type(value) is str and value.lstrip().startswith("{"):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise BadValue(f"{key}: not a JSON object") from None
            if type(value) is dict:
                attrs = value | attrs
            elif value is not None and value != "":
                attrs[key] = value
        for name, convert in self.converters:
            value = attrs.get(name)
            if value is not None:
                try:
                    attrs[name] = convert(value)
                except BadValue as exc:
                    raise BadValue(f"{name}: {exc}") from None
        return attrs


#: Fields whose JSON object is spread into the attributes when no mapping says otherwise
#: (listmonk's exports call it "attributes"; JSON files may nest any object).
MERGED_BY_DEFAULT = frozenset({"attributes", "attribs"})


def field_role(key: str) -> tuple[int, int]:
    return _ALIASES.get(_CANON_STRIP.sub("", key.lower()), (ATTR, 0))


def pick_fields(keys: Iterable[str]) -> dict[int, str]:
    """Choose, per role, the best-matching field name (by alias priority, then position)."""
    best: dict[int, tuple[int, str]] = {}
    for key in keys:
        role, prio = field_role(key)
        if role != ATTR and (role not in best or prio < best[role][0]):
            best[role] = (prio, key)
    return {role: key for role, (_, key) in best.items()}


def match_other_keys(obj: dict[str, Any], found: list[Any], plain: set[str]) -> None:
    """Slow path: give keys the first object did not have (or spare aliases) their role.

    A role still empty takes the first alias key in key order (``found`` is updated and the
    key removed from ``obj``); other keys stay attributes, and plain ones are remembered.
    """
    for key in [k for k in obj if k not in plain]:
        role = field_role(key)[0]
        if role == ATTR:
            if len(plain) < MAX_CACHED_KEYS:
                plain.add(key)
        elif found[role] is None and (role == EMAIL or type(obj[key]) is str):
            found[role] = obj.pop(key)
    if found[0] is None:  # the email may hide under an alias that the first object also had
        for key in list(obj):
            if field_role(key)[0] == EMAIL and obj[key] is not None:
                found[0] = obj.pop(key)
                break


def name_value(obj: dict[str, Any], key: str | None, value: Any) -> str | None:
    """A name must be text; anything else is kept as an attribute under its own key."""
    if type(value) is str:
        return value.strip() or None
    if key is not None:
        obj[key] = value
    return None


def list_fields(keys: list[str]) -> str:
    if not keys:
        return "(none)"
    shown = ", ".join(repr(k) if not k.strip() else k for k in keys[:30])
    return shown + (f", … ({len(keys)} in all)" if len(keys) > 30 else "")


def clip(text: str) -> str:
    return text if len(text) <= RAW_LIMIT else text[: RAW_LIMIT - 1] + "…"


def raw_json(value: object) -> str:
    try:
        return clip(json.dumps(value, ensure_ascii=False, default=str))
    except (RecursionError, ValueError):
        return "(too deeply nested to show)"

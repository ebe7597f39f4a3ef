"""Typed attribute values: text, number, date, yes/no, converted from what files hold.

A number is stored as a JSON number, a date as "YYYY-MM-DD" text (so it sorts and compares
as text on every database), yes/no as JSON true/false. A value that does not convert raises
BadValue with the reason the rejected-rows file shows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

TEXT, NUMBER, DATE, BOOL = "text", "number", "date", "bool"
TYPES = (TEXT, NUMBER, DATE, BOOL)

_YES = frozenset(
    [
        "yes",
        "y",
        "true",
        "t",
        "1",
        "x",
        "on",
        "oui",
        "o",
        "vrai",
        "ja",
        "j",
        "wahr",
        "si",
        "sí",
        "s",
        "verdadero",
    ]
)
_NO = frozenset(["no", "n", "false", "f", "0", "off", "non", "faux", "nein", "falsch", "falso"])
_NUMBER_SPACES = re.compile(r"[\s\u00a0\u202f']")
_DAY_FIRST = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")


class BadValue(ValueError):
    """A value that is not of its attribute's type; the message is the reason shown."""


def convert(kind: str, value: Any) -> Any:
    """``value`` as an attribute of type ``kind``; None stays None."""
    if value is None:
        return None
    if kind == NUMBER:
        return to_number(value)
    if kind == DATE:
        return to_date(value)
    if kind == BOOL:
        return to_bool(value)
    return value if type(value) is str else _text(value)


def to_text(value: Any) -> Any:
    return value if type(value) is str else _text(value)


def _text(value: Any) -> Any:
    if isinstance(value, dict | list):
        return value  # structured values stay as they are
    if value is True or value is False:
        return "yes" if value else "no"
    return str(value)


def to_number(value: Any) -> int | float:
    if type(value) in (int, float):
        return value
    if type(value) is not str:
        raise BadValue(f"not a number: {str(value)[:40]!r}")
    text = _NUMBER_SPACES.sub("", value)
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # 12,5 written the French or German way
    elif "," in text:
        text = text.replace(",", "")  # 1,234.5
    try:
        number = float(text)
    except ValueError:
        raise BadValue(f"not a number: {value[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadValue(f"not a number: {value[:40]!r}")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def to_date(value: Any) -> str:
    """ISO dates and date-times, or day/month/year with / . or - (month/day/year when the
    second number cannot be a month)."""
    if type(value) is not str:
        raise BadValue(f"not a date: {str(value)[:40]!r}")
    text = value.strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        pass
    match = _DAY_FIRST.fullmatch(text.split(" ")[0])
    if match:
        first, second, year = (int(g) for g in match.groups())
        day, month = (second, first) if second > 12 else (first, second)
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            pass
    raise BadValue(f"not a date: {value[:40]!r} (expected YYYY-MM-DD or DD/MM/YYYY)")


def to_bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    if type(value) in (int, float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise BadValue(f"not yes or no: {str(value)[:40]!r}")


#: The converter of each type (None values are left out by the caller).
CONVERTERS = {TEXT: to_text, NUMBER: to_number, DATE: to_date, BOOL: to_bool}

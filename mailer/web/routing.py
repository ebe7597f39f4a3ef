"""URL converters for the whole app: ``<int:…>`` only matches numbers a database id can be.

The app's ``int`` converter is replaced once, before any route is added, so no route can
forget the bound: ``/lists/99999999999999999999`` matches nothing (404) instead of reaching
the database driver, which raises for a number past BIGINT (a 500).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from mailer.lib.dbutil import MAX_ID


def digits_up_to(bound: int) -> str:
    """A regex of the decimal numbers from 0 to ``bound`` (no sign, no leading zeros past
    ``bound``'s length): for each digit of ``bound``, a smaller digit there and any after."""
    text = str(bound)
    options = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - i - 1
            options.append(f"{text[:i]}[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` bounded to the largest BIGINT, ASCII digits only.

    The bound is in the regex, not only in ``max``: Werkzeug checks a converter's value after
    choosing the rule, so a value refused there answers 405 when the path has rules for other
    methods, where a number past any id should answer 404.
    """

    regex = digits_up_to(MAX_ID)

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: rules pick their converter when added."""
    app.url_map.converters["int"] = IdConverter

"""URL converters for the whole app: ``<int:…>`` only matches numbers a database id can be.

The app's ``int`` converter is replaced once, before any route is added, so no route can
forget the bound: ``/lists/99999999999999999999`` matches nothing (404) instead of reaching
the database driver, which raises for a number past BIGINT (a 500).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from mailer.services.dbutil import MAX_ID


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` with ``max`` defaulting to the largest BIGINT, ASCII digits only."""

    regex = r"[0-9]+"

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

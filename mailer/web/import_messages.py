"""An import's stored English message, shown in the reader's language."""

from __future__ import annotations

from flask_babel import gettext

from mailer.engine.imports import messages


def import_error(stored: str | None) -> str:
    """The message translated when it was written from one of the import templates; other
    text (an older message) as it is."""
    if not stored:
        return ""
    found = messages.parse(stored)
    if found is None:
        return gettext(stored)
    template, values = found
    return gettext(template) % values if values else gettext(template)

"""An import's stored English message, shown in the reader's language."""

from __future__ import annotations

from flask_babel import gettext

from mailer.engine.imports import messages
from mailer.lib.i18n import translate_stored


def import_error(stored: str | None) -> str:
    """The message translated when it was written from one of the import templates; other
    text (an older message) as it is."""
    return translate_stored(stored, messages.ALL, gettext)

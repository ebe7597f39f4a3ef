"""Marking text for translation where it is stored now and shown later.

``N_("…")`` returns its argument unchanged; ``scripts/translations.py`` finds the string, so a
page can show a stored English message translated with ``gettext(message)``."""


def N_(message: str) -> str:  # noqa: N802 (gettext's usual name for the marker)
    return message

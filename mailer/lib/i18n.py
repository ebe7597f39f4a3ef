"""Text written now (often by a worker, in English) and shown later in its reader's language.

``N_("…")`` returns its argument unchanged; ``scripts/translations.py`` finds the string. A
message with values is stored filled in (the API and logs read plain English), and
``parse_stored`` finds its template and values back, so a page can show it translated. Show
stored text with plain ``gettext`` (the page escapes it), never Jinja's ``_()``, which takes
its argument for trusted markup."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache


def N_(message: str) -> str:  # noqa: N802 (gettext's usual name for the marker)
    return message


@cache
def _patterns(templates: tuple[str, ...]) -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in templates:
        parts = re.split(r"%\((\w+)\)s", template)
        pattern = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)" for i, part in enumerate(parts)
        )
        found.append((re.compile(pattern, re.S), template))
    return found


def parse_stored(message: str, templates: Iterable[str]) -> tuple[str, dict[str, str]] | None:
    """The template (one of ``templates``) and values ``message`` was written from; None for
    other text."""
    for pattern, template in _patterns(tuple(templates)):
        if found := pattern.fullmatch(message):
            return template, found.groupdict()
    return None


def translate_stored(message: str | None, templates: Iterable[str], gettext) -> str:
    """``message`` in the reader's language when written from one of ``templates``; other
    text through ``gettext`` as it is (a message without values)."""
    if not message:
        return ""
    found = parse_stored(message, templates)
    if found is None:
        return gettext(message)
    template, values = found
    return gettext(template) % values if values else gettext(template)

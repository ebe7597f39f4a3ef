#!/usr/bin/env python3
"""Keep the UI's French complete.

    scripts/translations.py update    # add new strings to the French catalogue, drop old ones
    scripts/translations.py missing   # list the strings that still need a French translation
    scripts/translations.py compile   # messages.po -> messages.mo (both are committed)
    scripts/translations.py check     # fail on a missing French string, a stale .mo, or
                                      # visible template text outside the translation functions

Strings are found in mailer/ (Python: _, gettext, ngettext, lazy_gettext, _l, N_; templates:
{{ _("…") }} and {% trans %}; the providers' settings fields). The catalogue has no source
locations, so it changes only when a string does, and its entries stay sorted.
"""

from __future__ import annotations

import io
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "mailer"
TEMPLATES = SOURCE / "templates"
LANGUAGES = ("fr",)
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}
METHODS = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.txt", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
# Words that are the same in every language and may stand outside the translation functions
# ("breadcrumb": Pico CSS styles nav[aria-label=breadcrumb], so that label stays as it is).
UNTRANSLATED = {
    "breadcrumb",
    "Mailer",
    "HTML",
    "MJML",
    "CSV",
    "JSON",
    "API",
    "SMTP",
    "SES",
    "URL",
    "RFC",
}
# Attributes whose text people read (tooltips, placeholders, screen readers, confirmations).
VISIBLE_ATTRIBUTES = {"title", "placeholder", "alt", "aria-label", "hx-confirm", "data-confirm"}


def po_path(language: str) -> Path:
    return SOURCE / "translations" / language / "LC_MESSAGES" / "messages.po"


def provider_field_texts() -> list[str]:
    """The providers' settings as the channel form shows them (label, help, choices): plain
    data in mailer/providers, translated where the form renders them (services/channels)."""
    sys.path.insert(0, str(ROOT))
    from mailer.providers import registry

    texts = []
    for cls in registry.values():
        for field in cls.FIELDS:
            texts += [field.label, field.help, *(label for _, label in field.choices or ())]
    return [text for text in texts if text]


def extract() -> Catalog:
    catalog = Catalog(project="Mailer", charset="utf-8")
    options = {"**/templates/**": {"extensions": "jinja2.ext.i18n", "silent": "false"}}
    for filename, lineno, message, comments, context in extract_from_dir(
        SOURCE, METHODS, options_map=options, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for text in provider_field_texts():
        catalog.add(text, None, [("mailer/providers", 0)])
    return catalog


PLURALS = {"fr": "nplurals=2; plural=(n > 1);"}
HEADER = """\
# The UI's strings in {language}. Edit the msgstr lines; scripts/translations.py keeps the rest.
#"""


def read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        catalog = Catalog(locale=language, project="Mailer", charset="utf-8")
    else:
        with path.open("rb") as f:
            catalog = read_po(f, locale=language)
    catalog.header_comment = HEADER.format(language=language)
    # gettext's usual French rule: singular for 0 and 1 (CLDR's extra "many" form is not used).
    catalog.mime_headers = [("Plural-Forms", PLURALS[language])]
    catalog.fuzzy = False
    catalog.version = ""
    catalog.msgid_bugs_address = ""
    catalog.last_translator = "Mailer contributors"
    catalog.language_team = ""
    return catalog


def typeset(text: str, language: str) -> str:
    """French typography: a no-break space inside « » and before : ; ! ? (consistent
    everywhere, and a line never starts with the mark)."""
    if language != "fr" or not text:
        return text
    text = re.sub(r"« ", "«\u00a0", text)
    return re.sub(r" (?=[»:;!?](\s|$|\"|\)|<|\.|,))", "\u00a0", text)


def write(catalog: Catalog, language: str) -> None:
    for message in catalog:
        if message.id and message.string:
            strings = message.string
            message.string = (
                tuple(typeset(s, language) for s in strings)
                if isinstance(strings, tuple | list)
                else typeset(strings, language)
            )
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        width=100,
        no_location=True,
        omit_header=False,
        sort_output=True,
        ignore_obsolete=True,
        include_previous=False,
    )
    path.write_bytes(buffer.getvalue())


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update() -> None:
    template = extract()
    for language in LANGUAGES:
        catalog = read(language)
        catalog.update(
            template,
            no_fuzzy_matching=True,
            update_header_comment=False,
            update_creation_date=False,
        )
        write(catalog, language)
        print(f"{po_path(language).relative_to(ROOT)}: {len(catalog)} strings")


def missing(catalog: Catalog, template: Catalog) -> list[str]:
    out = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        strings = found.string if found else None
        done = all(strings) if isinstance(strings, tuple | list) else bool(strings)
        if not found or not done or found.fuzzy:
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def compile_all() -> None:
    for language in LANGUAGES:
        mo = po_path(language).with_suffix(".mo")
        mo.write_bytes(compiled(read(language)))
        print(f"{mo.relative_to(ROOT)} written")


class _VisibleText(HTMLParser):
    """Collects text a reader sees in a template's HTML once Jinja code is blanked out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self._note(value)
        if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
            self._note(dict(attrs).get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self._note(data)

    def _note(self, text: str) -> None:
        words = re.findall(r"[^\W\d_][\w'’-]*", text)
        if any(word not in UNTRANSLATED for word in words):
            self.found.append(" ".join(text.split())[:80])


def untranslated_text(source: str) -> list[str]:
    """Visible text of one template outside {{ _() }}/{% trans %}: each piece, shortened."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # only lexes
    html, in_trans, after_block_begin = [], False, False
    for _, kind, value in env.lex(source):
        if kind == "whitespace":  # inside {% %}: "{% trans" lexes as begin, space, name
            continue
        if kind == "data":
            html.append("\x00" if in_trans else value)
        elif kind in ("variable_begin", "block_begin"):
            html.append("\x00")
            after_block_begin = kind == "block_begin"
            continue
        elif after_block_begin and kind == "name":
            in_trans = value in ("trans", "pluralize") or (in_trans and value != "endtrans")
        after_block_begin = False
    parser = _VisibleText()
    parser.feed("".join(html))
    parser.close()
    return parser.found


def template_problems() -> list[str]:
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for text in untranslated_text(path.read_text(encoding="utf-8")):
            problems.append(f"{path.relative_to(ROOT)}: {text!r}")
    return problems


def check() -> int:
    template = extract()
    problems = []
    for language in LANGUAGES:
        catalog = read(language)
        for message_id in missing(catalog, template):
            problems.append(f"{language}: no translation for {message_id!r}")
        for message, errors in catalog.check():
            for error in errors:
                problems.append(f"{language}: {message.id!r}: {error}")
        mo = po_path(language).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(catalog):
            problems.append(f"{mo.relative_to(ROOT)} is stale: run scripts/translations.py compile")
    problems += template_problems()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        update()
    elif command == "missing":
        template = extract()
        for language in LANGUAGES:
            for message_id in missing(read(language), template):
                print(f"{language}: {message_id}")
    elif command == "compile":
        compile_all()
    elif command == "check":
        return check()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""MJML to HTML on the server, with mjml-python (MRML, a Rust port: no Node at run time).

The template language passes through untouched (``{{ first_name }}``, ``{% if %}``, variables
in link addresses), so an MJML design is compiled once when saved and rendered per recipient
like any HTML template. Mistakes come back as :class:`MjmlProblem` with the line, in words a
marketer can act on: MRML's own messages name byte offsets, so the tags are checked first.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import mjml

from mailer.lib.i18n import N_

# Every element MJML 4 knows (mj-raw holds HTML as is; ending tags of the others must match).
ELEMENTS = frozenset(
    [
        "mjml",
        "mj-head",
        "mj-body",
        "mj-attributes",
        "mj-all",
        "mj-class",
        "mj-breakpoint",
        "mj-font",
        "mj-html-attributes",
        "mj-html-attribute",
        "mj-selector",
        "mj-preview",
        "mj-style",
        "mj-title",
        "mj-include",
        "mj-accordion",
        "mj-accordion-element",
        "mj-accordion-title",
        "mj-accordion-text",
        "mj-button",
        "mj-carousel",
        "mj-carousel-image",
        "mj-column",
        "mj-divider",
        "mj-group",
        "mj-hero",
        "mj-image",
        "mj-navbar",
        "mj-navbar-link",
        "mj-raw",
        "mj-section",
        "mj-social",
        "mj-social-element",
        "mj-spacer",
        "mj-table",
        "mj-text",
        "mj-wrapper",
    ]
)
# Their content is HTML, not MJML: tags inside them are not checked.
HTML_CONTENT = frozenset(
    [
        "mj-text",
        "mj-button",
        "mj-table",
        "mj-raw",
        "mj-navbar-link",
        "mj-accordion-title",
        "mj-accordion-text",
        "mj-social-element",
        "mj-style",
        "mj-title",
        "mj-preview",
        "mj-html-attribute",
    ]
)
VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)
SIZE_MAX = 2_000_000  # characters of MJML: far above any email, below what hurts a worker


class MjmlProblem(ValueError):
    """Why MJML does not compile: ``explanation`` is an English template for ``%`` with
    ``values`` (pages translate it), ``line`` where known, ``message`` the raw text."""

    def __init__(
        self, explanation: str, values: dict[str, object], line: int | None, message: str
    ) -> None:
        super().__init__(message)
        self.explanation = explanation
        self.values = values
        self.line = line
        self.message = message


class _TagCheck(HTMLParser):
    """Finds unknown mj- elements and MJML tags opened and never closed, with their lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []
        self.problem: MjmlProblem | None = None

    def _fail(self, explanation: str, line: int, **values: object) -> None:
        if self.problem is None:
            values = {"line": line, **values}
            self.problem = MjmlProblem(explanation, values, line, explanation % values)

    def _in_html(self) -> bool:
        return bool(self.stack) and (
            self.stack[-1][0] in HTML_CONTENT or not self.stack[-1][0].startswith("mj")
        )

    def handle_starttag(self, tag: str, attrs) -> None:
        self._open(tag, closed=False)

    def handle_startendtag(self, tag: str, attrs) -> None:
        self._open(tag, closed=True)

    def _open(self, tag: str, closed: bool) -> None:
        line = self.getpos()[0]
        if self._in_html():  # HTML inside mj-text and the like: MRML wants it closed too
            if not closed and tag not in VOID:
                self.stack.append((tag, line))
            return
        if not (tag == "mjml" or tag.startswith("mj-")):
            return
        if tag not in ELEMENTS:
            self._fail(N_("Line %(line)s: MJML has no <%(tag)s> element."), line, tag=tag)
        elif not closed:
            self.stack.append((tag, line))

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if tag in VOID:
            return
        if not self.stack or all(open_tag != tag for open_tag, _ in self.stack):
            self._fail(
                N_("Line %(line)s: </%(tag)s> closes an element that is not open."),
                line,
                tag=tag,
            )
            return
        open_tag, opened = self.stack.pop()
        if open_tag != tag:
            self._fail(
                N_("<%(open)s> opened on line %(opened)s is not closed before </%(tag)s>."),
                line,
                open=open_tag,
                opened=opened,
                tag=tag,
            )
            while self.stack and self.stack[-1][0] != tag:
                self.stack.pop()
            if self.stack:
                self.stack.pop()


_POSITION = re.compile(r"at position (\d+)")


def check_tags(source: str) -> None:
    """Raise MjmlProblem for the first tag mistake, with its line."""
    if not source.strip():
        raise MjmlProblem(N_("The MJML is empty."), {}, None, "empty")
    if len(source) > SIZE_MAX:
        raise MjmlProblem(
            N_("The MJML is too long (at most %(max)s characters)."),
            {"max": f"{SIZE_MAX:,}"},
            None,
            "too long",
        )
    if not re.match(r"\s*(<!--.*?-->\s*)*<mjml[\s>]", source, re.S):
        raise MjmlProblem(
            N_("MJML starts with <mjml> and holds an <mj-body>."), {}, 1, "no <mjml> root"
        )
    parser = _TagCheck()
    parser.feed(source)
    parser.close()
    if parser.problem is not None:
        raise parser.problem
    if parser.stack:
        tag, line = parser.stack[-1]
        raise MjmlProblem(
            N_("<%(tag)s> opened on line %(line)s is never closed: add </%(tag)s>."),
            {"tag": tag, "line": line},
            line,
            f"<{tag}> not closed",
        )


def normalize_newlines(source: str) -> str:
    """Browsers post a textarea's lines ending in CR LF; MRML reads a CR as a stray token."""
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _refuse_include(path: str) -> str:
    raise ValueError("includes are not allowed")


def compile_mjml(source: str) -> str:
    """The HTML of an MJML document (template tags kept as written), or MjmlProblem."""
    source = normalize_newlines(source)
    check_tags(source)
    try:
        # fonts={}: no Google Fonts link unless the MJML asks for one with <mj-font>; MJML's
        # default stylesheet would make every recipient's mail client call Google.
        return mjml.mjml2html(source, include_loader=_refuse_include, fonts={})
    except ValueError as exc:
        message = str(exc)
        line = None
        if found := _POSITION.search(message):
            line = source.encode()[: int(found.group(1))].count(b"\n") + 1
        if "include" in message:
            explanation = N_("MJML includes (<mj-include>) are not available: paste the part in.")
        else:
            explanation = N_(
                "The MJML cannot be read: check that every tag is written whole, and write a "
                "“<” that does not start a tag as &lt;."
            )
        raise MjmlProblem(explanation, {}, line, message) from None

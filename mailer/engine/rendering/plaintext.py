"""Plain-text bodies from HTML: per rendered email, or once per template at compile time."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from mailer.engine.rendering import budget as render_budget
from mailer.engine.rendering.placeholders import (
    PLACEHOLDER_RE,
    RESERVED_RE,
    BlockPaths,
    Placeholders,
    Segment,
)

_current_budget = render_budget.current

# Break markers: the converter emits these instead of newlines; finish_text turns each run
# into the right number of newlines. Because resolution runs after rendering, a text template
# generated once at compile time breaks lines exactly like converting each rendered HTML.
# Each break marker starts with _RUN so that finding them is one fast split, not a regex scan.
_RUN = "\x01"
_BREAK1, _BREAK2, _HARD_BREAK = "\x01\x02", "\x01\x03", "\x01\x05"
_PRE_NEWLINE, _HARD_SPACE = "\x04", "\x06"
_LINK_TEXT, _LINK_URL, _LINK_END = "\x07", "\x0e", "\x0f"
_LINK_RE = re.compile("\x07([^\x07\x0e]*)\x0e([^\x0f]*)\x0f")
_SOFT_SPACE = "\x10"  # a space that disappears next to another space or a line break
_MARKERS_RE = re.compile("[\x01-\x06\x10]")
_LINK_MARKS = "\x07\x0e\x0f"
_TRANSPARENT = " \x07\x0e\x0f\x10"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


VOID_TAGS = _words("area base br col embed hr img input link meta param source track wbr")
_SKIP = _words("head style script title noscript template svg select object")
_BLOCK2 = _words("p h1 h2 h3 h4 h5 h6 ul ol table blockquote pre dl form figure")
_BLOCK1 = _words(
    "div li tr td th section article header footer nav aside main center dd dt address "
    "figcaption caption thead tbody tfoot"
)
_HEAD_CONTENT = _words("base link meta noscript script style template title")
_HIDDEN_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u200b\u2060\ufeff"))
WHITESPACE_RE = re.compile(r"[ \t\r\n\f\v\xa0]+")
_BREAK_RUN_RE = re.compile("\x01[\x01\x02\x03\x05 ]*")
_VALUE_WS_RE = re.compile(r"[\t\r\n\f\v\xa0]|  ")


def _no_tick() -> None:
    pass


@dataclass(slots=True)
class _Open:
    tag: str
    path: tuple[tuple[int, int], ...]
    skip: bool = False
    link: str | None = None
    link_start: int = 0


class _TextConverter(HTMLParser):
    """html.parser based HTML-to-text (html2text is GPL).

    With ``paths`` set it runs on a template whose Jinja tags are placeholders, and records in
    ``unsafe`` why the result could differ from converting each rendered email.
    """

    def __init__(self, paths: BlockPaths | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[_Open] = []
        self.lists: list[list[Any]] = []  # [tag, next number]
        self.skipping = 0
        self.pre = 0
        self.paths = paths
        self.unsafe = ""
        # Converting a rendered email counts against its render's deadline.
        self.tick = _current_budget().tick if paths is None else _no_tick

    # -- helpers ---------------------------------------------------------------------------
    def _here(self) -> tuple[tuple[int, int], ...]:
        return self.paths.path if self.paths else ()

    def _emit_text(self, text: str) -> None:
        text = text.translate(_INVISIBLE)
        if self.pre:
            self.out.append(text.replace("\n", _PRE_NEWLINE).replace(" ", _HARD_SPACE))
            return
        text = WHITESPACE_RE.sub(" ", text)
        if text.startswith(" ") and (not self.out or self.out[-1].endswith(" ")):
            text = text[1:]  # never two spaces in a row: finish_text need not look for them
        if text:
            self.out.append(text)

    def _emit(self, text: str) -> None:
        """Emit text that may carry placeholders, updating branch paths on statements."""
        if self.paths is None:
            self._emit_text(RESERVED_RE.sub("", text))
            return
        last = 0
        for match in PLACEHOLDER_RE.finditer(text):
            self._emit_text(text[last : match.start()])
            token = match.group()
            if self.pre:
                self.unsafe = "Jinja inside <pre>, where whitespace is kept"
            if self.paths.advance(token) and self._list_context() == "ol":
                self.unsafe = "statement between numbered list items"
            self.out.append(token)
            last = match.end()
        self._emit_text(text[last:])

    def _list_context(self) -> str:
        return next((o.tag for o in reversed(self.stack) if o.tag in ("li", "ol", "ul")), "")

    def _attr_value(self, value: str | None) -> str:
        """Attribute values are emitted as a whole, so their statements must balance."""
        value = value or ""
        if self.paths is not None:
            before = self.paths.path
            self.paths.advance_all(value)
            if self.paths.path != before:
                self.unsafe = "Jinja block spans an attribute boundary"
                self.paths.path = before
        return value

    # -- parser callbacks ------------------------------------------------------------------
    def _leave_head_if(self, leaving: bool) -> None:
        """Body content inside <head> ends it, as in a browser (templates often omit <body>)."""
        if leaving and self.stack and self.stack[-1].tag == "head":
            self._close(self.stack.pop())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tick()
        self._leave_head_if(tag not in _HEAD_CONTENT)
        values = dict(attrs)
        if self.paths is not None:
            for name, value in attrs:
                if PLACEHOLDER_RE.search(name):
                    self.unsafe = "Jinja inside a tag, outside attribute values"
                if name == "style" and PLACEHOLDER_RE.search(value or ""):
                    self.unsafe = "Jinja inside a style attribute (it may hide the element)"
                if name not in ("href", "alt"):
                    self._attr_value(value)
        if tag in VOID_TAGS:
            if not self.skipping:
                self._void(tag, values)
            return
        hidden = bool(_HIDDEN_RE.search(values.get("style") or ""))
        opened = _Open(tag, self._here(), skip=tag in _SKIP or hidden)
        self.stack.append(opened)
        if opened.skip:
            self.skipping += 1
        if self.skipping:
            return
        self._block_break(tag)
        if tag == "pre":
            self.pre += 1
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 1])
        elif tag == "li":
            self._list_item()
        elif tag == "a":
            opened.link = self._attr_value(values.get("href")).strip()
            opened.link_start = len(self.out)

    def _list_item(self) -> None:
        indent = _HARD_SPACE * 2 * max(len(self.lists) - 1, 0)
        if self.lists and self.lists[-1][0] == "ol":
            self.out.append(f"{indent}{self.lists[-1][1]}. ")
            self.lists[-1][1] += 1
        else:
            self.out.append(f"{indent}- ")

    def _void(self, tag: str, values: Mapping[str, str | None]) -> None:
        if tag == "br":
            self.out.append(_HARD_BREAK)
        elif tag == "hr":
            self.out.extend((_BREAK2, "----", _BREAK2))
        elif tag == "img":
            alt = self._attr_value(values.get("alt")).strip()
            if alt:
                self._emit(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS or not any(o.tag == tag for o in self.stack):
            return  # stray end tag: browsers ignore it too
        while self.stack:
            opened = self.stack.pop()
            self._close(opened)
            if opened.tag == tag:
                break

    def _close(self, opened: _Open) -> None:
        if opened.path != self._here():
            self.unsafe = f"<{opened.tag}> opens and closes in different Jinja blocks"
        if self.skipping:
            if opened.skip:
                self.skipping -= 1
            return
        tag = opened.tag
        if tag == "a":
            self._finish_link(opened)
        elif tag == "pre":
            self.pre -= 1
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        self._block_break(tag)

    def _block_break(self, tag: str) -> None:
        nested_list = tag in ("ul", "ol") and bool(self.lists)  # called outside the push/pop
        if tag in _BLOCK2 and not nested_list:
            self.out.append(_BREAK2)
        elif tag in _BLOCK1 or nested_list:
            self.out.append(_BREAK1)

    def _finish_link(self, opened: _Open) -> None:
        """Mark text and URL; finish_text decides `text (url)` vs `url` after rendering,
        when a dynamic URL or link text is known."""
        url = opened.link or ""
        if not url or url.startswith(("#", "javascript:")):
            return
        self.out.insert(opened.link_start, _LINK_TEXT)
        self.out.append(_LINK_URL)
        self._emit(url.replace("\n", " "))
        self.out.append(_LINK_END)

    def handle_data(self, data: str) -> None:
        self.tick()
        self._leave_head_if(bool(data.strip()))
        if self.skipping:
            if self.paths is not None:
                self.paths.advance_all(data)  # they vanish: the survival check catches it
            return
        self._emit(data)

    def result(self) -> str:
        self.close()
        while self.stack:
            self._close(self.stack.pop())
        return "".join(self.out)


def _link(match: re.Match[str]) -> str:
    text, url = match.group(1), match.group(2).strip()
    shown = WHITESPACE_RE.sub(" ", _MARKERS_RE.sub(" ", text)).strip()
    if not url or shown in (url, url.removeprefix("mailto:"), url.removeprefix("tel:")):
        return text
    return f"{text.rstrip(' ')} ({url})" if shown else f"{text}{url}"


def _newlines(run: str) -> str:
    """A run of break markers becomes max(hard breaks, paragraph/line) newlines, capped at
    two blank lines."""
    soft = 2 if "\x03" in run else 1 if "\x02" in run else 0
    return "\n" * min(max(run.count("\x05"), soft), 3)


def _resolve_breaks(text: str) -> str:
    parts = text.split(_RUN)
    if len(parts) == 1:
        return text
    out = [parts[0]]
    run = ""
    for part in parts[1:]:
        run += part[:1]
        rest = part[1:].lstrip(" ")
        if rest:
            out[-1] = out[-1].rstrip(" ")
            out += (_newlines(run), rest)
            run = ""
    return "".join(out)


def _resolve_soft_spaces(text: str) -> str:
    """A soft space is a space unless a space (or nothing) is already there; link markers,
    which vanish later, do not count."""
    parts = text.split(_SOFT_SPACE)
    if len(parts) == 1:
        return text
    out = [parts[0]]
    last = parts[0].rstrip(_LINK_MARKS)[-1:]
    for part in parts[1:]:
        visible = part.lstrip(_LINK_MARKS)
        if visible:
            if last not in ("", " ") and visible[0] != " ":
                out.append(" ")
            last = part.rstrip(_LINK_MARKS)[-1]
        out.append(part)
    return "".join(out)


def finish_text(text: str) -> str:
    """Resolve converter markers: soft spaces, links, then break runs to newlines.

    Runs after rendering, so a text template generated once at compile time lays out exactly
    like converting each rendered HTML. Every step is a split or a literal search (C speed):
    this is on the per-recipient path.
    """
    text = _resolve_soft_spaces(text)
    if _LINK_URL in text:
        text = _LINK_RE.sub(_link, text)
    text = _resolve_breaks(text).strip(" \n")
    if _PRE_NEWLINE in text:
        text = text.replace(_PRE_NEWLINE, "\n")
    if _HARD_SPACE in text:
        text = text.replace(_HARD_SPACE, " ")
    return text


def _finish_static(chunk: str) -> str:
    """Do at compile time the part of finish_text that does not depend on neighbouring
    Jinja output: static links, double spaces and break runs not touching the chunk's ends."""
    chunk = _LINK_RE.sub(_link, chunk)
    while "  " in chunk:
        chunk = chunk.replace("  ", " ")

    def interior(match: re.Match[str]) -> str:
        # Link markers vanish when a dynamic link resolves, so they do not count as content.
        before, after = chunk[: match.start()], chunk[match.end() :]
        if before.strip(_TRANSPARENT) and after.strip(_TRANSPARENT):
            return _newlines(match.group())
        return match.group()

    chunk = _BREAK_RUN_RE.sub(interior, chunk).replace(" \n", "\n").replace(" " + _RUN, _RUN)
    # Spaces next to Jinja output may meet a space (or nothing) from the value at render time.
    if chunk.startswith(" "):
        chunk = _SOFT_SPACE + chunk[1:]
    if chunk.endswith(" "):
        chunk = chunk[:-1] + _SOFT_SPACE
    return chunk


def finalize_text_value(value: Any) -> str:
    """Whitespace in values collapses as it would in HTML; markers cannot be injected."""
    text = str(value)
    if text and (_VALUE_WS_RE.search(text) or RESERVED_RE.search(text)):
        text = WHITESPACE_RE.sub(" ", RESERVED_RE.sub("", text))
    if text.startswith(" "):
        text = _SOFT_SPACE + text[1:]
    if text.endswith(" "):
        text = text[:-1] + _SOFT_SPACE
    return text


def html_to_text(html: str) -> str:
    """Readable plain-text version of an HTML email (links as ``text (url)``)."""
    converter = _TextConverter()
    converter.feed(html)
    return finish_text(converter.result())


def text_template_source(
    segments: list[Segment], placeholders: Placeholders
) -> tuple[str | None, str]:
    """Convert the HTML *template* to a text template once; (None, reason) when unsafe."""
    source = "".join(
        seg.text if token is None else token
        for seg, token in zip(segments, placeholders.tokens, strict=True)
    )
    paths = BlockPaths(placeholders.keywords)
    converter = _TextConverter(paths)
    converter.feed(source)
    text = converter.result()
    if converter.unsafe:
        return None, converter.unsafe
    survived = [m.group() for m in PLACEHOLDER_RE.finditer(text) if m.group(1) == "s"]
    if survived != placeholders.statements:
        return None, "a Jinja statement sits in markup that has no text"
    return placeholders.restore(text, _finish_static), ""

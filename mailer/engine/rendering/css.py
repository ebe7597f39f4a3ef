"""CSS inlining: per rendered email, or once on the template at compile time when the
structure check shows it gives the same email."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import css_inline

from mailer.engine.rendering import budget as render_budget
from mailer.engine.rendering.budget import RenderOverBudget
from mailer.engine.rendering.placeholders import (
    PLACEHOLDER_COMMENT_RE,
    PLACEHOLDER_RE,
    BlockPaths,
    Placeholders,
    Segment,
)
from mailer.engine.rendering.plaintext import VOID_TAGS, WHITESPACE_RE

_current_budget = render_budget.current

# load_remote_stylesheets=False matters: by default css_inline reads <link> targets, including
# local files, which an untrusted template must not be able to make a worker do.
_INLINER = css_inline.CSSInliner(
    keep_at_rules=True, keep_link_tags=True, load_remote_stylesheets=False
)
_NORMALISER = css_inline.CSSInliner(
    inline_style_tags=False,
    keep_style_tags=True,
    keep_link_tags=True,
    load_remote_stylesheets=False,
)
_BETWEEN_TAGS_RE = re.compile(r">\s+<")
STYLE_TAG_RE = re.compile(r"<style[\s>]", re.I)
_STYLE_BLOCK_RE = re.compile(r"<style[^>]*>(.*?)</style\s*>", re.I | re.S)
_SELECTOR_RE = re.compile(r"([^{};]+)\{")
_STRUCTURAL_RE = re.compile(r":(?:first|last|nth|only)-|:empty|:blank|:has\(|[+~]")
_IMPLIED = frozenset({"html", "head", "body", "tbody"})


def inline_styles(html: str, style_chars: int | None = None) -> str:
    """Inline the <style> rules, unless that could grow the email past the render budget's
    size (StylesTooLarge): css_inline is native code that cannot be stopped once it runs.
    ``style_chars``: the template's, when every email it renders has the same (see
    ``render_budget.static_style_chars``)."""
    render_budget.check_inline_css(html, _current_budget().max_chars, style_chars)
    return str(_INLINER.inline(html))


class _HtmlContext:
    """Minimal HTML tokenizer state: is the next character text, inside a tag, a comment…?

    Only used to choose placeholder shapes and spot risky spots; the structural check after
    inlining is what guarantees correctness, so approximations here only cost speed.
    """

    def __init__(self) -> None:
        self.state = "text"
        self.quote = ""
        self.attr = ""
        self.tag = ""
        self.raw_end = ""

    def feed(self, text: str) -> None:
        lower = text.lower()
        i, n = 0, len(text)
        while i < n:
            state = self.state
            if state == "text":
                i = text.find("<", i) + 1
                if i == 0:
                    return
                if text.startswith("!--", i):
                    self.state, i = "comment", i + 3
                elif match := _TAG_NAME_RE.match(text, i):
                    self.tag = match.group(2).lower()
                    self.state = "endtag" if match.group(1) else "tag"
                    i = match.end()
                elif text.startswith(("!", "?"), i):
                    self.state = "bogus"
            elif state in ("comment", "bogus", "endtag", "raw"):
                end = {"comment": "-->", "bogus": ">", "endtag": ">"}.get(state, self.raw_end)
                j = lower.find(end, i)
                if j < 0:
                    return
                self.state, i = "text", j + len(end)
            elif state == "value":
                match = (_UNQUOTED_END_RE if not self.quote else _QUOTE_RE[self.quote]).search(
                    text, i
                )
                if match is None:
                    return
                self.state, i = "tag", match.end() if self.quote else match.start()
            elif text[i] == ">":  # inside a tag: attribute names, '=' and the closing '>'
                self.state, i = "text", i + 1
                if self.tag in ("style", "script", "title", "textarea", "xmp"):
                    self.state, self.raw_end = "raw", f"</{self.tag}"
            elif match := _ATTR_VALUE_START_RE.match(text, i):
                self.quote, self.state, i = match.group(1), "value", match.end()
            elif match := _ATTR_NAME_RE.match(text, i):
                self.attr, i = match.group().lower(), match.end()
            else:
                i += 1


_TAG_NAME_RE = re.compile(r"(/?)([A-Za-z][^\s/>]*)")
_ATTR_NAME_RE = re.compile(r"[^\s/>=]+")
_ATTR_VALUE_START_RE = re.compile(r"=\s*(['\"]?)")
_UNQUOTED_END_RE = re.compile(r"[\s>]")
_QUOTE_RE = {'"': re.compile('"'), "'": re.compile("'")}


@dataclass
class _Structure:
    """What the CSS check compares between the template before and after inlining."""

    # Document order of start tags, text and Jinja placeholders: ("start", tag, path),
    # ("text", text, path), ("ph", token, shape). Foster parenting or any other move shows.
    sequence: list[tuple[str, str, Any]] = field(default_factory=list)
    start_index: list[int] = field(default_factory=list)  # sequence item -> starts index (-1)
    starts: list[tuple[str, int, str]] = field(default_factory=list)  # (tag, offset, text)
    crossing: list[tuple[int, int, int]] = field(default_factory=list)  # (start#, offset, len)
    broken: str = ""

    def add(self, item: tuple[str, str, Any], start: int = -1) -> None:
        self.sequence.append(item)
        self.start_index.append(start)


class _StructureParser(HTMLParser):
    """Records a _Structure; html.parser only tokenizes, so it shows what html5ever moved."""

    def __init__(self, source: str, keywords: Mapping[int, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.paths = BlockPaths(keywords)
        self.info = _Structure()
        self.stack: list[tuple[str, tuple[Any, ...], int]] = []
        self.in_style = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.feed(source)
        self.close()

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _placeholders(self, text: str, shape: str) -> None:
        for token in self.paths.advance_all(text):
            self.info.add(("ph", token, shape))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        path = self.paths.path
        index = len(self.info.starts)
        if tag == "style":
            self.in_style += 1
        else:
            self.info.starts.append((tag, self._offset(), self.get_starttag_text() or ""))
            self.info.add(("start", tag, path), index)
        for name, value in attrs:
            self._placeholders(name + "=" + (value or ""), "bare")
        if tag not in VOID_TAGS:
            self.stack.append((tag, path, index))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.info.broken = f"unbalanced </{tag}>"
            return
        _tag, path, index = self.stack.pop()
        if tag == "style":
            self.in_style -= 1
        elif path != self.paths.path:
            self.info.crossing.append((index, self._offset(), len(f"</{tag}>")))

    def handle_data(self, data: str) -> None:
        if self.in_style:
            if PLACEHOLDER_RE.search(data):
                self.info.broken = "Jinja inside <style>"
            return
        text = WHITESPACE_RE.sub(" ", data).strip()
        if text:
            self.info.add(("text", text, self.paths.path))
        self._placeholders(data, "bare")

    def handle_comment(self, data: str) -> None:
        self._placeholders(data, "comment" if PLACEHOLDER_RE.fullmatch(data) else "bare")


def _css_risks(segments: list[Segment], placeholders: Placeholders) -> tuple[str, str]:
    """Build the placeholder source for the inliner, or say why compile-time inlining is risky.

    Risky: Jinja in CSS, in tag syntax, in class/id/style (or any attribute when the CSS has
    attribute selectors), <style> inside a Jinja block, and structural selectors
    (:nth-child, +, ~, :empty) when loops/ifs change the element structure.
    """
    css = " ".join(_STYLE_BLOCK_RE.findall("".join(s.text for s in segments if s.kind == "data")))
    selectors = [s for s in _SELECTOR_RE.findall(css) if not s.strip().startswith("@")]
    has_statements = bool(placeholders.keywords)
    if has_statements and any(_STRUCTURAL_RE.search(s) for s in selectors):
        return "", "structural CSS selectors with Jinja loops or conditions"
    if any(":empty" in s or ":blank" in s for s in selectors):
        return "", ":empty selectors with dynamic content"
    attribute_selectors = any("[" in s for s in selectors)
    scanner = _HtmlContext()
    paths = BlockPaths(placeholders.keywords)
    parts: list[str] = []
    for seg, token in zip(segments, placeholders.tokens, strict=True):
        if token is None:
            scanner.feed(seg.text)
            if STYLE_TAG_RE.search(seg.text) and paths.path:
                return "", "<style> inside a Jinja block"
            parts.append(seg.text)
            continue
        paths.advance(token)
        state = scanner.state
        if state == "text":
            parts.append(f"<!--{token}-->")
            continue
        if state == "tag" or state == "endtag":
            return "", "Jinja inside tag syntax"
        if state == "raw" and scanner.tag == "style":
            return "", "Jinja inside <style>"
        if state == "value" and (scanner.attr in ("class", "id", "style") or attribute_selectors):
            return "", f"Jinja inside the {scanner.attr} attribute"
        parts.append(token)
    return "".join(parts), ""


def _compare(before: _Structure, after: _Structure) -> tuple[str, list[tuple[int, int]]]:
    """Did inlining keep every tag, text and Jinja tag in the same block? Returns
    (problem, spans of implied tags to drop so that the client re-infers them: the source did
    not have them, and a Jinja block boundary would otherwise cut them in half)."""
    if after.broken:
        return after.broken, []
    expected = before.sequence
    j = 0
    inserted: set[int] = set()
    for item, start in zip(after.sequence, after.start_index, strict=True):
        if j < len(expected) and item == expected[j]:
            j += 1
        elif item[0] == "start" and item[1] in _IMPLIED:
            inserted.add(start)
        else:
            kind, value, _path = item
            what = f"<{value}>" if kind == "start" else "Jinja" if kind == "ph" else "text"
            return f"{what} was moved by the HTML parser", []
    if j != len(expected):
        return "content was moved or dropped by the HTML parser", []
    spans: list[tuple[int, int]] = []
    for index, end_offset, end_length in after.crossing:
        tag, offset, text = after.starts[index]
        if index not in inserted or text != f"<{tag}>":
            return f"<{tag}> would open and close in different Jinja blocks", []
        spans += [(offset, len(text)), (end_offset, end_length)]
    return "", spans


def inline_template_source(
    segments: list[Segment], placeholders: Placeholders
) -> tuple[str | None, str]:
    """Inline CSS into the template itself; (None, reason) when that could change the email."""
    source, risk = _css_risks(segments, placeholders)
    if risk:
        return None, risk
    try:
        inlined = inline_styles(source)
    except (css_inline.InlineError, RenderOverBudget) as exc:  # every render reports it too
        return None, f"CSS inlining failed: {exc}"
    before = _StructureParser(source, placeholders.keywords).info
    after = _StructureParser(inlined, placeholders.keywords).info
    problem, spans = _compare(before, after)
    if problem:
        return None, problem
    if spans:
        for offset, length in sorted(spans, reverse=True):
            inlined = inlined[:offset] + inlined[offset + length :]
        problem, spans = _compare(before, _StructureParser(inlined, placeholders.keywords).info)
        if problem or spans:
            return None, problem or "implied tags could not be removed"
    unwrapped = PLACEHOLDER_COMMENT_RE.sub(lambda m: m.group()[4:-3], inlined)
    return placeholders.restore(unwrapped), ""


def normalise_html(html: str) -> str:
    """Same parser, same serialiser; whitespace-only text between tags (which the parser may
    file under <head> or <body> depending on what preceded it) does not count."""
    return _BETWEEN_TAGS_RE.sub("><", str(_NORMALISER.inline(html)))

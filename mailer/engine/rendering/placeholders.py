"""A template's source as literal data and Jinja tags, with the tags swapped for placeholders
so that HTML tools can process the template itself."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from jinja2.environment import Environment

# Private-use characters: they never occur in real templates (we check) and survive both the
# HTML parser and html5ever untouched, so Jinja tags can ride through them as opaque tokens.
_PH_OPEN, _PH_CLOSE = "\ue000", "\ue001"
PLACEHOLDER_RE = re.compile("\ue000([es])(\\d+)\ue001")
PLACEHOLDER_COMMENT_RE = re.compile("<!--\ue000([es])(\\d+)\ue001-->")
RESERVED_RE = re.compile("[\x01-\x08\x0e-\x1f\ue000-\ue00f]")
_OPENERS = frozenset({"if", "for", "with"})
_MIDDLES = frozenset({"elif", "else"})


@dataclass(frozen=True, slots=True)
class Segment:
    kind: Literal["data", "expr", "stmt"]
    text: str  # literal data, or the Jinja tag as it must be written back
    keyword: str = ""  # first word of a statement
    key: str = ""  # expressions: whitespace-insensitive identity


def split_segments(env: Environment, source: str) -> list[Segment]:
    """Split a template into literal data and Jinja tags with Jinja's own lexer.

    Data comes out after whitespace control (``-``, trim/lstrip_blocks), comments are dropped
    and raw blocks become data, so writing the segments back needs no whitespace control.
    """
    out: list[Segment] = []
    data: list[str] = []
    inner: list[tuple[str, str]] = []
    mode = ""
    for _line, kind, value in env.lex(source):
        if mode == "":
            if kind == "data":
                data.append(value)
            elif kind in ("variable_begin", "block_begin", "comment_begin"):
                mode = kind
                inner = []
        elif kind in ("variable_end", "block_end", "comment_end"):
            if mode != "comment_begin":
                if data:
                    out.append(Segment("data", "".join(data)))
                    data = []
                body = "".join(v for _t, v in inner)
                words = [v for t, v in inner if t != "whitespace"]
                if mode == "variable_begin":
                    out.append(Segment("expr", "{{" + body + "}}", key=" ".join(words)))
                else:
                    out.append(Segment("stmt", "{%" + body + "%}", keyword=words[0]))
            mode = ""
        else:
            inner.append((kind, value))
    if data:
        out.append(Segment("data", "".join(data)))
    return out


class Placeholders:
    """Numbers a template's Jinja tags; identical expressions share one number."""

    def __init__(self, segments: list[Segment]) -> None:
        self.sources: dict[str, str] = {}
        self.keywords: dict[int, str] = {}
        self.tokens: list[str | None] = []  # placeholder per segment (None for data)
        expr_ids: dict[str, int] = {}
        for index, seg in enumerate(segments):
            if seg.kind == "data":
                self.tokens.append(None)
                continue
            if seg.kind == "expr":
                number = expr_ids.setdefault(seg.key, len(expr_ids))
                token = f"{_PH_OPEN}e{number}{_PH_CLOSE}"
            else:
                self.keywords[index] = seg.keyword
                token = f"{_PH_OPEN}s{index}{_PH_CLOSE}"
            self.sources.setdefault(token, seg.text)
            self.tokens.append(token)

    @property
    def statements(self) -> list[str]:
        return [f"{_PH_OPEN}s{i}{_PH_CLOSE}" for i in self.keywords]

    def restore(self, text: str, literal: Callable[[str], str] = str) -> str:
        """Put the Jinja tags back; literal text (after `literal`) is escaped so it cannot
        become Jinja."""
        parts: list[str] = []
        last = 0
        for match in PLACEHOLDER_RE.finditer(text):
            parts.append(_escape_literal(literal(text[last : match.start()])))
            parts.append(self.sources[match.group()])
            last = match.end()
        parts.append(_escape_literal(literal(text[last:])))
        return "".join(parts)


_LITERAL_BRACE_RE = re.compile(r"\{(?=[{%#]|$)")


def _escape_literal(text: str) -> str:
    # e.g. "&#123;{ x }}" decodes to "{{ x }}": it must stay text in the derived template.
    return _LITERAL_BRACE_RE.sub("{{ '{' }}", text)


class BlockPaths:
    """Tracks which branch of which Jinja block the current position is in.

    Two positions with equal paths are always rendered together (same loop iteration, same
    if-branch), which is what the compile-time transforms must preserve.
    """

    def __init__(self, keywords: Mapping[int, str]) -> None:
        self.keywords = keywords
        self.path: tuple[tuple[int, int], ...] = ()

    def advance(self, token: str) -> bool:
        """Apply a placeholder; True when it was a statement."""
        match = PLACEHOLDER_RE.fullmatch(token)
        if match is None or match.group(1) != "s":
            return False
        index = int(match.group(2))
        keyword = self.keywords[index]
        if keyword in _OPENERS:
            self.path = (*self.path, (index, 0))
        elif keyword in _MIDDLES and self.path:
            block, branch = self.path[-1]
            self.path = (*self.path[:-1], (block, branch + 1))
        elif keyword.startswith("end") and self.path:
            self.path = self.path[:-1]
        return True

    def advance_all(self, text: str) -> list[str]:
        found = [m.group() for m in PLACEHOLDER_RE.finditer(text)]
        for token in found:
            self.advance(token)
        return found

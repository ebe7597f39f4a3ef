"""Time and size budgets for rendering user-written templates.

A render runs inside a ``Budget`` (a deadline and a largest size). Pure-Python work cannot be
interrupted from outside, so the template engine checks the budget itself: between loop
iterations, in the sandbox's call and operator hooks, after filters, and while it collects the
output; sizes are estimated *before* an operation that could build a huge value runs.
"""

from __future__ import annotations

import functools
import math
import re
import string
import time
from collections import Counter
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from jinja2.utils import Namespace

from config import Config

__all__ = [
    "CURRENT_BUDGET",
    "Budget",
    "RenderLimits",
    "RenderOverBudget",
    "RenderTooLarge",
    "RenderTooSlow",
    "StylesTooLarge",
    "brace_format_size",
    "check_inline_css",
    "current",
    "percent_format_size",
    "static_style_chars",
    "style_chars",
    "weight",
]

TICKS = 16  # cheap events (loop turns, filter calls) between two looks at the clock


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """How long one email may take to render and how long each of its parts may be."""

    timeout_ms: int = Config.MAILER_RENDER_TIMEOUT_MS
    max_chars: int = Config.MAILER_RENDER_MAX_CHARS

    @classmethod
    def from_config(cls) -> RenderLimits:
        """The app's settings when there is an app, else the defaults in config.py."""
        if not has_app_context():
            return cls()
        config = current_app.config
        return cls(
            timeout_ms=int(config["MAILER_RENDER_TIMEOUT_MS"]),
            max_chars=int(config["MAILER_RENDER_MAX_CHARS"]),
        )


class RenderOverBudget(Exception):
    """A render went over its time or size budget; ``message`` is meant for a marketer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RenderTooSlow(RenderOverBudget):
    def __init__(self, timeout_ms: float) -> None:
        super().__init__(
            f"rendering took longer than {timeout_ms:,.0f} ms and was stopped; simplify the "
            "template's loops or the work done inside them"
        )


class RenderTooLarge(RenderOverBudget):
    def __init__(self, max_chars: int, what: str = "the email") -> None:
        super().__init__(
            f"{what} would be longer than {max_chars:,} characters and was stopped; look for "
            "loops, lists or text repeated so often that the email grows too big"
        )


class StylesTooLarge(RenderOverBudget):
    def __init__(self, max_chars: int) -> None:
        super().__init__(
            f"copying its <style> rules into the elements they style would make the email "
            f"longer than {max_chars:,} characters; use fewer or shorter rules for elements "
            "that repeat many times"
        )


class Budget:
    """The deadline and largest size of one render; ``with budget:`` makes it current.

    Time is the CPU time of the rendering thread: a render kept waiting by a busy machine
    (or for the GIL) did not use its budget. The wall clock is cheap to read (about 40 ns
    against 220 for the thread's CPU time), so it is the one read on every check; the CPU
    clock is read once the render reaches its first check (simple templates never do) and
    again only past the wall-clock deadline, to decide between stopping the render and giving
    it a later deadline. Until that first reading, elapsed time counts as CPU time.
    """

    __slots__ = (
        "countdown",
        "cpu_start",
        "deadline",
        "max_chars",
        "seconds",
        "wall_start",
        "_token",
    )

    def __init__(self, timeout_ms: float | None, max_chars: int) -> None:
        self.seconds = timeout_ms / 1000 if timeout_ms else math.inf
        self.wall_start = time.monotonic()
        self.deadline = self.wall_start + self.seconds
        self.cpu_start = -1.0  # thread CPU time, minus the wall time before it was read
        self.max_chars = max_chars
        self.countdown = TICKS
        self._token: Token[Budget] | None = None

    def check(self) -> None:
        """Raise RenderTooSlow once the render has used its time."""
        now = time.monotonic()
        if self.cpu_start < 0:
            self.cpu_start = time.thread_time() - (now - self.wall_start)
        if now > self.deadline:
            used = time.thread_time() - self.cpu_start
            if used >= self.seconds:
                raise RenderTooSlow(self.seconds * 1000)
            self.deadline = now + self.seconds - used

    def finish(self) -> None:
        """The last check of a render: only one that did work worth checking can be over."""
        if self.cpu_start >= 0:
            self.check()

    def tick(self) -> None:
        """A cheap event: look at the clock every TICKS of them (hot callers inline the
        countdown and call ``ticked`` when it runs out)."""
        self.countdown -= 1
        if self.countdown <= 0:
            self.ticked()

    def ticked(self) -> None:
        self.countdown = TICKS
        self.check()

    def __enter__(self) -> Budget:
        self._token = CURRENT_BUDGET.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            CURRENT_BUDGET.reset(self._token)
            self._token = None


# The budget of the render under way (per thread; outside renders one without a deadline).
# Hot paths set and reset it directly. The default is shared but only counts ticks.
CURRENT_BUDGET: ContextVar[Budget] = ContextVar(
    "mailer_render_budget",
    default=Budget(None, Config.MAILER_RENDER_MAX_CHARS),  # noqa: B039
)
current = CURRENT_BUDGET.get  # the budget of the render under way


# ------------------------------------------------------------------------ sizes of values

_FLAT = (list, tuple, set, frozenset)
_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_SEQUENCES = _FLAT + _VIEWS


def weight(value: Any, limit: int) -> int:
    """About how many characters ``str(value)`` takes, counted until it passes ``limit``.

    Shared references count every time they appear (``[b] * 1000`` weighs 1000 ``b``), as
    they do when the value is printed, joined or encoded: that is how a few bytes of template
    build hundreds of megabytes. Walks at most ``limit`` items and checks the deadline while
    it walks.
    """
    if isinstance(value, str):
        return len(value)
    budget = CURRENT_BUDGET.get()
    total = 0
    steps = 0
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        item = pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, int):
            total += item.bit_length() // 4 + 1
        elif isinstance(item, _SEQUENCES):
            total += 2 * len(item) + 2
            if total > limit:
                return total
            push(item)
        elif isinstance(item, dict | Mapping):
            total += 4 * len(item) + 2
            if total > limit:
                return total
            push(item.keys())
            push(item.values())
        elif isinstance(item, Namespace):
            total += 12
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        else:
            total += 24  # numbers, None, loop helpers: a short repr
        if total > limit:
            return total
        steps += 1
        if not steps & 1023:
            budget.check()
    return total


def depth(value: Any, limit: int) -> int:
    """How deeply containers nest in ``value`` (stops counting past ``limit`` items)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack and seen <= limit:
        item, level = stack.pop()
        seen += 1
        deepest = max(deepest, level)
        if isinstance(item, Namespace):
            item = object.__getattribute__(item, "_Namespace__attrs")
        if isinstance(item, Mapping):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, _SEQUENCES):
            stack.extend((v, level + 1) for v in item)
    return deepest


# ------------------------------------------------------------------------ string formatting

_PERCENT_FIELD_RE = re.compile(
    r"%(?:\(([^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([a-zA-Z%])"
)


def percent_format_size(fmt: str, args: Any, limit: int) -> int:
    """About how long ``fmt % args`` is, without building it."""
    size = len(fmt)
    fields = [(m.group(1), m.group(2)) for m in _PERCENT_FIELD_RE.finditer(fmt)]
    used = [name for name, kind in fields if kind != "%"]
    if isinstance(args, Mapping) and any(name is not None for name in used):
        for name in used:
            size += weight(args.get(name, ""), limit) if name is not None else 0
            if size > limit:
                break
        return size
    if isinstance(args, tuple):
        return size + weight(args, limit)
    return size + weight(args, limit) * len(used)


def brace_format_size(
    fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], limit: int
) -> int:
    """About how long ``fmt.format(*args, **kwargs)`` is: each field weighs as much as the
    argument it names (``{0}{0}{0}`` counts it three times)."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return len(fmt)  # str.format raises the same error itself
    size = len(fmt)
    auto = 0
    for _literal, name, _spec, _conversion in parsed:
        if name is None:
            continue
        root = re.split(r"[.\[]", name, maxsplit=1)[0]
        if root == "":
            key: int | str = auto
            auto += 1
        else:
            key = int(root) if root.isdigit() else root
        if isinstance(key, int):
            value = args[key] if key < len(args) else ""
        else:
            value = kwargs.get(key, "")
        size += weight(value, limit)
        if size > limit:
            break
    return size


# ------------------------------------------------------------------------ CSS inlining

_STYLE_BLOCK_RE = re.compile(r"<style[^>]*>(.*?)</style\s*>", re.I | re.S)
_CSS_COMMENT_RE = re.compile(r"/\*.*?\*/", re.S)
_START_TAG_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_ATTR_RE = re.compile(r"""\s(class|id)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_COMPOUND_SPLIT_RE = re.compile(r"[\s>+~]+")
_SIMPLE_RE = re.compile(r"([.#]?)(-?[_a-zA-Z][-_a-zA-Z0-9]*)")
# Elements the HTML parser adds when the markup leaves them out.
_IMPLIED = {"html": "", "head": "", "body": "", "tbody": "table"}


@functools.lru_cache(maxsize=64)
def _css_rules(css: str) -> list[tuple[str, int]]:
    """(selector group, length of its declarations) of the rules that get inlined: those at
    the top level (at-rules such as @media are kept in <style>, not inlined). Cached: every
    recipient of a campaign has the same stylesheet."""
    rules: list[tuple[str, int]] = []
    depth_ = 0
    start = 0
    selector = ""
    at_rule = 0  # the depth at which the at-rule being skipped opened
    for index, char in enumerate(css):
        if char == "{":
            if depth_ == 0:
                selector = css[start:index].strip()
                at_rule = 1 if selector.startswith("@") else 0
            depth_ += 1
            start = index + 1
        elif char == "}":
            depth_ = max(depth_ - 1, 0)
            if depth_ == 0:
                if not at_rule and selector:
                    rules.append((selector, index - start))
                at_rule = 0
            start = index + 1
        elif char == ";" and depth_ == 0:
            start = index + 1  # e.g. @import …;
    return rules


def _candidates(selector: str, tags: Counter[str], classes: Counter[str], ids: Counter[str]) -> int:
    """How many elements one selector can match at most, from its last compound selector."""
    total = sum(tags.values())
    compound = _COMPOUND_SPLIT_RE.split(selector.strip())[-1]
    compound = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", compound)  # attributes, :not(…) arguments
    counts = [total]
    for prefix, name in _SIMPLE_RE.findall(compound.split(":", 1)[0]):
        lowered = name.lower()
        if prefix == ".":
            counts.append(classes[lowered])
        elif prefix == "#":
            counts.append(ids[lowered])
        elif compound.startswith(name):
            implied = _IMPLIED.get(lowered)
            extra = 1 if implied == "" else tags[implied] if implied else 0
            counts.append(tags[lowered] + extra)
    return min(counts)


def style_chars(html: str) -> int:
    """How many characters of declarations the <style> rules of ``html`` would inline."""
    css = _CSS_COMMENT_RE.sub("", " ".join(_STYLE_BLOCK_RE.findall(html)))
    return sum(length for _selector, length in _css_rules(css)) if css else 0


def static_style_chars(source: str) -> int | None:
    """``style_chars`` of every email a template renders, when its <style> blocks are plain
    CSS ahead of any Jinja statement (so no loop or condition repeats or changes them);
    None when only the rendered email can tell."""
    ends = [m.end() for m in _STYLE_BLOCK_RE.finditer(source)]
    head = source[: ends[-1]] if ends else ""
    blocks = _STYLE_BLOCK_RE.findall(head)
    if "{%" in head or any("{{" in block or "{#" in block for block in blocks):
        return None
    return style_chars(head)


def check_inline_css(html: str, limit: int, declared: int | None = None) -> None:
    """Raise StylesTooLarge when inlining the <style> rules of ``html`` could add more than
    ``limit`` characters: each rule's declarations are copied into every element it matches,
    so a few kilobytes of CSS over a few thousand elements make hundreds of megabytes.
    ``declared``: the ``style_chars`` of ``html`` when the caller knows them already."""
    if declared is None:
        declared = style_chars(html)
    if 2 * declared * html.count("<") <= limit:  # the usual case: nothing to count
        return
    css = _CSS_COMMENT_RE.sub("", " ".join(_STYLE_BLOCK_RE.findall(html)))
    rules = _css_rules(css)
    tags: Counter[str] = Counter(m.lower() for m in _START_TAG_RE.findall(html))
    classes: Counter[str] = Counter()
    ids: Counter[str] = Counter()
    for name, *values in _ATTR_RE.findall(html):
        tokens = "".join(values).lower().split()
        (classes if name.lower() == "class" else ids).update(set(tokens))
    growth = 0
    for group, length in rules:
        for selector in group.split(","):
            # declarations come out as "name: value;", a little longer than written
            growth += 2 * length * _candidates(selector, tags, classes, ids)
        if growth > limit:
            raise StylesTooLarge(limit)

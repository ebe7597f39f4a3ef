"""The sandbox's bounds: resource caps, and the checks its operator, call and filter hooks run
so that a template cannot build huge values or loop forever."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jinja2 import pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.utils import Namespace

from mailer.engine.rendering import budget as render_budget
from mailer.engine.rendering.budget import Budget, RenderTooLarge

_current_budget = render_budget.current

# Resource caps. Generous for real newsletters, far below what hurts a worker.
MAX_SOURCE = 1_000_000  # characters per template field
# Lexer tokens per template field (tags, their words and symbols, the text between them):
# compiling costs about 40 µs a token here, so 20,000 is under a second; a big newsletter has a
# few hundred, a hand-written catalogue a few thousand.
MAX_TOKENS = 20_000
MAX_RANGE = 1_000  # items per range() call (Jinja's sandbox allows 100,000)
MAX_LOOP_ITERATIONS = 100_000  # loop items per field per render
MAX_STRING = 100_000  # length of any string or list a template computes
MAX_WIDTH = 1_000  # padding widths (center, ljust, format specs, indent)
MAX_EXPONENT = 1_000
MAX_INT_BITS = 4_096  # about 1,200 digits: more than any email needs, cheap to compute

_CONTAINERS = (list, tuple, dict, set, frozenset, Namespace)
_SEQUENCES = (list, tuple)


def check_size(value: Any) -> Any:
    """After an operator, a call or a ``~``: strings and lists of at most MAX_STRING items,
    nested values that would print at most the output budget."""
    budget = _current_budget()
    budget.countdown -= 1
    if budget.countdown <= 0:
        budget.ticked()
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise SecurityError(f"value too large ({len(value)} > {MAX_STRING} items)")
    elif isinstance(value, _CONTAINERS):
        if isinstance(value, _SEQUENCES) and len(value) > MAX_STRING:
            raise SecurityError(f"value too large ({len(value)} > {MAX_STRING} items)")
        _check_weight(value, budget.max_chars)
    return value


def _check_weight(value: Any, limit: int) -> None:
    if render_budget.weight(value, limit) > limit:
        raise RenderTooLarge(limit, "a value the template builds")


def check_result(value: Any, budget: Budget) -> None:
    """After a filter: nothing bigger than the output budget (filters also get the
    recipient's own data, which may be long, so MAX_STRING does not apply)."""
    if isinstance(value, str):
        if len(value) > budget.max_chars:
            raise RenderTooLarge(budget.max_chars, "a text the template builds")
    elif isinstance(value, _CONTAINERS):
        _check_weight(value, budget.max_chars)


def check_built(size: int) -> None:
    """Before an operation whose result would be ``size`` characters long."""
    limit = _current_budget().max_chars
    if size > limit:
        raise RenderTooLarge(limit, "a text the template builds")


def check_width(width: Any) -> None:
    size = len(width) if isinstance(width, str) else width
    if isinstance(size, int) and size > MAX_WIDTH:
        raise SecurityError(f"width {size} exceeds the limit of {MAX_WIDTH}")


_PERCENT_SPEC_RE = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(fmt: str) -> None:
    for match in _PERCENT_SPEC_RE.finditer(fmt):
        for number in match.groups():
            if number == "*":
                raise SecurityError("'*' widths are not allowed in format strings")
            if number:
                check_width(int(number))


def check_percent(fmt: str, args: Any) -> None:
    """Widths, and the length ``fmt % args`` would have. Only a mapping can be used more
    than once (``%(a)s`` a thousand times); a tuple's items are used once each."""
    _check_percent_format(fmt)
    if type(args) is tuple or not isinstance(args, Mapping):
        return
    limit = _current_budget().max_chars
    check_built(render_budget.percent_format_size(fmt, args, limit))


def _check_brace_format(fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    limit = _current_budget().max_chars
    check_built(render_budget.brace_format_size(fmt, args, kwargs, limit))
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will raise the same error itself
    for _literal, _name, spec, _conversion in parsed:
        if not spec:
            continue
        if "{" in spec:
            raise SecurityError("nested replacement fields are not allowed in format strings")
        for number in re.findall(r"\d+", spec):
            check_width(int(number))


def check_str_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse str methods whose arguments would build huge strings; returns (maybe) new args."""
    bound = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format in a function
    owner = getattr(bound, "__self__", None)
    if not isinstance(owner, str):
        return args
    name = getattr(bound, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill"):
        check_width(args[0] if args else kwargs.get("width"))
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tabsize, int) and tabsize * owner.count("\t") > MAX_STRING:
            raise SecurityError("expandtabs result too large")
    elif name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        hits = owner.count(old) if old else len(owner) + 1
        if len(owner) + hits * max(0, len(new) - len(old)) > MAX_STRING:
            raise SecurityError("replace result too large")
    elif name == "format":
        _check_brace_format(owner, args, kwargs)
    elif name == "format_map":
        _check_brace_format(owner, (), args[0] if args and isinstance(args[0], Mapping) else {})
    elif name == "join" and args:
        items = list(args[0])
        if len(owner) * len(items) > MAX_STRING:
            raise SecurityError("join result too large")
        limit = _current_budget().max_chars
        check_built(render_budget.weight(items, limit))
        return (items, *args[1:])
    return args


def safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range too big (more than {MAX_RANGE} items)")
    return result


def _counted(iterable: Iterable[Any], left: list[int], budget: Budget) -> Iterator[Any]:
    for item in iterable:
        left[0] -= 1
        if left[0] < 0:
            raise SecurityError(f"loop limit reached ({MAX_LOOP_ITERATIONS} iterations)")
        if not left[0] & 15:
            budget.check()
        yield item


@pass_eval_context
def loop_guard(eval_ctx: EvalContext, iterable: Iterable[Any]) -> Iterator[Any]:
    """Wraps every for-loop's iterable: nested loops share one budget of iterations per render,
    and every 16 iterations look at the render's deadline."""
    left: list[int] = eval_ctx.__dict__.setdefault("mailer_loop_budget", [MAX_LOOP_ITERATIONS])
    return _counted(iterable, left, _current_budget())

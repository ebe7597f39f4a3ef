"""Jinja's filters with bounds: size checks before and after each filter runs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import pass_environment, pass_eval_context
from jinja2.environment import Environment
from jinja2.exceptions import SecurityError
from jinja2.filters import (
    do_batch,
    do_center,
    do_format,
    do_indent,
    do_pprint,
    do_replace,
    do_tojson,
    do_urlize,
    do_wordwrap,
    sync_do_join,
    sync_do_slice,
    sync_do_sum,
)
from jinja2.nodes import EvalContext
from jinja2.runtime import markup_join, str_join

from mailer.engine.rendering import budget as render_budget
from mailer.engine.rendering.guards import (
    MAX_STRING,
    check_built,
    check_percent,
    check_result,
    check_size,
    check_str_method,
    check_width,
    loop_guard,
)

_current_budget = render_budget.current


def _center(value: str, width: int = 80) -> str:
    check_width(width)
    return do_center(value, width)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    check_width(width)
    text = str(s)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    check_built(len(text) + pad * (text.count("\n") + 1))
    return check_size(do_indent(s, width, first, blank))  # type: ignore[no-any-return]


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    check_percent(str(value), kwargs or args)
    return check_size(do_format(value, *args, **kwargs))  # type: ignore[no-any-return]


@pass_environment
def _wordwrap(
    environment: Environment,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    text = str(s)
    if isinstance(width, int) and width > 0:
        joint = len(wrapstring if wrapstring is not None else environment.newline_sequence)
        lines = len(text) // width + text.count(" ") + text.count("\n") + 1
        check_built(len(text) + lines * joint)
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


@pass_eval_context
def _urlize(eval_ctx: EvalContext, value: str, *args: Any, **kwargs: Any) -> str:
    text = str(value)
    extra = sum(len(str(v)) for v in (*args, *kwargs.values()) if isinstance(v, str))
    check_built(3 * len(text) + len(text.split()) * (extra + 64))
    return do_urlize(eval_ctx, value, *args, **kwargs)


@pass_eval_context
def _tojson(eval_ctx: EvalContext, value: Any, indent: int | None = None) -> Any:
    limit = _current_budget().max_chars
    size = render_budget.weight(value, limit)
    if indent:
        check_width(indent)
        size *= 1 + int(indent) * (render_budget.depth(value, limit) + 1)
    check_built(size)
    return do_tojson(eval_ctx, value, indent)


def _pprint(value: Any) -> str:
    # pprint is pure Python, about 2 µs an item: keep it to what fits in MAX_STRING.
    size = render_budget.weight(value, MAX_STRING)
    if size > MAX_STRING or size * (render_budget.depth(value, MAX_STRING) + 1) > MAX_STRING:
        raise SecurityError(f"value too large to pprint (more than {MAX_STRING} characters)")
    return do_pprint(value)


@pass_environment
def _sum(
    environment: Environment, iterable: Iterable[Any], attribute: Any = None, start: Any = 0
) -> Any:
    """Adding lists copies every partial sum: n lists cost n times their total length."""
    items = list(iterable)
    if isinstance(start, list | tuple) and items:
        total = sum(len(item) for item in items if isinstance(item, list | tuple | str))
        check_built(len(items) * total)
    return sync_do_sum(environment, items, attribute, start)


def _batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    check_width(linecount)
    return do_batch(value, linecount, fill_with)


def _slice(value: Iterable[Any], slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    check_width(slices)
    return sync_do_slice(list(value), slices, fill_with)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None) -> str:
    check_str_method(str(s).replace, (str(old), str(new)), {})
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = list(value)
    if len(d) * len(items) > MAX_STRING:
        raise SecurityError("join result too large")
    limit = _current_budget().max_chars
    check_built(render_budget.weight(items, limit))
    return check_size(sync_do_join(eval_ctx, items, d, attribute))  # type: ignore[no-any-return]


@pass_eval_context
def _concat(eval_ctx: EvalContext, operands: list[Any]) -> str:
    """What Jinja compiles `~` to (markup_join / str_join), with the size checked as each
    operand becomes text."""
    parts = []
    size = 0
    for operand in operands:
        text = operand if isinstance(operand, str) else str(operand)
        size += len(text)
        if size > MAX_STRING:
            raise SecurityError(f"value too large (more than {MAX_STRING} characters)")
        parts.append(operand if isinstance(operand, str) else text)
    _current_budget().tick()
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


# Filters not wrapped in `_checked`: they return their input or their argument, or they
# check their own result with `check_size`.
_UNCHECKED_FILTERS = frozenset(
    {"default", "d", "format", "indent", "join", "mailer_loop_guard", "mailer_size_guard"}
    | {"mailer_concat"}
)


def _checked(func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result is checked (size, deadline); keeps Jinja's pass_* marker."""

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        value = func(*args, **kwargs)
        budget = _current_budget()
        budget.countdown -= 1
        if budget.countdown <= 0:
            budget.ticked()
        if not isinstance(value, str) or len(value) > 4096:
            check_result(value, budget)
        return value

    return checked


def install_filters(env: Environment) -> None:
    """Replace Jinja's unbounded filters with these, add the guard filters the sandbox inserts
    into every template, and check every other filter's result."""
    env.filters.update(
        center=_center,
        indent=_indent,
        format=_format,
        batch=_batch,
        slice=_slice,
        replace=_replace,
        join=_join,
        wordwrap=_wordwrap,
        urlize=_urlize,
        tojson=_tojson,
        pprint=_pprint,
        sum=_sum,
        mailer_loop_guard=loop_guard,
        mailer_size_guard=check_size,
        mailer_concat=_concat,
    )
    for name, func in env.filters.items():
        if name not in _UNCHECKED_FILTERS:
            env.filters[name] = _checked(func)

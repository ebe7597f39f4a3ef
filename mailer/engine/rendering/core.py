"""Email template engine: sandboxed Jinja, compiled once per campaign, rendered per recipient.

Marketers write templates in the browser, so a template is untrusted code: it runs in Jinja's
immutable sandbox with no loader, a small allow-list of tags and globals, and caps on loops,
ranges and string sizes; every render also has a time and size budget (``render_budget``),
checked while it runs, so one template cannot stall a worker.

A campaign of millions pays for the expensive steps (CSS inlining, HTML-to-text) once, at
compile time, when structural checks show that this gives the same email as doing them per
recipient (a sample render double-checks); otherwise they run per render.
``CompiledEmail.css_strategy`` / ``text_strategy`` / ``fallback_reasons`` say which and why.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal

import css_inline
from jinja2 import Template, TemplateSyntaxError, nodes, pass_environment, pass_eval_context
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
from jinja2.lexer import Lexer
from jinja2.meta import find_undeclared_variables
from jinja2.nodes import EvalContext
from jinja2.runtime import ChainableUndefined, Context, markup_join, new_context, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer

from mailer.engine.rendering import budget as render_budget
from mailer.engine.rendering.budget import (
    CURRENT_BUDGET,
    Budget,
    RenderLimits,
    RenderOverBudget,
    RenderTooLarge,
    RenderTooSlow,
)

__all__ = [
    "BASE_VARIABLES",
    "CompiledEmail",
    "Preview",
    "RenderError",
    "RenderLimits",
    "RenderedEmail",
    "TemplateSyntaxProblem",
    "compile_email",
    "html_to_text",
    "recipient_context",
    "render_preview",
    "sample_context",
    "unknown_variables",
]

Field = Literal["subject", "html", "text"]

BASE_VARIABLES: frozenset[str] = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "name",
        "unsubscribe_url",
        "view_online_url",
        "attributes",
    }
)

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
# The time and output budgets are settings (RenderLimits: MAILER_RENDER_TIMEOUT_MS and
# MAILER_RENDER_MAX_CHARS). A compiled email that ran out of time for TRIP_AFTER recipients in
# a row gets TRIPPED_TIMEOUT_MS until one renders again: a template that is always too slow
# then costs a send loop milliseconds per recipient, not the whole budget (real emails render
# in about 0.1-2 ms).
TRIP_AFTER = 3
TRIPPED_TIMEOUT_MS = 20

_FIELD_LABELS: dict[str, str] = {"subject": "Subject", "html": "HTML body", "text": "Text body"}


class TemplateSyntaxProblem(Exception):
    """A template cannot be compiled; carries what the editor needs to point at it."""

    def __init__(self, message: str, line: int | None, field: Field) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = _FIELD_LABELS[self.field]
        if self.line:
            where += f", line {self.line}"
        return f"{where}: {self.message}"


class RenderError(Exception):
    """Rendering failed for one recipient; the send pipeline records it and moves on.

    ``template`` names the template (or campaign) when the caller gave its name;
    ``over_budget`` says the render was stopped for taking too long or growing too big."""

    def __init__(
        self, message: str, field: Field, template: str | None = None, *, over_budget: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.template = template
        self.over_budget = over_budget

    def __str__(self) -> str:
        where = _FIELD_LABELS[self.field]
        if self.template:
            where += f" of “{self.template}”"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


# --------------------------------------------------------------------------------------------
# Sandbox
# --------------------------------------------------------------------------------------------


class _LenientUndefined(ChainableUndefined):
    """Missing data renders empty at send time instead of failing the recipient.

    Arithmetic, comparisons and calls on a missing value give another missing value (falsy,
    prints ""). Values the sandbox refused (``exc=SecurityError``) still raise on any use, so an
    escape attempt surfaces as an error rather than as silent blank output.
    """

    __slots__ = ()

    def _refuse_if_unsafe(self) -> None:
        if issubclass(self._undefined_exception, SecurityError):
            self._fail_with_undefined_error()

    def _lenient(self, *args: Any, **kwargs: Any) -> _LenientUndefined:
        self._refuse_if_unsafe()
        return self

    def __str__(self) -> str:
        self._refuse_if_unsafe()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._refuse_if_unsafe()
        return iter(())

    def __bool__(self) -> bool:
        self._refuse_if_unsafe()
        return False

    def __len__(self) -> int:
        self._refuse_if_unsafe()
        return 0

    __add__ = __radd__ = __sub__ = __rsub__ = _lenient  # type: ignore[assignment]
    __mul__ = __rmul__ = __div__ = __rdiv__ = _lenient  # type: ignore[assignment]
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _lenient  # type: ignore[assignment]
    __mod__ = __rmod__ = __pos__ = __neg__ = __pow__ = __rpow__ = _lenient  # type: ignore[assignment]
    __call__ = __getitem__ = _lenient  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = _lenient  # type: ignore[assignment]


_CONTAINERS = (list, tuple, dict, set, frozenset, Namespace)
_SEQUENCES = (list, tuple)


_current_budget = render_budget.current


def _check_size(value: Any) -> Any:
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


def _check_result(value: Any, budget: Budget) -> None:
    """After a filter: nothing bigger than the output budget (filters also get the
    recipient's own data, which may be long, so MAX_STRING does not apply)."""
    if isinstance(value, str):
        if len(value) > budget.max_chars:
            raise RenderTooLarge(budget.max_chars, "a text the template builds")
    elif isinstance(value, _CONTAINERS):
        _check_weight(value, budget.max_chars)


def _check_built(size: int) -> None:
    """Before an operation whose result would be ``size`` characters long."""
    limit = _current_budget().max_chars
    if size > limit:
        raise RenderTooLarge(limit, "a text the template builds")


def _check_width(width: Any) -> None:
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
                _check_width(int(number))


def _check_percent(fmt: str, args: Any) -> None:
    """Widths, and the length ``fmt % args`` would have. Only a mapping can be used more
    than once (``%(a)s`` a thousand times); a tuple's items are used once each."""
    _check_percent_format(fmt)
    if type(args) is tuple or not isinstance(args, Mapping):
        return
    limit = _current_budget().max_chars
    _check_built(render_budget.percent_format_size(fmt, args, limit))


def _check_brace_format(fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    limit = _current_budget().max_chars
    _check_built(render_budget.brace_format_size(fmt, args, kwargs, limit))
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
            _check_width(int(number))


def _check_str_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse str methods whose arguments would build huge strings; returns (maybe) new args."""
    bound = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format in a function
    owner = getattr(bound, "__self__", None)
    if not isinstance(owner, str):
        return args
    name = getattr(bound, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_width(args[0] if args else kwargs.get("width"))
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
        _check_built(render_budget.weight(items, limit))
        return (items, *args[1:])
    return args


class _CappedLexer(Lexer):
    """Stops at MAX_TOKENS: Jinja's parser and code generator take time in proportion."""

    def tokeniter(self, *args: Any, **kwargs: Any) -> Iterator[tuple[int, str, str]]:
        for count, token in enumerate(super().tokeniter(*args, **kwargs), 1):
            if count > MAX_TOKENS:
                raise TemplateSyntaxError(
                    f"the template is too long to compile quickly: more than {MAX_TOKENS:,} "
                    "parts ({{ }} and {% %} tags, their words, the text between them); split "
                    "it or simplify it",
                    token[0],
                )
            yield token


class _MailSandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox plus size checks on the operators that can build huge values."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    @property
    def lexer(self) -> Lexer:
        lexer = self.__dict__.get("_mailer_lexer")
        if lexer is None:
            lexer = self.__dict__["_mailer_lexer"] = _CappedLexer(self)
        return lexer

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and right > 0 and abs(left) > 1:
            if right > MAX_EXPONENT or left.bit_length() * right > MAX_INT_BITS:
                raise SecurityError(f"{left} ** {right} is too large")
        elif operator == "*" and ints:
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise SecurityError("number too large")
        elif operator == "*":
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(count, int)
                if sized and len(seq) * count > MAX_STRING:
                    raise SecurityError(f"value too large (more than {MAX_STRING} items)")
        elif operator == "%" and isinstance(left, str):
            _check_percent(left, right)
        return _check_size(self.binop_table[operator](left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        args = _check_str_method(__obj, args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))


def _safe_range(*args: int) -> range:
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
def _loop_guard(eval_ctx: EvalContext, iterable: Iterable[Any]) -> Iterator[Any]:
    """Wraps every for-loop's iterable: nested loops share one budget of iterations per render,
    and every 16 iterations look at the render's deadline."""
    left: list[int] = eval_ctx.__dict__.setdefault("mailer_loop_budget", [MAX_LOOP_ITERATIONS])
    return _counted(iterable, left, _current_budget())


def _center(value: str, width: int = 80) -> str:
    _check_width(width)
    return do_center(value, width)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _check_width(width)
    text = str(s)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    _check_built(len(text) + pad * (text.count("\n") + 1))
    return _check_size(do_indent(s, width, first, blank))  # type: ignore[no-any-return]


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_percent(str(value), kwargs or args)
    return _check_size(do_format(value, *args, **kwargs))  # type: ignore[no-any-return]


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
        _check_built(len(text) + lines * joint)
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


@pass_eval_context
def _urlize(eval_ctx: EvalContext, value: str, *args: Any, **kwargs: Any) -> str:
    text = str(value)
    extra = sum(len(str(v)) for v in (*args, *kwargs.values()) if isinstance(v, str))
    _check_built(3 * len(text) + len(text.split()) * (extra + 64))
    return do_urlize(eval_ctx, value, *args, **kwargs)


@pass_eval_context
def _tojson(eval_ctx: EvalContext, value: Any, indent: int | None = None) -> Any:
    limit = _current_budget().max_chars
    size = render_budget.weight(value, limit)
    if indent:
        _check_width(indent)
        size *= 1 + int(indent) * (render_budget.depth(value, limit) + 1)
    _check_built(size)
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
        _check_built(len(items) * total)
    return sync_do_sum(environment, items, attribute, start)


def _batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _check_width(linecount)
    return do_batch(value, linecount, fill_with)


def _slice(value: Iterable[Any], slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _check_width(slices)
    return sync_do_slice(list(value), slices, fill_with)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None) -> str:
    _check_str_method(str(s).replace, (str(old), str(new)), {})
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = list(value)
    if len(d) * len(items) > MAX_STRING:
        raise SecurityError("join result too large")
    limit = _current_budget().max_chars
    _check_built(render_budget.weight(items, limit))
    return _check_size(sync_do_join(eval_ctx, items, d, attribute))  # type: ignore[no-any-return]


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
# check their own result with `_check_size`.
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
            _check_result(value, budget)
        return value

    return checked


_SAFE_GLOBALS: dict[str, Any] = {
    "range": _safe_range,
    "dict": dict,
    "cycler": Cycler,
    "joiner": Joiner,
    "namespace": Namespace,
}


def _make_env(
    *, autoescape: bool, user_source: bool, finalize: Callable[[Any], Any] | None = None
) -> _MailSandbox:
    """User sources get trim_blocks so `{% if %}` lines leave no blank line in text bodies;
    sources this module derives keep exact whitespace (their data was already trimmed)."""
    env = _MailSandbox(
        autoescape=autoescape,
        finalize=finalize,
        undefined=_LenientUndefined,
        trim_blocks=user_source,
        lstrip_blocks=user_source,
        keep_trailing_newline=True,
        loader=None,
        cache_size=0,
    )
    env.globals.clear()
    env.globals.update(_SAFE_GLOBALS)
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
        mailer_loop_guard=_loop_guard,
        mailer_size_guard=_check_size,
        mailer_concat=_concat,
    )
    for name, func in env.filters.items():
        if name not in _UNCHECKED_FILTERS:
            env.filters[name] = _checked(func)
    return env


_USER_ENVS = {
    "subject": _make_env(autoescape=False, user_source=True),
    "html": _make_env(autoescape=True, user_source=True),
    "text": _make_env(autoescape=False, user_source=True),
}
_DERIVED_HTML_ENV = _make_env(autoescape=True, user_source=False)
_DERIVED_TEXT_ENV = _make_env(
    autoescape=False, user_source=False, finalize=lambda value: _finalize_text_value(value)
)

# Only these statements are supported in email templates; the rest either need a loader
# (include/import/extends), switch escaping off (autoescape), or exist to build reusable
# output (macro/call/filter/block-set), which the loop and size guards cannot bound.
_ALLOWED_STATEMENTS = (nodes.Output, nodes.If, nodes.For, nodes.Assign, nodes.With)
_TAG_NAMES: dict[type[nodes.Node], str] = {
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.FilterBlock: "filter",
    nodes.AssignBlock: "set … endset",
    nodes.Block: "block",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
    nodes.Scope: "autoescape",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
}
# Filters whose output is markup the template source does not show; with them the HTML is not
# known at compile time, so CSS inlining and text generation must run per render.
_MARKUP_FILTERS = frozenset({"safe", "urlize", "xmlattr"})
# Filters whose output is HTML-escaped text: right in HTML, wrong in a plain-text body.
_ESCAPING_FILTERS = frozenset({"e", "escape", "forceescape"})


def _check_tree(ast: nodes.Template, fld: Field) -> None:
    """Refuse, at save time, what the sandbox would only refuse (or not) at send time."""
    for node in ast.find_all(nodes.Stmt):
        if not isinstance(node, _ALLOWED_STATEMENTS):
            tag = _TAG_NAMES.get(type(node), type(node).__name__.lower())
            line = node.lineno or next((n.lineno for n in node.find_all(nodes.Node)), None)
            raise TemplateSyntaxProblem(
                f"the {{% {tag} %}} tag is not supported in email templates", line, fld
            )
        if isinstance(node, nodes.For) and node.recursive:
            raise TemplateSyntaxProblem("recursive loops are not supported", node.lineno, fld)
    for access in ast.find_all((nodes.Getattr, nodes.Getitem)):
        name = _accessed_name(access)
        if name and name.startswith("__"):
            raise TemplateSyntaxProblem(f"access to {name!r} is not allowed", access.lineno, fld)


def _accessed_name(node: nodes.Node) -> str | None:
    """The constant name in `x.name` or `x["name"]`."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value if isinstance(node.arg.value, str) else None
    return None


def _size_guard(node: nodes.Expr) -> nodes.Expr:
    return nodes.Filter(node, "mailer_size_guard", [], [], None, None, lineno=node.lineno)


class _InsertGuards(NodeTransformer):
    """Routes every loop through the iteration budget and deadline, and the expressions that
    build values (``~``, list and dict literals) or compare them through the size check,
    which also looks at the deadline."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(
            node.iter, "mailer_loop_guard", [], [], None, None, lineno=node.lineno
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        """`a ~ b ~ c` joined by `_concat`, which stops at the first operand past the limit
        instead of joining a chain of one big value whole."""
        self.generic_visit(node)
        operands = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(operands, "mailer_concat", [], [], None, None, lineno=node.lineno)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return _size_guard(node) if node.ctx == "load" else node

    def _guarded(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        return _size_guard(node)

    visit_List = visit_Dict = visit_Compare = visit_Test = _guarded

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        return _size_guard(node) if isinstance(node.arg, nodes.Slice) else node


def _parse(env: _MailSandbox, source: str, fld: Field) -> nodes.Template:
    if len(source) > MAX_SOURCE:
        raise TemplateSyntaxProblem(f"template is larger than {MAX_SOURCE} characters", None, fld)
    try:
        return env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateSyntaxProblem(exc.message or str(exc), exc.lineno, fld) from None
    except RecursionError:
        raise TemplateSyntaxProblem(_TOO_DEEP, None, fld) from None


def _build(env: _MailSandbox, ast: nodes.Template, fld: Field) -> Template:
    ast = _InsertGuards().visit(ast)
    ast.set_environment(env)
    try:
        return env.from_string(ast)
    except TemplateSyntaxError as exc:  # e.g. unknown filter, found by the code generator
        raise TemplateSyntaxProblem(exc.message or str(exc), exc.lineno, fld) from None


_TOO_DEEP = "brackets, filters or tags are nested too deeply in each other"


def _compile_user(source: str, fld: Field) -> tuple[Template, nodes.Template]:
    env = _USER_ENVS[fld]
    ast = _parse(env, source, fld)
    try:
        _check_tree(ast, fld)
        return _build(env, ast, fld), ast
    except RecursionError:
        raise TemplateSyntaxProblem(_TOO_DEEP, None, fld) from None


def _render_capped(template: Template, context: Mapping[str, Any], limit: int = 0) -> str:
    """Render, stopping as soon as the output passes ``limit`` characters (default: the
    current budget's; a loop can multiply output).

    ``template.render(context)`` without its per-call cost of flattening the template's
    globals (a ChainMap, iterated twice per render): our environments' globals never change
    after they are built, so a flat copy is taken once per template. On the per-recipient
    path: one loop over Jinja's chunks, no generator in between."""
    flat = template.__dict__.get("_mailer_flat_globals")
    if flat is None:
        flat = template._mailer_flat_globals = dict(template.globals)  # type: ignore[attr-defined]
    ctx = new_context(template.environment, template.name, template.blocks, context, False, flat)
    limit = limit or _current_budget().max_chars
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.root_render_func(ctx):
            size += len(chunk)
            if size > limit:
                break
            parts.append(chunk)
    except Exception:
        template.environment.handle_exception()
    if size > limit:
        raise RenderTooLarge(limit)
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Template source as segments, and placeholders
# --------------------------------------------------------------------------------------------

# Private-use characters: they never occur in real templates (we check) and survive both the
# HTML parser and html5ever untouched, so Jinja tags can ride through them as opaque tokens.
_PH_OPEN, _PH_CLOSE = "\ue000", "\ue001"
_PH_RE = re.compile("\ue000([es])(\\d+)\ue001")
_PH_COMMENT_RE = re.compile("<!--\ue000([es])(\\d+)\ue001-->")
_RESERVED_RE = re.compile("[\x01-\x08\x0e-\x1f\ue000-\ue00f]")
_OPENERS = frozenset({"if", "for", "with"})
_MIDDLES = frozenset({"elif", "else"})


@dataclass(frozen=True, slots=True)
class _Segment:
    kind: Literal["data", "expr", "stmt"]
    text: str  # literal data, or the Jinja tag as it must be written back
    keyword: str = ""  # first word of a statement
    key: str = ""  # expressions: whitespace-insensitive identity


def _segments(env: _MailSandbox, source: str) -> list[_Segment]:
    """Split a template into literal data and Jinja tags with Jinja's own lexer.

    Data comes out after whitespace control (``-``, trim/lstrip_blocks), comments are dropped
    and raw blocks become data, so writing the segments back needs no whitespace control.
    """
    out: list[_Segment] = []
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
                    out.append(_Segment("data", "".join(data)))
                    data = []
                body = "".join(v for _t, v in inner)
                words = [v for t, v in inner if t != "whitespace"]
                if mode == "variable_begin":
                    out.append(_Segment("expr", "{{" + body + "}}", key=" ".join(words)))
                else:
                    out.append(_Segment("stmt", "{%" + body + "%}", keyword=words[0]))
            mode = ""
        else:
            inner.append((kind, value))
    if data:
        out.append(_Segment("data", "".join(data)))
    return out


class _Placeholders:
    """Numbers a template's Jinja tags; identical expressions share one number."""

    def __init__(self, segments: list[_Segment]) -> None:
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
        for match in _PH_RE.finditer(text):
            parts.append(_escape_literal(literal(text[last : match.start()])))
            parts.append(self.sources[match.group()])
            last = match.end()
        parts.append(_escape_literal(literal(text[last:])))
        return "".join(parts)


_LITERAL_BRACE_RE = re.compile(r"\{(?=[{%#]|$)")


def _escape_literal(text: str) -> str:
    # e.g. "&#123;{ x }}" decodes to "{{ x }}": it must stay text in the derived template.
    return _LITERAL_BRACE_RE.sub("{{ '{' }}", text)


class _Paths:
    """Tracks which branch of which Jinja block the current position is in.

    Two positions with equal paths are always rendered together (same loop iteration, same
    if-branch), which is what the compile-time transforms must preserve.
    """

    def __init__(self, keywords: Mapping[int, str]) -> None:
        self.keywords = keywords
        self.path: tuple[tuple[int, int], ...] = ()

    def advance(self, token: str) -> bool:
        """Apply a placeholder; True when it was a statement."""
        match = _PH_RE.fullmatch(token)
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
        found = [m.group() for m in _PH_RE.finditer(text)]
        for token in found:
            self.advance(token)
        return found


def _uses_filters(ast: nodes.Template, names: frozenset[str]) -> bool:
    return any(node.name in names for node in ast.find_all(nodes.Filter))


# --------------------------------------------------------------------------------------------
# HTML to text
# --------------------------------------------------------------------------------------------

# Break markers: the converter emits these instead of newlines; _finish_text turns each run
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


_VOID = _words("area base br col embed hr img input link meta param source track wbr")
_SKIP = _words("head style script title noscript template svg select object")
_BLOCK2 = _words("p h1 h2 h3 h4 h5 h6 ul ol table blockquote pre dl form figure")
_BLOCK1 = _words(
    "div li tr td th section article header footer nav aside main center dd dt address "
    "figcaption caption thead tbody tfoot"
)
_HEAD_CONTENT = _words("base link meta noscript script style template title")
_HIDDEN_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u200b\u2060\ufeff"))
_WS_RE = re.compile(r"[ \t\r\n\f\v\xa0]+")
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

    def __init__(self, paths: _Paths | None = None) -> None:
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
        text = _WS_RE.sub(" ", text)
        if text.startswith(" ") and (not self.out or self.out[-1].endswith(" ")):
            text = text[1:]  # never two spaces in a row: _finish_text need not look for them
        if text:
            self.out.append(text)

    def _emit(self, text: str) -> None:
        """Emit text that may carry placeholders, updating branch paths on statements."""
        if self.paths is None:
            self._emit_text(_RESERVED_RE.sub("", text))
            return
        last = 0
        for match in _PH_RE.finditer(text):
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
                if _PH_RE.search(name):
                    self.unsafe = "Jinja inside a tag, outside attribute values"
                if name == "style" and _PH_RE.search(value or ""):
                    self.unsafe = "Jinja inside a style attribute (it may hide the element)"
                if name not in ("href", "alt"):
                    self._attr_value(value)
        if tag in _VOID:
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
        if tag in _VOID or not any(o.tag == tag for o in self.stack):
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
        """Mark text and URL; _finish_text decides `text (url)` vs `url` after rendering,
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
    shown = _WS_RE.sub(" ", _MARKERS_RE.sub(" ", text)).strip()
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


def _finish_text(text: str) -> str:
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
    """Do at compile time the part of _finish_text that does not depend on neighbouring
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


def _finalize_text_value(value: Any) -> str:
    """Whitespace in values collapses as it would in HTML; markers cannot be injected."""
    text = str(value)
    if text and (_VALUE_WS_RE.search(text) or _RESERVED_RE.search(text)):
        text = _WS_RE.sub(" ", _RESERVED_RE.sub("", text))
    if text.startswith(" "):
        text = _SOFT_SPACE + text[1:]
    if text.endswith(" "):
        text = text[:-1] + _SOFT_SPACE
    return text


def html_to_text(html: str) -> str:
    """Readable plain-text version of an HTML email (links as ``text (url)``)."""
    converter = _TextConverter()
    converter.feed(html)
    return _finish_text(converter.result())


def _text_template_source(
    segments: list[_Segment], placeholders: _Placeholders
) -> tuple[str | None, str]:
    """Convert the HTML *template* to a text template once; (None, reason) when unsafe."""
    source = "".join(
        seg.text if token is None else token
        for seg, token in zip(segments, placeholders.tokens, strict=True)
    )
    paths = _Paths(placeholders.keywords)
    converter = _TextConverter(paths)
    converter.feed(source)
    text = converter.result()
    if converter.unsafe:
        return None, converter.unsafe
    survived = [m.group() for m in _PH_RE.finditer(text) if m.group(1) == "s"]
    if survived != placeholders.statements:
        return None, "a Jinja statement sits in markup that has no text"
    return placeholders.restore(text, _finish_static), ""


# --------------------------------------------------------------------------------------------
# CSS inlining
# --------------------------------------------------------------------------------------------

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
_STYLE_TAG_RE = re.compile(r"<style[\s>]", re.I)
_STYLE_BLOCK_RE = re.compile(r"<style[^>]*>(.*?)</style\s*>", re.I | re.S)
_SELECTOR_RE = re.compile(r"([^{};]+)\{")
_STRUCTURAL_RE = re.compile(r":(?:first|last|nth|only)-|:empty|:blank|:has\(|[+~]")
_IMPLIED = frozenset({"html", "head", "body", "tbody"})


def _inline_css(html: str, style_chars: int | None = None) -> str:
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
        self.paths = _Paths(keywords)
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
        if tag not in _VOID:
            self.stack.append((tag, path, index))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
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
            if _PH_RE.search(data):
                self.info.broken = "Jinja inside <style>"
            return
        text = _WS_RE.sub(" ", data).strip()
        if text:
            self.info.add(("text", text, self.paths.path))
        self._placeholders(data, "bare")

    def handle_comment(self, data: str) -> None:
        self._placeholders(data, "comment" if _PH_RE.fullmatch(data) else "bare")


def _css_risks(segments: list[_Segment], placeholders: _Placeholders) -> tuple[str, str]:
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
    paths = _Paths(placeholders.keywords)
    parts: list[str] = []
    for seg, token in zip(segments, placeholders.tokens, strict=True):
        if token is None:
            scanner.feed(seg.text)
            if _STYLE_TAG_RE.search(seg.text) and paths.path:
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


def _inline_template_source(
    segments: list[_Segment], placeholders: _Placeholders
) -> tuple[str | None, str]:
    """Inline CSS into the template itself; (None, reason) when that could change the email."""
    source, risk = _css_risks(segments, placeholders)
    if risk:
        return None, risk
    try:
        inlined = _inline_css(source)
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
    unwrapped = _PH_COMMENT_RE.sub(lambda m: m.group()[4:-3], inlined)
    return placeholders.restore(unwrapped), ""


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

CssStrategy = Literal["none", "compile", "render"]
TextStrategy = Literal["custom", "compile", "render"]


@dataclass
class CompiledEmail:
    """A campaign's templates, parsed and pre-processed once; `render` is the per-recipient
    hot path. `name` (the template's or campaign's) is quoted in render errors."""

    subject_template: Template
    html_template: Template
    text_template: Template | None
    css_strategy: CssStrategy
    text_strategy: TextStrategy
    fallback_reasons: list[str] = field(default_factory=list)
    name: str | None = None
    limits: RenderLimits = field(default_factory=RenderLimits)
    style_chars: int | None = None  # per-render CSS inlining: the template's, if static
    slow_in_a_row: int = field(default=0, init=False, repr=False, compare=False)

    def render(self, context: Mapping[str, Any]) -> RenderedEmail:
        """One recipient's email within the time and size budget (RenderError otherwise)."""
        limits = self.limits
        timeout = limits.timeout_ms
        if self.slow_in_a_row >= TRIP_AFTER:
            timeout = min(timeout, TRIPPED_TIMEOUT_MS)
        budget = Budget(timeout, limits.max_chars)
        limit = limits.max_chars
        token = CURRENT_BUDGET.set(budget)
        fld: Field = "subject"
        try:
            subject = _one_line(_render_capped(self.subject_template, context, limit))
            fld = "html"
            html = _render_capped(self.html_template, context, limit)
            source_html = html
            if self.css_strategy == "render":
                budget.check()
                html = _inline_css(html, self.style_chars)
                if len(html) > limit:
                    raise RenderTooLarge(limit)
            fld = "text"
            if self.text_template is None:
                budget.check()
                text = html_to_text(source_html)
            else:
                text = _render_capped(self.text_template, context, limit)
                if self.text_strategy == "compile":
                    text = _finish_text(text)
            budget.finish()
        except Exception as exc:  # untrusted template code can raise anything
            if isinstance(exc, RenderTooSlow):
                self.slow_in_a_row += 1
            over = isinstance(exc, RenderOverBudget)
            raise RenderError(_describe(exc), fld, self.name, over_budget=over) from exc
        finally:
            CURRENT_BUDGET.reset(token)
        self.slow_in_a_row = 0
        return RenderedEmail(subject=subject, html=html, text=text)


_LINE_BREAKS_RE = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _one_line(subject: str) -> str:
    """A subject is a header: CR/LF in it would start new headers."""
    return _LINE_BREAKS_RE.sub(" ", subject).strip()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RenderOverBudget):
        return exc.message
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    message = str(exc) or type(exc).__name__
    if isinstance(exc, ArithmeticError | TypeError | ValueError | LookupError):
        return f"{type(exc).__name__}: {message}"
    return message


def compile_email(
    subject: str,
    html: str,
    text: str | None = None,
    *,
    inline_css: bool = True,
    name: str | None = None,
    limits: RenderLimits | None = None,
) -> CompiledEmail:
    """Parse and check every field once; raises TemplateSyntaxProblem with field and line.

    Also decides, once per campaign, whether CSS inlining and text generation can be done on
    the template itself (see the module docstring); the sample renders that check it share
    one render budget. `name` (the template's or the campaign's) is quoted in render errors;
    `limits` default to the app's settings.
    """
    limits = limits or RenderLimits.from_config()
    with Budget(limits.timeout_ms, limits.max_chars):
        compiled = _compile(subject, html, text, inline_css)
    compiled.name, compiled.limits = name, limits
    return compiled


def _compile(subject: str, html: str, text: str | None, inline_css: bool) -> CompiledEmail:
    subject_template, _ = _compile_user(subject, "subject")
    html_template, html_ast = _compile_user(html, "html")
    reasons: list[str] = []
    source: tuple[list[_Segment], _Placeholders] | None = None
    if _RESERVED_RE.search(html):
        reasons.append("the HTML contains control or private-use characters")
    elif _uses_filters(html_ast, _MARKUP_FILTERS):
        reasons.append("the HTML outputs markup its source does not show (safe, urlize…)")
    else:
        segments = _segments(_USER_ENVS["html"], html)
        source = (segments, _Placeholders(segments))

    css_strategy: CssStrategy = "none"
    css_template: Template | None = None
    if inline_css and _STYLE_TAG_RE.search(html):
        css_strategy = "render"
        if source is not None:
            css_template, reason = _derive(
                _inline_template_source(*source), _DERIVED_HTML_ENV, html_template, _same_html
            )
            if css_template is not None:
                css_strategy = "compile"
            else:
                reasons.append(f"css: {reason}")

    text_template: Template | None = None
    text_strategy: TextStrategy = "render"
    if text is not None and text.strip():
        text_template, _ = _compile_user(text, "text")
        text_strategy = "custom"
    elif source is not None and _uses_filters(html_ast, _ESCAPING_FILTERS):
        reasons.append("text: the HTML escapes values explicitly (|e), wrong in plain text")
    elif source is not None:
        text_template, reason = _derive(
            _text_template_source(*source), _DERIVED_TEXT_ENV, html_template, _same_text
        )
        if text_template is not None:
            text_strategy = "compile"
        else:
            reasons.append(f"text: {reason}")

    return CompiledEmail(
        subject_template=subject_template,
        html_template=css_template or html_template,
        text_template=text_template,
        css_strategy=css_strategy,
        text_strategy=text_strategy,
        fallback_reasons=reasons,
        style_chars=(
            render_budget.static_style_chars(html)
            if css_strategy != "none" and not _uses_filters(html_ast, _MARKUP_FILTERS)
            else None
        ),
    )


def _derive(
    derived: tuple[str | None, str],
    env: _MailSandbox,
    original: Template,
    same: Callable[[Template, Template], bool],
) -> tuple[Template | None, str]:
    """Compile a template derived at compile time, if it was derived and passes the sample
    check; else (None, why)."""
    source, reason = derived
    if source is None:
        return None, reason
    try:
        template = _build(env, env.parse(source), "html")
    except (TemplateSyntaxError, TemplateSyntaxProblem, RecursionError) as exc:  # not the user's
        return None, f"derived template did not compile: {exc}"
    if not same(template, original):
        return None, "a sample render differs from per-render processing"
    return template, ""


def _same_html(compiled: Template, original: Template) -> bool:
    """Safety net behind the structural check: sample renders must match per-render inlining
    after both are normalised by the same HTML parser."""
    return _same_output(
        compiled,
        original,
        lambda ours, html: _normalise_html(ours) == _normalise_html(_inline_css(html)),
    )


def _same_text(compiled: Template, original: Template) -> bool:
    return _same_output(
        compiled, original, lambda ours, html: _finish_text(ours) == html_to_text(html)
    )


def _same_output(compiled: Template, original: Template, same: Callable[[str, str], bool]) -> bool:
    for context in (sample_context(), recipient_context(email="someone@example.com")):
        try:
            reference = _render_capped(original, context)
        except Exception:  # noqa: S112 - this data does not suit the template: try the next
            continue
        try:
            return same(_render_capped(compiled, context), reference)
        except Exception:  # any doubt means per-render processing
            return False
    return True  # nothing renders with sample data: the structural check stands alone


def _normalise_html(html: str) -> str:
    """Same parser, same serialiser; whitespace-only text between tags (which the parser may
    file under <head> or <body> depending on what preceded it) does not count."""
    return _BETWEEN_TAGS_RE.sub("><", str(_NORMALISER.inline(html)))


_DICT_METHODS = frozenset(name for name in dir(dict) if not name.startswith("_"))


def _variables_used(source: str, fld: Field) -> set[str]:
    ast = _parse(_USER_ENVS[fld], source, fld)
    try:
        used = set(find_undeclared_variables(ast))
    except TemplateSyntaxError as exc:  # e.g. an unknown filter, found by the code generator
        raise TemplateSyntaxProblem(exc.message or str(exc), exc.lineno, fld) from None
    except RecursionError:
        raise TemplateSyntaxProblem(_TOO_DEEP, None, fld) from None
    for access in ast.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(access, nodes.Getattr | nodes.Getitem)
        name = _accessed_name(access)
        on_attributes = isinstance(access.node, nodes.Name) and access.node.name == "attributes"
        # attributes.get("x") is a dict method, not an attribute called "get"
        if (
            on_attributes
            and name
            and not (isinstance(access, nodes.Getattr) and name in _DICT_METHODS)
        ):
            used.add(f"attributes.{name}")
    return used


def unknown_variables(subject: str, html: str, text: str | None, known: Iterable[str]) -> list[str]:
    """Names a template uses but nobody supplies (typos like `frist_name`), sorted.

    `known` is added to BASE_VARIABLES; `attributes.x` is reported when `x` is not known.
    Names the template defines itself (set, for, with) are not reported.
    """
    known_names = set(known) | BASE_VARIABLES | set(_SAFE_GLOBALS) | {"loop"}
    used: set[str] = set()
    fields: list[tuple[str | None, Field]] = [(subject, "subject"), (html, "html"), (text, "text")]
    for source, fld in fields:
        if source:
            used |= _variables_used(source, fld)
    return sorted(name for name in used if name.removeprefix("attributes.") not in known_names)


def recipient_context(
    email: str,
    first_name: str | None = None,
    last_name: str | None = None,
    name: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    unsubscribe_url: str = "",
    view_online_url: str = "",
) -> dict[str, Any]:
    """Template variables for one recipient: attributes are also top-level names, but base
    variables and template globals win on a clash so `{{ email }}` can never be spoofed."""
    attrs = {k: v for k, v in (attributes or {}).items() if isinstance(k, str)}
    context: dict[str, Any] = {k: v for k, v in attrs.items() if k not in _SAFE_GLOBALS}
    first, last = first_name or "", last_name or ""
    context.update(
        email=email,
        first_name=first,
        last_name=last,
        name=name or " ".join(part for part in (first, last) if part),
        attributes=attrs,
        unsubscribe_url=unsubscribe_url,
        view_online_url=view_online_url,
    )
    return context


def sample_context(attributes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Believable data for previews and test sends."""
    attrs: dict[str, Any] = {"company": "Example Ltd", "city": "Lisbon", "plan": "Pro"}
    attrs.update(attributes or {})
    return recipient_context(
        email="jane.doe@example.com",
        first_name="Jane",
        last_name="Doe",
        attributes=attrs,
        unsubscribe_url="https://example.com/unsubscribe/sample-token",
        view_online_url="https://example.com/view/sample-token",
    )


@dataclass
class Preview:
    """What a preview page shows: the email when it renders, and every problem found."""

    email: RenderedEmail | None
    problems: list[str]
    unknown_variables: list[str]

    @property
    def ok(self) -> bool:
        return self.email is not None and not self.problems


def render_preview(
    subject: str,
    html: str,
    text: str | None,
    context: Mapping[str, Any],
    *,
    known: Iterable[str] | None = None,
    inline_css: bool = True,
    name: str | None = None,
) -> Preview:
    """Never raises on template problems: reports syntax errors (every field), unknown
    variables and render errors as human messages."""
    problems: list[str] = []
    fields: list[tuple[str | None, Field]] = [(subject, "subject"), (html, "html"), (text, "text")]
    for source, fld in fields:
        if source:
            try:
                _compile_user(source, fld)
            except TemplateSyntaxProblem as exc:
                problems.append(str(exc))
    if problems:
        return Preview(email=None, problems=problems, unknown_variables=[])

    if known is None:
        attrs = context.get("attributes")
        known = set(context) | (set(attrs) if isinstance(attrs, Mapping) else set())
    unknown = unknown_variables(subject, html, text, known)
    problems += [f"Unknown variable '{var}' will render empty." for var in unknown]
    email: RenderedEmail | None = None
    try:
        email = compile_email(subject, html, text, inline_css=inline_css, name=name).render(context)
    except (TemplateSyntaxProblem, RenderError) as exc:
        problems.append(str(exc))
    return Preview(email=email, problems=problems, unknown_variables=unknown)

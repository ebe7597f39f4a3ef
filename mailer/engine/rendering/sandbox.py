"""The sandboxed Jinja environment for user-written templates: lenient undefined values, a
capped lexer, an allow-list of tags and globals, guards inserted into every template, and a
render that stops at the output budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.lexer import Lexer
from jinja2.runtime import ChainableUndefined, Context, new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer

from mailer.engine.rendering import budget as render_budget
from mailer.engine.rendering.budget import RenderTooLarge
from mailer.engine.rendering.errors import Field, TemplateSyntaxProblem
from mailer.engine.rendering.filters import install_filters
from mailer.engine.rendering.guards import (
    MAX_EXPONENT,
    MAX_INT_BITS,
    MAX_SOURCE,
    MAX_STRING,
    MAX_TOKENS,
    check_percent,
    check_size,
    check_str_method,
    safe_range,
)

_current_budget = render_budget.current


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


class MailSandbox(ImmutableSandboxedEnvironment):
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
            check_percent(left, right)
        return check_size(self.binop_table[operator](left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        args = check_str_method(__obj, args, kwargs)
        return check_size(super().call(__context, __obj, *args, **kwargs))


SAFE_GLOBALS: dict[str, Any] = {
    "range": safe_range,
    "dict": dict,
    "cycler": Cycler,
    "joiner": Joiner,
    "namespace": Namespace,
}


def make_env(
    *, autoescape: bool, user_source: bool, finalize: Callable[[Any], Any] | None = None
) -> MailSandbox:
    """User sources get trim_blocks so `{% if %}` lines leave no blank line in text bodies;
    sources derived at compile time keep exact whitespace (their data was already trimmed)."""
    env = MailSandbox(
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
    env.globals.update(SAFE_GLOBALS)
    install_filters(env)
    return env


USER_ENVS = {
    "subject": make_env(autoescape=False, user_source=True),
    "html": make_env(autoescape=True, user_source=True),
    "text": make_env(autoescape=False, user_source=True),
}

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
        name = accessed_name(access)
        if name and name.startswith("__"):
            raise TemplateSyntaxProblem(f"access to {name!r} is not allowed", access.lineno, fld)


def accessed_name(node: nodes.Node) -> str | None:
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
        """`a ~ b ~ c` joined by the `mailer_concat` filter, which stops at the first operand
        past the limit instead of joining a chain of one big value whole."""
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


def parse_template(env: MailSandbox, source: str, fld: Field) -> nodes.Template:
    if len(source) > MAX_SOURCE:
        raise TemplateSyntaxProblem(f"template is larger than {MAX_SOURCE} characters", None, fld)
    try:
        return env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateSyntaxProblem(exc.message or str(exc), exc.lineno, fld) from None
    except RecursionError:
        raise TemplateSyntaxProblem(TOO_DEEP, None, fld) from None


def build_template(env: MailSandbox, ast: nodes.Template, fld: Field) -> Template:
    ast = _InsertGuards().visit(ast)
    ast.set_environment(env)
    try:
        return env.from_string(ast)
    except TemplateSyntaxError as exc:  # e.g. unknown filter, found by the code generator
        raise TemplateSyntaxProblem(exc.message or str(exc), exc.lineno, fld) from None


TOO_DEEP = "brackets, filters or tags are nested too deeply in each other"


def compile_user_source(source: str, fld: Field) -> tuple[Template, nodes.Template]:
    env = USER_ENVS[fld]
    ast = parse_template(env, source, fld)
    try:
        _check_tree(ast, fld)
        return build_template(env, ast, fld), ast
    except RecursionError:
        raise TemplateSyntaxProblem(TOO_DEEP, None, fld) from None


def render_capped(template: Template, context: Mapping[str, Any], limit: int = 0) -> str:
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

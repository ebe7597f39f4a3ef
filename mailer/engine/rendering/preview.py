"""Checking a template while it is edited: unknown variables and a preview that reports every
problem instead of raising."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.meta import find_undeclared_variables

from mailer.engine.rendering.compiler import RenderedEmail, compile_email
from mailer.engine.rendering.context import BASE_VARIABLES
from mailer.engine.rendering.errors import Field, RenderError, TemplateSyntaxProblem
from mailer.engine.rendering.sandbox import (
    SAFE_GLOBALS,
    TOO_DEEP,
    USER_ENVS,
    accessed_name,
    compile_user_source,
    parse_template,
)

_DICT_METHODS = frozenset(name for name in dir(dict) if not name.startswith("_"))


def _variables_used(source: str, fld: Field) -> set[str]:
    ast = parse_template(USER_ENVS[fld], source, fld)
    try:
        used = set(find_undeclared_variables(ast))
    except TemplateSyntaxError as exc:  # e.g. an unknown filter, found by the code generator
        raise TemplateSyntaxProblem(exc.message or str(exc), exc.lineno, fld) from None
    except RecursionError:
        raise TemplateSyntaxProblem(TOO_DEEP, None, fld) from None
    for access in ast.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(access, nodes.Getattr | nodes.Getitem)
        name = accessed_name(access)
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
    known_names = set(known) | BASE_VARIABLES | set(SAFE_GLOBALS) | {"loop"}
    used: set[str] = set()
    fields: list[tuple[str | None, Field]] = [(subject, "subject"), (html, "html"), (text, "text")]
    for source, fld in fields:
        if source:
            used |= _variables_used(source, fld)
    return sorted(name for name in used if name.removeprefix("attributes.") not in known_names)


_FALLBACK_FILTERS = frozenset({"default", "d"})
_PRESENCE_TESTS = frozenset({"defined", "undefined", "none"})


def _guarded_names(ast: nodes.Template) -> set[str]:
    """Names (and `attributes.x`) the template gives a default or tests for: `x | default(…)`,
    `x is defined`, `{% if x %}`, `a if x else b`. A recipient may lack them."""

    def names_in(node: nodes.Node) -> set[str]:
        found = {n.name for n in node.find_all(nodes.Name)}
        if isinstance(node, nodes.Name):
            found.add(node.name)
        for access in [node, *node.find_all((nodes.Getattr, nodes.Getitem))]:
            if (
                isinstance(access, nodes.Getattr | nodes.Getitem)
                and isinstance(access.node, nodes.Name)
                and access.node.name == "attributes"
            ):
                name = accessed_name(access)
                if name:
                    found.add(f"attributes.{name}")
        return found

    guarded: set[str] = set()
    for node in ast.find_all((nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr)):
        fallback = isinstance(node, nodes.Filter) and node.name in _FALLBACK_FILTERS
        presence = isinstance(node, nodes.Test) and node.name in _PRESENCE_TESTS
        if (fallback or presence) and node.node is not None:
            guarded |= names_in(node.node)
        elif isinstance(node, nodes.If | nodes.CondExpr):
            guarded |= names_in(node.test)
    return guarded


def required_variables(subject: str, html: str, text: str | None) -> set[str]:
    """Names the template uses with no default and no test, so a recipient lacking one gets a
    blank where it goes ("Hello ,"); `attributes.x` for attribute lookups. Names the template
    defines itself (set, for, with) are left out, Mailer's own variables are not."""
    needed: set[str] = set()
    fields: list[tuple[str | None, Field]] = [(subject, "subject"), (html, "html"), (text, "text")]
    for source, fld in fields:
        if source:
            used = _variables_used(source, fld)
            needed |= used - _guarded_names(parse_template(USER_ENVS[fld], source, fld))
    return needed


def syntax_problems(subject: str, html: str, text: str | None) -> list[TemplateSyntaxProblem]:
    """Every field's syntax error (not only the first field's), in field order."""
    problems = []
    fields: list[tuple[str | None, Field]] = [(subject, "subject"), (html, "html"), (text, "text")]
    for source, fld in fields:
        if source:
            try:
                compile_user_source(source, fld)
            except TemplateSyntaxProblem as exc:
                problems.append(exc)
    return problems


@dataclass
class Preview:
    """What a preview page shows: the email when it renders, and every problem found."""

    email: RenderedEmail | None
    problems: list[str]
    unknown_variables: list[str]
    syntax: list[TemplateSyntaxProblem] = field(default_factory=list)  # one per broken field

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
    syntax = syntax_problems(subject, html, text)
    if syntax:
        return Preview(None, [str(exc) for exc in syntax], [], syntax)
    problems: list[str] = []

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

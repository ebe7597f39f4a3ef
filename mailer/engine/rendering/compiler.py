"""Compiling a campaign's templates into a CompiledEmail, rendered per recipient on the send
path within its time and size budget.

``CompiledEmail.css_strategy`` / ``text_strategy`` / ``fallback_reasons`` say whether CSS
inlining and text generation were done once on the template or run per render, and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError

from mailer.engine.rendering import budget as render_budget
from mailer.engine.rendering.budget import (
    CURRENT_BUDGET,
    Budget,
    RenderLimits,
    RenderOverBudget,
    RenderTooLarge,
    RenderTooSlow,
)
from mailer.engine.rendering.context import recipient_context, sample_context
from mailer.engine.rendering.css import (
    STYLE_TAG_RE,
    inline_styles,
    inline_template_source,
    normalise_html,
)
from mailer.engine.rendering.errors import Field, RenderError, TemplateSyntaxProblem
from mailer.engine.rendering.placeholders import RESERVED_RE, Placeholders, Segment, split_segments
from mailer.engine.rendering.plaintext import (
    finalize_text_value,
    finish_text,
    html_to_text,
    text_template_source,
)
from mailer.engine.rendering.sandbox import (
    USER_ENVS,
    MailSandbox,
    build_template,
    compile_user_source,
    make_env,
    render_capped,
)

# The time and output budgets are settings (RenderLimits: MAILER_RENDER_TIMEOUT_MS and
# MAILER_RENDER_MAX_CHARS). A compiled email that ran out of time for TRIP_AFTER recipients in
# a row gets TRIPPED_TIMEOUT_MS until one renders again: a template that is always too slow
# then costs a send loop milliseconds per recipient, not the whole budget (real emails render
# in about 0.1-2 ms).
TRIP_AFTER = 3
TRIPPED_TIMEOUT_MS = 20


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


# Filters whose output is markup the template source does not show; with them the HTML is not
# known at compile time, so CSS inlining and text generation must run per render.
_MARKUP_FILTERS = frozenset({"safe", "urlize", "xmlattr"})
# Filters whose output is HTML-escaped text: right in HTML, wrong in a plain-text body.
_ESCAPING_FILTERS = frozenset({"e", "escape", "forceescape"})


_DERIVED_HTML_ENV = make_env(autoescape=True, user_source=False)
_DERIVED_TEXT_ENV = make_env(
    autoescape=False, user_source=False, finalize=lambda value: finalize_text_value(value)
)


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
            subject = _one_line(render_capped(self.subject_template, context, limit))
            fld = "html"
            html = render_capped(self.html_template, context, limit)
            source_html = html
            if self.css_strategy == "render":
                budget.check()
                html = inline_styles(html, self.style_chars)
                if len(html) > limit:
                    raise RenderTooLarge(limit)
            fld = "text"
            if self.text_template is None:
                budget.check()
                text = html_to_text(source_html)
            else:
                text = render_capped(self.text_template, context, limit)
                if self.text_strategy == "compile":
                    text = finish_text(text)
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
    the template itself (docs/architecture.md, rendering); the sample renders that check it share
    one render budget. `name` (the template's or the campaign's) is quoted in render errors;
    `limits` default to the app's settings.
    """
    limits = limits or RenderLimits.from_config()
    with Budget(limits.timeout_ms, limits.max_chars):
        compiled = _compile(subject, html, text, inline_css)
    compiled.name, compiled.limits = name, limits
    return compiled


def _compile(subject: str, html: str, text: str | None, inline_css: bool) -> CompiledEmail:
    subject_template, _ = compile_user_source(subject, "subject")
    html_template, html_ast = compile_user_source(html, "html")
    reasons: list[str] = []
    source: tuple[list[Segment], Placeholders] | None = None
    if RESERVED_RE.search(html):
        reasons.append("the HTML contains control or private-use characters")
    elif _uses_filters(html_ast, _MARKUP_FILTERS):
        reasons.append("the HTML outputs markup its source does not show (safe, urlize…)")
    else:
        segments = split_segments(USER_ENVS["html"], html)
        source = (segments, Placeholders(segments))

    css_strategy: CssStrategy = "none"
    css_template: Template | None = None
    if inline_css and STYLE_TAG_RE.search(html):
        css_strategy = "render"
        if source is not None:
            css_template, reason = _derive(
                inline_template_source(*source), _DERIVED_HTML_ENV, html_template, _same_html
            )
            if css_template is not None:
                css_strategy = "compile"
            else:
                reasons.append(f"css: {reason}")

    text_template: Template | None = None
    text_strategy: TextStrategy = "render"
    if text is not None and text.strip():
        text_template, _ = compile_user_source(text, "text")
        text_strategy = "custom"
    elif source is not None and _uses_filters(html_ast, _ESCAPING_FILTERS):
        reasons.append("text: the HTML escapes values explicitly (|e), wrong in plain text")
    elif source is not None:
        text_template, reason = _derive(
            text_template_source(*source), _DERIVED_TEXT_ENV, html_template, _same_text
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
    env: MailSandbox,
    original: Template,
    same: Callable[[Template, Template], bool],
) -> tuple[Template | None, str]:
    """Compile a template derived at compile time, if it was derived and passes the sample
    check; else (None, why)."""
    source, reason = derived
    if source is None:
        return None, reason
    try:
        template = build_template(env, env.parse(source), "html")
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
        lambda ours, html: normalise_html(ours) == normalise_html(inline_styles(html)),
    )


def _same_text(compiled: Template, original: Template) -> bool:
    return _same_output(
        compiled, original, lambda ours, html: finish_text(ours) == html_to_text(html)
    )


def _same_output(compiled: Template, original: Template, same: Callable[[str, str], bool]) -> bool:
    for context in (sample_context(), recipient_context(email="someone@example.com")):
        try:
            reference = render_capped(original, context)
        except Exception:  # noqa: S112 - this data does not suit the template: try the next
            continue
        try:
            return same(render_capped(compiled, context), reference)
        except Exception:  # any doubt means per-render processing
            return False
    return True  # nothing renders with sample data: the structural check stands alone


def _uses_filters(ast: nodes.Template, names: frozenset[str]) -> bool:
    return any(node.name in names for node in ast.find_all(nodes.Filter))

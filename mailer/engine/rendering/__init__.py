"""User-written email templates: compiled once per campaign, rendered per recipient.

The public API is re-exported here; the modules are:
``compiler`` (CompiledEmail, the per-recipient render), ``context`` (template variables),
``preview`` (checks while editing), ``errors``, ``budget`` (time and size budgets), and the
parts compiling uses: ``sandbox``, ``guards``, ``filters``, ``placeholders``, ``css``,
``plaintext``.
"""

from mailer.engine.rendering.budget import RenderLimits
from mailer.engine.rendering.compiler import CompiledEmail, RenderedEmail, compile_email
from mailer.engine.rendering.context import (
    BASE_VARIABLES,
    PostalAddress,
    recipient_context,
    sample_context,
)
from mailer.engine.rendering.errors import RenderError, TemplateSyntaxProblem
from mailer.engine.rendering.mjml import MjmlProblem, compile_mjml, normalize_newlines
from mailer.engine.rendering.plaintext import html_to_text
from mailer.engine.rendering.preview import (
    Preview,
    render_preview,
    required_variables,
    syntax_problems,
    unknown_variables,
)

__all__ = [
    "BASE_VARIABLES",
    "CompiledEmail",
    "Preview",
    "RenderError",
    "RenderLimits",
    "RenderedEmail",
    "MjmlProblem",
    "PostalAddress",
    "TemplateSyntaxProblem",
    "compile_mjml",
    "normalize_newlines",
    "compile_email",
    "html_to_text",
    "recipient_context",
    "render_preview",
    "required_variables",
    "sample_context",
    "syntax_problems",
    "unknown_variables",
]

"""What goes wrong with a template: at compile time (TemplateSyntaxProblem, with field and
line for the editor) and for one recipient at send time (RenderError)."""

from __future__ import annotations

import re
from typing import Literal

from mailer.lib.i18n import N_

Field = Literal["subject", "html", "text"]

FIELD_LABELS: dict[str, str] = {"subject": "Subject", "html": "HTML body", "text": "Text body"}

# What a marketer should check, for the template language's usual messages (first match wins).
# Each explanation is an English template for `%` with the pattern's named groups; pages show
# it translated, with the raw message in small print.
_EXPLAINED: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"expected token 'end of print statement', got '(?P<got>[^']*)'"),
        N_(
            "Something inside {{ … }} is not understood, near “%(got)s”. A variable is one "
            "word (first_name, not first name): check its spelling and that the tag ends "
            "with }}."
        ),
    ),
    (
        re.compile(r"unexpected end of template, expected 'end of print statement'"),
        N_("A {{ … }} tag is not closed: end it with }}."),
    ),
    (
        re.compile(r"Unexpected end of template.*needs to be closed is '(?P<tag>\w+)'", re.S),
        N_("The “%(tag)s” block is never closed: add {%% end%(tag)s %%} where it should end."),
    ),
    (
        re.compile(
            r"unknown tag '(?P<tag>end\w+|else|elif)'.*needs to be closed is "
            r"'(?P<open>\w+)'",
            re.S,
        ),
        N_(
            "{%% %(tag)s %%} does not match the open “%(open)s” block: close that one first "
            "with {%% end%(open)s %%}."
        ),
    ),
    (
        re.compile(r"unknown tag '(?P<tag>end\w+|else|elif)'"),
        N_(
            "{%% %(tag)s %%} has no block to close: remove it, or add the {%% if … %%} or "
            "{%% for … %%} it belongs to above it."
        ),
    ),
    (
        re.compile(r"unknown tag '(?P<tag>[^']*)'"),
        N_(
            "“%(tag)s” is not a tag templates know: use {%% if %%}, {%% for %%}, {%% set %%} "
            "or {%% with %%}, and {{ … }} to show a value."
        ),
    ),
    (
        re.compile(r"tag is not supported in email templates|recursive loops are not supported"),
        N_("Email templates only use {%% if %%}, {%% for %%}, {%% set %%} and {%% with %%}."),
    ),
    (
        re.compile(r"No filter named '(?P<name>[^']*)'"),
        N_("There is no filter called “%(name)s” (the word after |): check its spelling."),
    ),
    (
        re.compile(r"No test named '(?P<name>[^']*)'"),
        N_("There is no test called “%(name)s” (the word after is): check its spelling."),
    ),
    (
        re.compile(r"^unexpected '\}'"),
        N_(
            "A brace is missing or out of place: values are written {{ name }} and tags "
            "{%% if … %%}, two characters on each side."
        ),
    ),
    (
        re.compile(r"^unexpected char '(?P<char>.)'"),
        N_(
            "The character “%(char)s” is not understood inside a tag: text with quotes must be "
            "closed by the same quote, and tags hold only names, values and operators."
        ),
    ),
    (
        re.compile(r"^Expected an expression"),
        N_(
            "A tag is empty or incomplete: write what it should show or test, "
            "e.g. {{ first_name }}."
        ),
    ),
    (
        re.compile(r"^access to '(?P<name>[^']*)' is not allowed"),
        N_("“%(name)s” cannot be used in an email template, for safety."),
    ),
    (
        re.compile(r"too long to compile quickly|template is larger than|nested too deeply"),
        N_("The template is too long or too complex: split it or simplify it."),
    ),
]
_GENERIC = N_(
    "The template language cannot read this: check the {{ … }} and {%% … %%} tags on this line."
)


def explain(message: str) -> tuple[str, dict[str, str]]:
    """Plain words for a template language message: an English template (for `%`) and its
    values. Unknown messages get a general hint; the raw message stays the detail."""
    for pattern, explanation in _EXPLAINED:
        if found := pattern.search(message):
            return explanation, {k: v for k, v in found.groupdict().items() if v is not None}
    return _GENERIC, {}


class TemplateSyntaxProblem(Exception):
    """A template cannot be compiled; carries what the editor needs to point at it."""

    def __init__(self, message: str, line: int | None, field: Field) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field
        self.explanation, self.values = explain(message)

    def __str__(self) -> str:
        where = FIELD_LABELS[self.field]
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
        where = FIELD_LABELS[self.field]
        if self.template:
            where += f" of “{self.template}”"
        return f"{where}: {self.message}"

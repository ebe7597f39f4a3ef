"""What goes wrong with a template: at compile time (TemplateSyntaxProblem, with field and
line for the editor) and for one recipient at send time (RenderError)."""

from __future__ import annotations

from typing import Literal

Field = Literal["subject", "html", "text"]

FIELD_LABELS: dict[str, str] = {"subject": "Subject", "html": "HTML body", "text": "Text body"}


class TemplateSyntaxProblem(Exception):
    """A template cannot be compiled; carries what the editor needs to point at it."""

    def __init__(self, message: str, line: int | None, field: Field) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field

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

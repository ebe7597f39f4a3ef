from enum import StrEnum


class TemplateEditor(StrEnum):
    HTML = "html"
    MJML = "mjml"
    VISUAL = "visual"

    def __str__(self) -> str:
        return str(self.value)

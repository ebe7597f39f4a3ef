from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TemplateInput")


@_attrs_define
class TemplateInput:
    """
    Attributes:
        html (str): Sandboxed Jinja.
        name (str): Unique: another template's name answers 409.
        subject (str): Sandboxed Jinja.
        text (None | str | Unset): Plain-text body; blank or absent to generate it from the HTML.
    """

    html: str
    name: str
    subject: str
    text: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        html = self.html

        name = self.name

        subject = self.subject

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "html": html,
                "name": name,
                "subject": subject,
            }
        )
        if text is not UNSET:
            field_dict["text"] = text

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        html = d.pop("html")

        name = d.pop("name")

        subject = d.pop("subject")

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        template_input = cls(
            html=html,
            name=name,
            subject=subject,
            text=text,
        )

        return template_input

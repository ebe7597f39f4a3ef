from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TemplateInput")


@_attrs_define
class TemplateInput:
    """The body in `html`, or in `mjml` (compiled to HTML when saved, as the visual editor's emails are): exactly one of
    the two.

        Attributes:
            name (str): Unique: another template's name answers 409.
            subject (str): Sandboxed Jinja.
            html (str | Unset): Sandboxed Jinja.
            mjml (str | Unset): MJML (https://mjml.io) with sandboxed Jinja inside; compiled to responsive HTML when saved.
                A mistake answers 422 at `$.mjml` with its line.
            text (None | str | Unset): Plain-text body; blank or absent to generate it from the HTML.
    """

    name: str
    subject: str
    html: str | Unset = UNSET
    mjml: str | Unset = UNSET
    text: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        subject = self.subject

        html = self.html

        mjml = self.mjml

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "subject": subject,
            }
        )
        if html is not UNSET:
            field_dict["html"] = html
        if mjml is not UNSET:
            field_dict["mjml"] = mjml
        if text is not UNSET:
            field_dict["text"] = text

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        subject = d.pop("subject")

        html = d.pop("html", UNSET)

        mjml = d.pop("mjml", UNSET)

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        template_input = cls(
            name=name,
            subject=subject,
            html=html,
            mjml=mjml,
            text=text,
        )

        return template_input

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.template_editor import TemplateEditor
from ..types import UNSET, Unset

T = TypeVar("T", bound="Template")


@_attrs_define
class Template:
    """
    Attributes:
        created_at (datetime.datetime):
        editor (TemplateEditor): How the email is written in Mailer (the visual editor, MJML or HTML code).
        html (str): What is sent (compiled from the MJML when there is one).
        id (int):
        mjml (None | str): The MJML the HTML is compiled from (null when written in HTML).
        name (str):
        subject (str):
        text (None | str):
        updated_at (datetime.datetime):
        used_by_campaigns (int | Unset): Campaigns pointing at this template (when describing one).
        warnings (list[str] | Unset): Unknown variables, or a failed render with sample data (after a write).
    """

    created_at: datetime.datetime
    editor: TemplateEditor
    html: str
    id: int
    mjml: None | str
    name: str
    subject: str
    text: None | str
    updated_at: datetime.datetime
    used_by_campaigns: int | Unset = UNSET
    warnings: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        editor = self.editor.value

        html = self.html

        id = self.id

        mjml: None | str
        mjml = self.mjml

        name = self.name

        subject = self.subject

        text: None | str
        text = self.text

        updated_at = self.updated_at.isoformat()

        used_by_campaigns = self.used_by_campaigns

        warnings: list[str] | Unset = UNSET
        if not isinstance(self.warnings, Unset):
            warnings = self.warnings

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "editor": editor,
                "html": html,
                "id": id,
                "mjml": mjml,
                "name": name,
                "subject": subject,
                "text": text,
                "updated_at": updated_at,
            }
        )
        if used_by_campaigns is not UNSET:
            field_dict["used_by_campaigns"] = used_by_campaigns
        if warnings is not UNSET:
            field_dict["warnings"] = warnings

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        editor = TemplateEditor(d.pop("editor"))

        html = d.pop("html")

        id = d.pop("id")

        def _parse_mjml(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        mjml = _parse_mjml(d.pop("mjml"))

        name = d.pop("name")

        subject = d.pop("subject")

        def _parse_text(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        text = _parse_text(d.pop("text"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        used_by_campaigns = d.pop("used_by_campaigns", UNSET)

        warnings = cast(list[str], d.pop("warnings", UNSET))

        template = cls(
            created_at=created_at,
            editor=editor,
            html=html,
            id=id,
            mjml=mjml,
            name=name,
            subject=subject,
            text=text,
            updated_at=updated_at,
            used_by_campaigns=used_by_campaigns,
            warnings=warnings,
        )

        template.additional_properties = d
        return template

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

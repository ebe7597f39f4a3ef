from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MessageAttachmentsItem")


@_attrs_define
class MessageAttachmentsItem:
    """
    Attributes:
        content_id (None | str):
        content_type (str):
        filename (str):
        size (int):
    """

    content_id: None | str
    content_type: str
    filename: str
    size: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        content_id: None | str
        content_id = self.content_id

        content_type = self.content_type

        filename = self.filename

        size = self.size

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "content_id": content_id,
                "content_type": content_type,
                "filename": filename,
                "size": size,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_content_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        content_id = _parse_content_id(d.pop("content_id"))

        content_type = d.pop("content_type")

        filename = d.pop("filename")

        size = d.pop("size")

        message_attachments_item = cls(
            content_id=content_id,
            content_type=content_type,
            filename=filename,
            size=size,
        )

        message_attachments_item.additional_properties = d
        return message_attachments_item

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

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ContactImportLinks")


@_attrs_define
class ContactImportLinks:
    """
    Attributes:
        rejected_rows (None | str): The rejected-rows CSV, once the import is over.
        self_ (str):
    """

    rejected_rows: None | str
    self_: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rejected_rows: None | str
        rejected_rows = self.rejected_rows

        self_ = self.self_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "rejected_rows": rejected_rows,
                "self": self_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_rejected_rows(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        rejected_rows = _parse_rejected_rows(d.pop("rejected_rows"))

        self_ = d.pop("self")

        contact_import_links = cls(
            rejected_rows=rejected_rows,
            self_=self_,
        )

        contact_import_links.additional_properties = d
        return contact_import_links

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

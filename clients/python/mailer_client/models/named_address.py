from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="NamedAddress")


@_attrs_define
class NamedAddress:
    """
    Attributes:
        email (str): An email address, stored trimmed and lowercased. Quoted local parts, IP-address domains and
            special-use domains (.arpa, .invalid, .local, .localhost, .onion, .test) are refused.
        name (str | Unset): No line breaks or control characters.
    """

    email: str
    name: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        email = self.email

        name = self.name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "email": email,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        name = d.pop("name", UNSET)

        named_address = cls(
            email=email,
            name=name,
        )

        return named_address

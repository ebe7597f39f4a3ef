from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="PersonRef")


@_attrs_define
class PersonRef:
    """
    Attributes:
        email (str): An email address, stored trimmed and lowercased. Quoted local parts, IP-address domains and
            special-use domains (.arpa, .invalid, .local, .localhost, .onion, .test) are refused.
    """

    email: str

    def to_dict(self) -> dict[str, Any]:
        email = self.email

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "email": email,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        person_ref = cls(
            email=email,
        )

        return person_ref

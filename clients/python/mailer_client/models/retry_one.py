from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RetryOne")


@_attrs_define
class RetryOne:
    """
    Attributes:
        confirm_in_doubt (bool | Unset): Send again anyway, though it may already have been delivered.
    """

    confirm_in_doubt: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        confirm_in_doubt = self.confirm_in_doubt

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if confirm_in_doubt is not UNSET:
            field_dict["confirm_in_doubt"] = confirm_in_doubt

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        confirm_in_doubt = d.pop("confirm_in_doubt", UNSET)

        retry_one = cls(
            confirm_in_doubt=confirm_in_doubt,
        )

        return retry_one

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.suppression_input_reason import SuppressionInputReason
from ..types import UNSET, Unset

T = TypeVar("T", bound="SuppressionInput")


@_attrs_define
class SuppressionInput:
    """
    Attributes:
        email (str): An email address, stored trimmed and lowercased. Quoted local parts, IP-address domains and
            special-use domains (.arpa, .invalid, .local, .localhost, .onion, .test) are refused.
        note (str | Unset): Why; shown in the UI.
        reason (SuppressionInputReason | Unset): Only manual entries can be added through the API.
    """

    email: str
    note: str | Unset = UNSET
    reason: SuppressionInputReason | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        email = self.email

        note = self.note

        reason: str | Unset = UNSET
        if not isinstance(self.reason, Unset):
            reason = self.reason.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "email": email,
            }
        )
        if note is not UNSET:
            field_dict["note"] = note
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        note = d.pop("note", UNSET)

        _reason = d.pop("reason", UNSET)
        reason: SuppressionInputReason | Unset
        if isinstance(_reason, Unset):
            reason = UNSET
        else:
            reason = SuppressionInputReason(_reason)

        suppression_input = cls(
            email=email,
            note=note,
            reason=reason,
        )

        return suppression_input

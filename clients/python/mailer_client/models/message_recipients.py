from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.address_out import AddressOut


T = TypeVar("T", bound="MessageRecipients")


@_attrs_define
class MessageRecipients:
    """
    Attributes:
        bcc (list[AddressOut]):
        cc (list[AddressOut]):
        to (list[AddressOut]):
    """

    bcc: list[AddressOut]
    cc: list[AddressOut]
    to: list[AddressOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bcc = []
        for bcc_item_data in self.bcc:
            bcc_item = bcc_item_data.to_dict()
            bcc.append(bcc_item)

        cc = []
        for cc_item_data in self.cc:
            cc_item = cc_item_data.to_dict()
            cc.append(cc_item)

        to = []
        for to_item_data in self.to:
            to_item = to_item_data.to_dict()
            to.append(to_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bcc": bcc,
                "cc": cc,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address_out import AddressOut  # noqa: PLC0415

        d = dict(src_dict)
        bcc = []
        _bcc = d.pop("bcc")
        for bcc_item_data in _bcc:
            bcc_item = AddressOut.from_dict(bcc_item_data)

            bcc.append(bcc_item)

        cc = []
        _cc = d.pop("cc")
        for cc_item_data in _cc:
            cc_item = AddressOut.from_dict(cc_item_data)

            cc.append(cc_item)

        to = []
        _to = d.pop("to")
        for to_item_data in _to:
            to_item = AddressOut.from_dict(to_item_data)

            to.append(to_item)

        message_recipients = cls(
            bcc=bcc,
            cc=cc,
            to=to,
        )

        message_recipients.additional_properties = d
        return message_recipients

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

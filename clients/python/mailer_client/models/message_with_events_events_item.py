from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.message_with_events_events_item_data import MessageWithEventsEventsItemData


T = TypeVar("T", bound="MessageWithEventsEventsItem")


@_attrs_define
class MessageWithEventsEventsItem:
    """
    Attributes:
        data (MessageWithEventsEventsItemData):
        machine (bool):
        occurred_at (datetime.datetime):
        type_ (str):
    """

    data: MessageWithEventsEventsItemData
    machine: bool
    occurred_at: datetime.datetime
    type_: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        machine = self.machine

        occurred_at = self.occurred_at.isoformat()

        type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "machine": machine,
                "occurred_at": occurred_at,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.message_with_events_events_item_data import MessageWithEventsEventsItemData  # noqa: PLC0415

        d = dict(src_dict)
        data = MessageWithEventsEventsItemData.from_dict(d.pop("data"))

        machine = d.pop("machine")

        occurred_at = datetime.datetime.fromisoformat(d.pop("occurred_at"))

        type_ = d.pop("type")

        message_with_events_events_item = cls(
            data=data,
            machine=machine,
            occurred_at=occurred_at,
            type_=type_,
        )

        message_with_events_events_item.additional_properties = d
        return message_with_events_events_item

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

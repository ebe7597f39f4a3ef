from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SubscriberCounts")


@_attrs_define
class SubscriberCounts:
    """
    Attributes:
        bounced (int):
        complained (int):
        subscribed (int):
        total (int):
        unconfirmed (int): Signed up and not confirmed by email yet.
        unsubscribed (int):
    """

    bounced: int
    complained: int
    subscribed: int
    total: int
    unconfirmed: int
    unsubscribed: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bounced = self.bounced

        complained = self.complained

        subscribed = self.subscribed

        total = self.total

        unconfirmed = self.unconfirmed

        unsubscribed = self.unsubscribed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bounced": bounced,
                "complained": complained,
                "subscribed": subscribed,
                "total": total,
                "unconfirmed": unconfirmed,
                "unsubscribed": unsubscribed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bounced = d.pop("bounced")

        complained = d.pop("complained")

        subscribed = d.pop("subscribed")

        total = d.pop("total")

        unconfirmed = d.pop("unconfirmed")

        unsubscribed = d.pop("unsubscribed")

        subscriber_counts = cls(
            bounced=bounced,
            complained=complained,
            subscribed=subscribed,
            total=total,
            unconfirmed=unconfirmed,
            unsubscribed=unsubscribed,
        )

        subscriber_counts.additional_properties = d
        return subscriber_counts

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

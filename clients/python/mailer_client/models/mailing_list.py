from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.subscriber_counts import SubscriberCounts


T = TypeVar("T", bound="MailingList")


@_attrs_define
class MailingList:
    """
    Attributes:
        created_at (datetime.datetime):
        description (str):
        for_campaign (bool): Made from files uploaded while creating a campaign.
        id (int):
        name (str):
        subscribers (SubscriberCounts):
    """

    created_at: datetime.datetime
    description: str
    for_campaign: bool
    id: int
    name: str
    subscribers: SubscriberCounts
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        description = self.description

        for_campaign = self.for_campaign

        id = self.id

        name = self.name

        subscribers = self.subscribers.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "description": description,
                "for_campaign": for_campaign,
                "id": id,
                "name": name,
                "subscribers": subscribers,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.subscriber_counts import SubscriberCounts  # noqa: PLC0415

        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        description = d.pop("description")

        for_campaign = d.pop("for_campaign")

        id = d.pop("id")

        name = d.pop("name")

        subscribers = SubscriberCounts.from_dict(d.pop("subscribers"))

        mailing_list = cls(
            created_at=created_at,
            description=description,
            for_campaign=for_campaign,
            id=id,
            name=name,
            subscribers=subscribers,
        )

        mailing_list.additional_properties = d
        return mailing_list

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

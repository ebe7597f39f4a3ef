from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type import EventType

if TYPE_CHECKING:
    from ..models.tracked_event_data import TrackedEventData


T = TypeVar("T", bound="TrackedEvent")


@_attrs_define
class TrackedEvent:
    """
    Attributes:
        campaign_id (int | None):
        data (TrackedEventData): Provider details
        email (None | str):
        id (int):
        machine (bool): Made by an image proxy, a scanner or a pre-fetch, not a person.
        message_id (int | None): The transactional message.
        occurred_at (datetime.datetime):
        send_id (int | None): The campaign send (one recipient).
        type_ (EventType):
        url (None | str): The link clicked.
    """

    campaign_id: int | None
    data: TrackedEventData
    email: None | str
    id: int
    machine: bool
    message_id: int | None
    occurred_at: datetime.datetime
    send_id: int | None
    type_: EventType
    url: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        campaign_id: int | None
        campaign_id = self.campaign_id

        data = self.data.to_dict()

        email: None | str
        email = self.email

        id = self.id

        machine = self.machine

        message_id: int | None
        message_id = self.message_id

        occurred_at = self.occurred_at.isoformat()

        send_id: int | None
        send_id = self.send_id

        type_ = self.type_.value

        url: None | str
        url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "campaign_id": campaign_id,
                "data": data,
                "email": email,
                "id": id,
                "machine": machine,
                "message_id": message_id,
                "occurred_at": occurred_at,
                "send_id": send_id,
                "type": type_,
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tracked_event_data import TrackedEventData  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_campaign_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        campaign_id = _parse_campaign_id(d.pop("campaign_id"))

        data = TrackedEventData.from_dict(d.pop("data"))

        def _parse_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        email = _parse_email(d.pop("email"))

        id = d.pop("id")

        machine = d.pop("machine")

        def _parse_message_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        message_id = _parse_message_id(d.pop("message_id"))

        occurred_at = datetime.datetime.fromisoformat(d.pop("occurred_at"))

        def _parse_send_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        send_id = _parse_send_id(d.pop("send_id"))

        type_ = EventType(d.pop("type"))

        def _parse_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        url = _parse_url(d.pop("url"))

        tracked_event = cls(
            campaign_id=campaign_id,
            data=data,
            email=email,
            id=id,
            machine=machine,
            message_id=message_id,
            occurred_at=occurred_at,
            send_id=send_id,
            type_=type_,
            url=url,
        )

        tracked_event.additional_properties = d
        return tracked_event

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

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_event_webhook_event_kind import WebhookEventWebhookEventKind

if TYPE_CHECKING:
    from ..models.webhook_event_data import WebhookEventData
    from ..models.webhook_event_metadata import WebhookEventMetadata


T = TypeVar("T", bound="WebhookEvent")


@_attrs_define
class WebhookEvent:
    """The body posted to an endpoint (compact JSON, keys sorted).

    Attributes:
        campaign_external_id (None | str): The id the client team gave the campaign in its document, if any.
        campaign_id (int | None): The campaign, for campaign mail; null for transactional messages.
        campaign_name (None | str):
        data (WebhookEventData): What the type adds (see each webhook), e.g. `url` for clicks.
        email (None | str): The recipient.
        id (str):
        machine (bool): An open or click by a proxy or scanner rather than a person.
        message_id (int | None): The transactional message (as in `GET /api/v1/messages/{id}`).
        metadata (WebhookEventMetadata): The transactional message's metadata, as sent; empty for campaign mail.
        occurred_at (datetime.datetime):
        send_id (int | None): The campaign recipient's send.
        tags (list[str]): The transactional message's tags; empty for campaign mail.
        type_ (WebhookEventWebhookEventKind):
    """

    campaign_external_id: None | str
    campaign_id: int | None
    campaign_name: None | str
    data: WebhookEventData
    email: None | str
    id: str
    machine: bool
    message_id: int | None
    metadata: WebhookEventMetadata
    occurred_at: datetime.datetime
    send_id: int | None
    tags: list[str]
    type_: WebhookEventWebhookEventKind
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        campaign_external_id: None | str
        campaign_external_id = self.campaign_external_id

        campaign_id: int | None
        campaign_id = self.campaign_id

        campaign_name: None | str
        campaign_name = self.campaign_name

        data = self.data.to_dict()

        email: None | str
        email = self.email

        id = self.id

        machine = self.machine

        message_id: int | None
        message_id = self.message_id

        metadata = self.metadata.to_dict()

        occurred_at = self.occurred_at.isoformat()

        send_id: int | None
        send_id = self.send_id

        tags = self.tags

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "campaign_external_id": campaign_external_id,
                "campaign_id": campaign_id,
                "campaign_name": campaign_name,
                "data": data,
                "email": email,
                "id": id,
                "machine": machine,
                "message_id": message_id,
                "metadata": metadata,
                "occurred_at": occurred_at,
                "send_id": send_id,
                "tags": tags,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.webhook_event_data import WebhookEventData  # noqa: PLC0415
        from ..models.webhook_event_metadata import WebhookEventMetadata  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_campaign_external_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        campaign_external_id = _parse_campaign_external_id(d.pop("campaign_external_id"))

        def _parse_campaign_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        campaign_id = _parse_campaign_id(d.pop("campaign_id"))

        def _parse_campaign_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        campaign_name = _parse_campaign_name(d.pop("campaign_name"))

        data = WebhookEventData.from_dict(d.pop("data"))

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

        metadata = WebhookEventMetadata.from_dict(d.pop("metadata"))

        occurred_at = datetime.datetime.fromisoformat(d.pop("occurred_at"))

        def _parse_send_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        send_id = _parse_send_id(d.pop("send_id"))

        tags = cast(list[str], d.pop("tags"))

        type_ = WebhookEventWebhookEventKind(d.pop("type"))

        webhook_event = cls(
            campaign_external_id=campaign_external_id,
            campaign_id=campaign_id,
            campaign_name=campaign_name,
            data=data,
            email=email,
            id=id,
            machine=machine,
            message_id=message_id,
            metadata=metadata,
            occurred_at=occurred_at,
            send_id=send_id,
            tags=tags,
            type_=type_,
        )

        webhook_event.additional_properties = d
        return webhook_event

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

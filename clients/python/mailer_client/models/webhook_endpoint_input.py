from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.webhook_event_type import WebhookEventType
from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookEndpointInput")


@_attrs_define
class WebhookEndpointInput:
    """
    Attributes:
        event_types (list[WebhookEventType]):
        url (str): An http:// or https:// URL with a host name or an IPv4 address, without spaces.
            An address outside the public internet (loopback, private ranges, link-local,
            cloud metadata), given or resolved from the name, is refused (422); private
            and loopback ones are allowed when the server sets MAILER_WEBHOOK_ALLOW_PRIVATE.
        description (str | Unset):
    """

    event_types: list[WebhookEventType]
    url: str
    description: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        event_types = []
        for event_types_item_data in self.event_types:
            event_types_item = event_types_item_data.value
            event_types.append(event_types_item)

        url = self.url

        description = self.description

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "event_types": event_types,
                "url": url,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_types = []
        _event_types = d.pop("event_types")
        for event_types_item_data in _event_types:
            event_types_item = WebhookEventType(event_types_item_data)

            event_types.append(event_types_item)

        url = d.pop("url")

        description = d.pop("description", UNSET)

        webhook_endpoint_input = cls(
            event_types=event_types,
            url=url,
            description=description,
        )

        return webhook_endpoint_input

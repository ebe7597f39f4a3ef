from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_event_data_bounce import WebhookEventDataBounce
from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookEventData")


@_attrs_define
class WebhookEventData:
    """What the type adds (see each webhook), e.g. `url` for clicks.

    Attributes:
        bounce (WebhookEventDataBounce | Unset):
        error (str | Unset):
        link_id (int | Unset):
        message (str | Unset):
        one_click (bool | Unset):
        provider (str | Unset):
        provider_message_id (str | Unset):
        reason (str | Unset):
        scope (str | Unset):
        ua (str | Unset):
        url (str | Unset):
    """

    bounce: WebhookEventDataBounce | Unset = UNSET
    error: str | Unset = UNSET
    link_id: int | Unset = UNSET
    message: str | Unset = UNSET
    one_click: bool | Unset = UNSET
    provider: str | Unset = UNSET
    provider_message_id: str | Unset = UNSET
    reason: str | Unset = UNSET
    scope: str | Unset = UNSET
    ua: str | Unset = UNSET
    url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bounce: str | Unset = UNSET
        if not isinstance(self.bounce, Unset):
            bounce = self.bounce.value

        error = self.error

        link_id = self.link_id

        message = self.message

        one_click = self.one_click

        provider = self.provider

        provider_message_id = self.provider_message_id

        reason = self.reason

        scope = self.scope

        ua = self.ua

        url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if bounce is not UNSET:
            field_dict["bounce"] = bounce
        if error is not UNSET:
            field_dict["error"] = error
        if link_id is not UNSET:
            field_dict["link_id"] = link_id
        if message is not UNSET:
            field_dict["message"] = message
        if one_click is not UNSET:
            field_dict["one_click"] = one_click
        if provider is not UNSET:
            field_dict["provider"] = provider
        if provider_message_id is not UNSET:
            field_dict["provider_message_id"] = provider_message_id
        if reason is not UNSET:
            field_dict["reason"] = reason
        if scope is not UNSET:
            field_dict["scope"] = scope
        if ua is not UNSET:
            field_dict["ua"] = ua
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _bounce = d.pop("bounce", UNSET)
        bounce: WebhookEventDataBounce | Unset
        if isinstance(_bounce, Unset):
            bounce = UNSET
        else:
            bounce = WebhookEventDataBounce(_bounce)

        error = d.pop("error", UNSET)

        link_id = d.pop("link_id", UNSET)

        message = d.pop("message", UNSET)

        one_click = d.pop("one_click", UNSET)

        provider = d.pop("provider", UNSET)

        provider_message_id = d.pop("provider_message_id", UNSET)

        reason = d.pop("reason", UNSET)

        scope = d.pop("scope", UNSET)

        ua = d.pop("ua", UNSET)

        url = d.pop("url", UNSET)

        webhook_event_data = cls(
            bounce=bounce,
            error=error,
            link_id=link_id,
            message=message,
            one_click=one_click,
            provider=provider,
            provider_message_id=provider_message_id,
            reason=reason,
            scope=scope,
            ua=ua,
            url=url,
        )

        webhook_event_data.additional_properties = d
        return webhook_event_data

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

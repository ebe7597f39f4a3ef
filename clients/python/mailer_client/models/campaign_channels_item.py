from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.campaign_channels_item_sender import CampaignChannelsItemSender
    from ..models.campaign_id_name_type_0 import CampaignIdNameType0


T = TypeVar("T", bound="CampaignChannelsItem")


@_attrs_define
class CampaignChannelsItem:
    """
    Attributes:
        channel (CampaignIdNameType0 | None):
        failed (int):
        frequency_minutes (float | None):
        id (int):
        loops (int | None):
        paused_reason (None | str):
        per_day (int | None):
        sender (CampaignChannelsItemSender):
        sent (int):
        start_at (datetime.datetime | None):
        waiting_reason (None | str):
    """

    channel: CampaignIdNameType0 | None
    failed: int
    frequency_minutes: float | None
    id: int
    loops: int | None
    paused_reason: None | str
    per_day: int | None
    sender: CampaignChannelsItemSender
    sent: int
    start_at: datetime.datetime | None
    waiting_reason: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.campaign_id_name_type_0 import CampaignIdNameType0  # noqa: PLC0415

        channel: dict[str, Any] | None
        if isinstance(self.channel, CampaignIdNameType0):
            channel = self.channel.to_dict()
        else:
            channel = self.channel

        failed = self.failed

        frequency_minutes: float | None
        frequency_minutes = self.frequency_minutes

        id = self.id

        loops: int | None
        loops = self.loops

        paused_reason: None | str
        paused_reason = self.paused_reason

        per_day: int | None
        per_day = self.per_day

        sender = self.sender.to_dict()

        sent = self.sent

        start_at: None | str
        if isinstance(self.start_at, datetime.datetime):
            start_at = self.start_at.isoformat()
        else:
            start_at = self.start_at

        waiting_reason: None | str
        waiting_reason = self.waiting_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "channel": channel,
                "failed": failed,
                "frequency_minutes": frequency_minutes,
                "id": id,
                "loops": loops,
                "paused_reason": paused_reason,
                "per_day": per_day,
                "sender": sender,
                "sent": sent,
                "start_at": start_at,
                "waiting_reason": waiting_reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.campaign_channels_item_sender import CampaignChannelsItemSender  # noqa: PLC0415
        from ..models.campaign_id_name_type_0 import CampaignIdNameType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_channel(data: object) -> CampaignIdNameType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_campaign_id_name_type_0 = CampaignIdNameType0.from_dict(data)

                return componentsschemas_campaign_id_name_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CampaignIdNameType0 | None, data)

        channel = _parse_channel(d.pop("channel"))

        failed = d.pop("failed")

        def _parse_frequency_minutes(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        frequency_minutes = _parse_frequency_minutes(d.pop("frequency_minutes"))

        id = d.pop("id")

        def _parse_loops(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        loops = _parse_loops(d.pop("loops"))

        def _parse_paused_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        paused_reason = _parse_paused_reason(d.pop("paused_reason"))

        def _parse_per_day(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        per_day = _parse_per_day(d.pop("per_day"))

        sender = CampaignChannelsItemSender.from_dict(d.pop("sender"))

        sent = d.pop("sent")

        def _parse_start_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_at_type_0 = datetime.datetime.fromisoformat(data)

                return start_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        start_at = _parse_start_at(d.pop("start_at"))

        def _parse_waiting_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        waiting_reason = _parse_waiting_reason(d.pop("waiting_reason"))

        campaign_channels_item = cls(
            channel=channel,
            failed=failed,
            frequency_minutes=frequency_minutes,
            id=id,
            loops=loops,
            paused_reason=paused_reason,
            per_day=per_day,
            sender=sender,
            sent=sent,
            start_at=start_at,
            waiting_reason=waiting_reason,
        )

        campaign_channels_item.additional_properties = d
        return campaign_channels_item

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

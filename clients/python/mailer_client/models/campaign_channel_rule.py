from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CampaignChannelRule")


@_attrs_define
class CampaignChannelRule:
    """
    Attributes:
        channel (int | str): A channel's id or exact name; it must be active.
        sender (int | str): A sender's id, name, or from address (when only one sender uses it).
        frequency_minutes (float | Unset): Minimum minutes between two emails on this row, at most 10080 (a week;
            default as
            fast as the channel allows).
        loops (int | Unset): How many worker processes may send this row at once (default the MAILER_ROW_LOOPS
            setting, 1): more send one campaign faster, up to the channel's rate limit.
        per_day (int | Unset): At most this many emails a day on this row (default the channel's quota).
        start_at (datetime.datetime | Unset): Not before this time (ISO 8601 with a time zone offset).
    """

    channel: int | str
    sender: int | str
    frequency_minutes: float | Unset = UNSET
    loops: int | Unset = UNSET
    per_day: int | Unset = UNSET
    start_at: datetime.datetime | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        channel: int | str
        channel = self.channel

        sender: int | str
        sender = self.sender

        frequency_minutes = self.frequency_minutes

        loops = self.loops

        per_day = self.per_day

        start_at: str | Unset = UNSET
        if not isinstance(self.start_at, Unset):
            start_at = self.start_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "channel": channel,
                "sender": sender,
            }
        )
        if frequency_minutes is not UNSET:
            field_dict["frequency_minutes"] = frequency_minutes
        if loops is not UNSET:
            field_dict["loops"] = loops
        if per_day is not UNSET:
            field_dict["per_day"] = per_day
        if start_at is not UNSET:
            field_dict["start_at"] = start_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_channel(data: object) -> int | str:
            return cast(int | str, data)

        channel = _parse_channel(d.pop("channel"))

        def _parse_sender(data: object) -> int | str:
            return cast(int | str, data)

        sender = _parse_sender(d.pop("sender"))

        frequency_minutes = d.pop("frequency_minutes", UNSET)

        loops = d.pop("loops", UNSET)

        per_day = d.pop("per_day", UNSET)

        _start_at = d.pop("start_at", UNSET)
        start_at: datetime.datetime | Unset
        if isinstance(_start_at, Unset):
            start_at = UNSET
        else:
            start_at = datetime.datetime.fromisoformat(_start_at)

        campaign_channel_rule = cls(
            channel=channel,
            sender=sender,
            frequency_minutes=frequency_minutes,
            loops=loops,
            per_day=per_day,
            start_at=start_at,
        )

        return campaign_channel_rule

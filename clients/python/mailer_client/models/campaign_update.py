from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="CampaignUpdate")


@_attrs_define
class CampaignUpdate:
    """
    Attributes:
        date (datetime.datetime): The new date, ISO 8601 with a time zone offset, in the future.
    """

    date: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        date = self.date.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "date": date,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        date = datetime.datetime.fromisoformat(d.pop("date"))

        campaign_update = cls(
            date=date,
        )

        return campaign_update

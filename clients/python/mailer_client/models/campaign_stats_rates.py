from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CampaignStatsRates")


@_attrs_define
class CampaignStatsRates:
    """
    Attributes:
        bounce (float | None):
        click (float | None):
        click_to_open (float | None):
        complaint (float | None):
        delivery (float | None):
        open_ (float | None):
        unsubscribe (float | None):
    """

    bounce: float | None
    click: float | None
    click_to_open: float | None
    complaint: float | None
    delivery: float | None
    open_: float | None
    unsubscribe: float | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bounce: float | None
        bounce = self.bounce

        click: float | None
        click = self.click

        click_to_open: float | None
        click_to_open = self.click_to_open

        complaint: float | None
        complaint = self.complaint

        delivery: float | None
        delivery = self.delivery

        open_: float | None
        open_ = self.open_

        unsubscribe: float | None
        unsubscribe = self.unsubscribe

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bounce": bounce,
                "click": click,
                "click_to_open": click_to_open,
                "complaint": complaint,
                "delivery": delivery,
                "open": open_,
                "unsubscribe": unsubscribe,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_bounce(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        bounce = _parse_bounce(d.pop("bounce"))

        def _parse_click(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        click = _parse_click(d.pop("click"))

        def _parse_click_to_open(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        click_to_open = _parse_click_to_open(d.pop("click_to_open"))

        def _parse_complaint(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        complaint = _parse_complaint(d.pop("complaint"))

        def _parse_delivery(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        delivery = _parse_delivery(d.pop("delivery"))

        def _parse_open_(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        open_ = _parse_open_(d.pop("open"))

        def _parse_unsubscribe(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        unsubscribe = _parse_unsubscribe(d.pop("unsubscribe"))

        campaign_stats_rates = cls(
            bounce=bounce,
            click=click,
            click_to_open=click_to_open,
            complaint=complaint,
            delivery=delivery,
            open_=open_,
            unsubscribe=unsubscribe,
        )

        campaign_stats_rates.additional_properties = d
        return campaign_stats_rates

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

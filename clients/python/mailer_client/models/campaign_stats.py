from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.campaign_status import CampaignStatus

if TYPE_CHECKING:
    from ..models.campaign_interactions import CampaignInteractions
    from ..models.campaign_stats_rates import CampaignStatsRates


T = TypeVar("T", bound="CampaignStats")


@_attrs_define
class CampaignStats:
    """
    Attributes:
        audience (int):
        bounced (int):
        campaign_id (int):
        cancelled (int):
        clicks (CampaignInteractions):
        complained (int):
        delivered (int):
        excluded (int):
        failed (int):
        in_doubt (int): Handed to the provider by a worker that died before its answer.
        opens (CampaignInteractions):
        rates (CampaignStatsRates):
        remaining (int):
        sent (int):
        status (CampaignStatus):
        suppressed (int): Suppressed after launch.
        unsubscribed (int):
    """

    audience: int
    bounced: int
    campaign_id: int
    cancelled: int
    clicks: CampaignInteractions
    complained: int
    delivered: int
    excluded: int
    failed: int
    in_doubt: int
    opens: CampaignInteractions
    rates: CampaignStatsRates
    remaining: int
    sent: int
    status: CampaignStatus
    suppressed: int
    unsubscribed: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        audience = self.audience

        bounced = self.bounced

        campaign_id = self.campaign_id

        cancelled = self.cancelled

        clicks = self.clicks.to_dict()

        complained = self.complained

        delivered = self.delivered

        excluded = self.excluded

        failed = self.failed

        in_doubt = self.in_doubt

        opens = self.opens.to_dict()

        rates = self.rates.to_dict()

        remaining = self.remaining

        sent = self.sent

        status = self.status.value

        suppressed = self.suppressed

        unsubscribed = self.unsubscribed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "audience": audience,
                "bounced": bounced,
                "campaign_id": campaign_id,
                "cancelled": cancelled,
                "clicks": clicks,
                "complained": complained,
                "delivered": delivered,
                "excluded": excluded,
                "failed": failed,
                "in_doubt": in_doubt,
                "opens": opens,
                "rates": rates,
                "remaining": remaining,
                "sent": sent,
                "status": status,
                "suppressed": suppressed,
                "unsubscribed": unsubscribed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.campaign_interactions import CampaignInteractions  # noqa: PLC0415
        from ..models.campaign_stats_rates import CampaignStatsRates  # noqa: PLC0415

        d = dict(src_dict)
        audience = d.pop("audience")

        bounced = d.pop("bounced")

        campaign_id = d.pop("campaign_id")

        cancelled = d.pop("cancelled")

        clicks = CampaignInteractions.from_dict(d.pop("clicks"))

        complained = d.pop("complained")

        delivered = d.pop("delivered")

        excluded = d.pop("excluded")

        failed = d.pop("failed")

        in_doubt = d.pop("in_doubt")

        opens = CampaignInteractions.from_dict(d.pop("opens"))

        rates = CampaignStatsRates.from_dict(d.pop("rates"))

        remaining = d.pop("remaining")

        sent = d.pop("sent")

        status = CampaignStatus(d.pop("status"))

        suppressed = d.pop("suppressed")

        unsubscribed = d.pop("unsubscribed")

        campaign_stats = cls(
            audience=audience,
            bounced=bounced,
            campaign_id=campaign_id,
            cancelled=cancelled,
            clicks=clicks,
            complained=complained,
            delivered=delivered,
            excluded=excluded,
            failed=failed,
            in_doubt=in_doubt,
            opens=opens,
            rates=rates,
            remaining=remaining,
            sent=sent,
            status=status,
            suppressed=suppressed,
            unsubscribed=unsubscribed,
        )

        campaign_stats.additional_properties = d
        return campaign_stats

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

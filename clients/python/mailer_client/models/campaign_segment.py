from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.campaign_recipient import CampaignRecipient


T = TypeVar("T", bound="CampaignSegment")


@_attrs_define
class CampaignSegment:
    """
    Attributes:
        list_ (str): The list's exact name; created when no list has it. Each list is named by one segment only.
        recipients (list[CampaignRecipient] | Unset): Added to the list, or updated when already on it.
        template (int | str | Unset): A template's id, its exact name, or the address of its HTML (`s3://bucket/key` or
            an
            `https://` URL), read as `templateS3Uri` is.
    """

    list_: str
    recipients: list[CampaignRecipient] | Unset = UNSET
    template: int | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        list_ = self.list_

        recipients: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.recipients, Unset):
            recipients = []
            for recipients_item_data in self.recipients:
                recipients_item = recipients_item_data.to_dict()
                recipients.append(recipients_item)

        template: int | str | Unset
        if isinstance(self.template, Unset):
            template = UNSET
        else:
            template = self.template

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "list": list_,
            }
        )
        if recipients is not UNSET:
            field_dict["recipients"] = recipients
        if template is not UNSET:
            field_dict["template"] = template

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.campaign_recipient import CampaignRecipient  # noqa: PLC0415

        d = dict(src_dict)
        list_ = d.pop("list")

        _recipients = d.pop("recipients", UNSET)
        recipients: list[CampaignRecipient] | Unset = UNSET
        if _recipients is not UNSET:
            recipients = []
            for recipients_item_data in _recipients:
                recipients_item = CampaignRecipient.from_dict(recipients_item_data)

                recipients.append(recipients_item)

        def _parse_template(data: object) -> int | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | str | Unset, data)

        template = _parse_template(d.pop("template", UNSET))

        campaign_segment = cls(
            list_=list_,
            recipients=recipients,
            template=template,
        )

        return campaign_segment

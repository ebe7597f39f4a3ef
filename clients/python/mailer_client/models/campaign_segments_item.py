from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.campaign_id_name_type_0 import CampaignIdNameType0


T = TypeVar("T", bound="CampaignSegmentsItem")


@_attrs_define
class CampaignSegmentsItem:
    """
    Attributes:
        list_ (None | str):
        list_id (int):
        template (CampaignIdNameType0 | None):
    """

    list_: None | str
    list_id: int
    template: CampaignIdNameType0 | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.campaign_id_name_type_0 import CampaignIdNameType0  # noqa: PLC0415

        list_: None | str
        list_ = self.list_

        list_id = self.list_id

        template: dict[str, Any] | None
        if isinstance(self.template, CampaignIdNameType0):
            template = self.template.to_dict()
        else:
            template = self.template

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "list": list_,
                "list_id": list_id,
                "template": template,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.campaign_id_name_type_0 import CampaignIdNameType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_list_(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        list_ = _parse_list_(d.pop("list"))

        list_id = d.pop("list_id")

        def _parse_template(data: object) -> CampaignIdNameType0 | None:
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

        template = _parse_template(d.pop("template"))

        campaign_segments_item = cls(
            list_=list_,
            list_id=list_id,
            template=template,
        )

        campaign_segments_item.additional_properties = d
        return campaign_segments_item

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

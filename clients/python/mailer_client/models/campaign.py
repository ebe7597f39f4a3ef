from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.campaign_status import CampaignStatus

if TYPE_CHECKING:
    from ..models.campaign_channels_item import CampaignChannelsItem
    from ..models.campaign_id_name_type_0 import CampaignIdNameType0
    from ..models.campaign_segments_item import CampaignSegmentsItem


T = TypeVar("T", bound="Campaign")


@_attrs_define
class Campaign:
    """
    Attributes:
        audience_size (int): Recipients materialised at launch.
        channels (list[CampaignChannelsItem]):
        created_at (datetime.datetime):
        date (datetime.datetime | None): Scheduled start (UTC).
        error (None | str):
        excluded_count (int): Addresses left out at launch (unsubscribed, bounced, suppressed).
        external_id (None | str): The id its document gave it.
        finished_at (datetime.datetime | None):
        id (int):
        name (str):
        segments (list[CampaignSegmentsItem]):
        started_at (datetime.datetime | None):
        status (CampaignStatus):
        subject (str):
        template (CampaignIdNameType0 | None):
    """

    audience_size: int
    channels: list[CampaignChannelsItem]
    created_at: datetime.datetime
    date: datetime.datetime | None
    error: None | str
    excluded_count: int
    external_id: None | str
    finished_at: datetime.datetime | None
    id: int
    name: str
    segments: list[CampaignSegmentsItem]
    started_at: datetime.datetime | None
    status: CampaignStatus
    subject: str
    template: CampaignIdNameType0 | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.campaign_id_name_type_0 import CampaignIdNameType0  # noqa: PLC0415

        audience_size = self.audience_size

        channels = []
        for channels_item_data in self.channels:
            channels_item = channels_item_data.to_dict()
            channels.append(channels_item)

        created_at = self.created_at.isoformat()

        date: None | str
        if isinstance(self.date, datetime.datetime):
            date = self.date.isoformat()
        else:
            date = self.date

        error: None | str
        error = self.error

        excluded_count = self.excluded_count

        external_id: None | str
        external_id = self.external_id

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        id = self.id

        name = self.name

        segments = []
        for segments_item_data in self.segments:
            segments_item = segments_item_data.to_dict()
            segments.append(segments_item)

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        status = self.status.value

        subject = self.subject

        template: dict[str, Any] | None
        if isinstance(self.template, CampaignIdNameType0):
            template = self.template.to_dict()
        else:
            template = self.template

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "audience_size": audience_size,
                "channels": channels,
                "created_at": created_at,
                "date": date,
                "error": error,
                "excluded_count": excluded_count,
                "external_id": external_id,
                "finished_at": finished_at,
                "id": id,
                "name": name,
                "segments": segments,
                "started_at": started_at,
                "status": status,
                "subject": subject,
                "template": template,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.campaign_channels_item import CampaignChannelsItem  # noqa: PLC0415
        from ..models.campaign_id_name_type_0 import CampaignIdNameType0  # noqa: PLC0415
        from ..models.campaign_segments_item import CampaignSegmentsItem  # noqa: PLC0415

        d = dict(src_dict)
        audience_size = d.pop("audience_size")

        channels = []
        _channels = d.pop("channels")
        for channels_item_data in _channels:
            channels_item = CampaignChannelsItem.from_dict(channels_item_data)

            channels.append(channels_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_date(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                date_type_0 = datetime.datetime.fromisoformat(data)

                return date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        date = _parse_date(d.pop("date"))

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        excluded_count = d.pop("excluded_count")

        def _parse_external_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        external_id = _parse_external_id(d.pop("external_id"))

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        id = d.pop("id")

        name = d.pop("name")

        segments = []
        _segments = d.pop("segments")
        for segments_item_data in _segments:
            segments_item = CampaignSegmentsItem.from_dict(segments_item_data)

            segments.append(segments_item)

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        status = CampaignStatus(d.pop("status"))

        subject = d.pop("subject")

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

        campaign = cls(
            audience_size=audience_size,
            channels=channels,
            created_at=created_at,
            date=date,
            error=error,
            excluded_count=excluded_count,
            external_id=external_id,
            finished_at=finished_at,
            id=id,
            name=name,
            segments=segments,
            started_at=started_at,
            status=status,
            subject=subject,
            template=template,
        )

        campaign.additional_properties = d
        return campaign

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

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.campaign_channel_rule import CampaignChannelRule
    from ..models.campaign_segment import CampaignSegment


T = TypeVar("T", bound="CampaignDocument")


@_attrs_define
class CampaignDocument:
    """
    Attributes:
        date (datetime.datetime): When to start, ISO 8601 with a time zone offset (or Z), in the future.
        id (str): Your id for the campaign, unique: letters, digits and `. _ : -`, not only digits.
            Use it in the URLs of this campaign. An id already used answers 409.
        segments (list[CampaignSegment]):
        template (int | str): A template's id, its exact name, or the address of its HTML (`s3://bucket/key` or an
            `https://` URL), read as `templateS3Uri` is.
        allow_missing_variables (bool | Unset): `true`: send recipients who lack a variable the template uses with no
            default, with a
            blank where it goes. Otherwise the document is refused, listing them.
        channels (list[CampaignChannelRule] | Unset): The channel rows that send it. May be left out only when exactly
            one active channel
            and one sender exist.
        name (str | Unset): Shown to your team only (default the id).
        subject (str | Unset): The subject (may use variables); default the template's subject.
    """

    date: datetime.datetime
    id: str
    segments: list[CampaignSegment]
    template: int | str
    allow_missing_variables: bool | Unset = UNSET
    channels: list[CampaignChannelRule] | Unset = UNSET
    name: str | Unset = UNSET
    subject: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        date = self.date.isoformat()

        id = self.id

        segments = []
        for segments_item_data in self.segments:
            segments_item = segments_item_data.to_dict()
            segments.append(segments_item)

        template: int | str
        template = self.template

        allow_missing_variables = self.allow_missing_variables

        channels: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.channels, Unset):
            channels = []
            for channels_item_data in self.channels:
                channels_item = channels_item_data.to_dict()
                channels.append(channels_item)

        name = self.name

        subject = self.subject

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "date": date,
                "id": id,
                "segments": segments,
                "template": template,
            }
        )
        if allow_missing_variables is not UNSET:
            field_dict["allow_missing_variables"] = allow_missing_variables
        if channels is not UNSET:
            field_dict["channels"] = channels
        if name is not UNSET:
            field_dict["name"] = name
        if subject is not UNSET:
            field_dict["subject"] = subject

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.campaign_channel_rule import CampaignChannelRule  # noqa: PLC0415
        from ..models.campaign_segment import CampaignSegment  # noqa: PLC0415

        d = dict(src_dict)
        date = datetime.datetime.fromisoformat(d.pop("date"))

        id = d.pop("id")

        segments = []
        _segments = d.pop("segments")
        for segments_item_data in _segments:
            segments_item = CampaignSegment.from_dict(segments_item_data)

            segments.append(segments_item)

        def _parse_template(data: object) -> int | str:
            return cast(int | str, data)

        template = _parse_template(d.pop("template"))

        allow_missing_variables = d.pop("allow_missing_variables", UNSET)

        _channels = d.pop("channels", UNSET)
        channels: list[CampaignChannelRule] | Unset = UNSET
        if _channels is not UNSET:
            channels = []
            for channels_item_data in _channels:
                channels_item = CampaignChannelRule.from_dict(channels_item_data)

                channels.append(channels_item)

        name = d.pop("name", UNSET)

        subject = d.pop("subject", UNSET)

        campaign_document = cls(
            date=date,
            id=id,
            segments=segments,
            template=template,
            allow_missing_variables=allow_missing_variables,
            channels=channels,
            name=name,
            subject=subject,
        )

        return campaign_document

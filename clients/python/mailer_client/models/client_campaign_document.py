from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.campaign_channel_rule import CampaignChannelRule
    from ..models.client_campaign_segment import ClientCampaignSegment


T = TypeVar("T", bound="ClientCampaignDocument")


@_attrs_define
class ClientCampaignDocument:
    """The campaign document in the client teams' field names. It reads as a CampaignDocument
    with `campaign_id` for `id`, `templateS3Uri` for `template`, and in segments
    `list_name` for `list`; a recipient's fields besides `to_address`, `first_name`,
    `last_name` and `name` are its personalisation (a CampaignRecipient's `fields`).

        Attributes:
            campaign_id (str): Your id for the campaign, unique: letters, digits and `. _ : -`, not only digits.
                Use it in the URLs of this campaign.
            date (datetime.datetime): When to start, ISO 8601 with a time zone offset (or Z), in the future.
            segments (list[ClientCampaignSegment]):
            template_s3_uri (str): Where the template's HTML is: `s3://bucket/key` (read with boto3 and Mailer's AWS
                credentials, region and endpoint: MAILER_S3_REGION, MAILER_S3_ENDPOINT_URL) or an
                `https://` URL on a public address. UTF-8 HTML of at most 1,000,000 bytes; its
                `<title>` is the default subject. It becomes a library template, reused while the
                object is unchanged (same ETag, or same content for a URL without one).
            allow_missing_variables (bool | Unset): `true`: send recipients who lack a variable the template uses with no
                default, with a
                blank where it goes. Otherwise the document is refused, listing them.
            channels (list[CampaignChannelRule] | Unset): The channel rows that send it. May be left out only when exactly
                one active channel
                and one sender exist.
            name (str | Unset): Shown to your team only (default the campaign_id).
            subject (str | Unset): The subject (may use variables); default the template's `<title>`.
    """

    campaign_id: str
    date: datetime.datetime
    segments: list[ClientCampaignSegment]
    template_s3_uri: str
    allow_missing_variables: bool | Unset = UNSET
    channels: list[CampaignChannelRule] | Unset = UNSET
    name: str | Unset = UNSET
    subject: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        campaign_id = self.campaign_id

        date = self.date.isoformat()

        segments = []
        for segments_item_data in self.segments:
            segments_item = segments_item_data.to_dict()
            segments.append(segments_item)

        template_s3_uri = self.template_s3_uri

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
                "campaign_id": campaign_id,
                "date": date,
                "segments": segments,
                "templateS3Uri": template_s3_uri,
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
        from ..models.client_campaign_segment import ClientCampaignSegment  # noqa: PLC0415

        d = dict(src_dict)
        campaign_id = d.pop("campaign_id")

        date = datetime.datetime.fromisoformat(d.pop("date"))

        segments = []
        _segments = d.pop("segments")
        for segments_item_data in _segments:
            segments_item = ClientCampaignSegment.from_dict(segments_item_data)

            segments.append(segments_item)

        template_s3_uri = d.pop("templateS3Uri")

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

        client_campaign_document = cls(
            campaign_id=campaign_id,
            date=date,
            segments=segments,
            template_s3_uri=template_s3_uri,
            allow_missing_variables=allow_missing_variables,
            channels=channels,
            name=name,
            subject=subject,
        )

        return client_campaign_document

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.client_campaign_recipient import ClientCampaignRecipient


T = TypeVar("T", bound="ClientCampaignSegment")


@_attrs_define
class ClientCampaignSegment:
    """
    Attributes:
        list_name (str): The list's exact name; created when no list has it.
        recipients (list[ClientCampaignRecipient] | Unset): Added to the list, or updated when already on it.
        template_s3_uri (str | Unset): Where the template's HTML is: `s3://bucket/key` (read with boto3 and Mailer's AWS
            credentials, region and endpoint: MAILER_S3_REGION, MAILER_S3_ENDPOINT_URL) or an
            `https://` URL on a public address. UTF-8 HTML of at most 1,000,000 bytes; its
            `<title>` is the default subject. It becomes a library template, reused while the
            object is unchanged (same ETag, or same content for a URL without one).
    """

    list_name: str
    recipients: list[ClientCampaignRecipient] | Unset = UNSET
    template_s3_uri: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        list_name = self.list_name

        recipients: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.recipients, Unset):
            recipients = []
            for recipients_item_data in self.recipients:
                recipients_item = recipients_item_data.to_dict()
                recipients.append(recipients_item)

        template_s3_uri = self.template_s3_uri

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "list_name": list_name,
            }
        )
        if recipients is not UNSET:
            field_dict["recipients"] = recipients
        if template_s3_uri is not UNSET:
            field_dict["templateS3Uri"] = template_s3_uri

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.client_campaign_recipient import ClientCampaignRecipient  # noqa: PLC0415

        d = dict(src_dict)
        list_name = d.pop("list_name")

        _recipients = d.pop("recipients", UNSET)
        recipients: list[ClientCampaignRecipient] | Unset = UNSET
        if _recipients is not UNSET:
            recipients = []
            for recipients_item_data in _recipients:
                recipients_item = ClientCampaignRecipient.from_dict(recipients_item_data)

                recipients.append(recipients_item)

        template_s3_uri = d.pop("templateS3Uri", UNSET)

        client_campaign_segment = cls(
            list_name=list_name,
            recipients=recipients,
            template_s3_uri=template_s3_uri,
        )

        return client_campaign_segment

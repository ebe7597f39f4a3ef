from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.campaign_recipient_fields import CampaignRecipientFields


T = TypeVar("T", bound="CampaignRecipient")


@_attrs_define
class CampaignRecipient:
    """
    Attributes:
        email (str): An email address, stored trimmed and lowercased. Quoted local parts, IP-address domains and
            special-use domains (.arpa, .invalid, .local, .localhost, .onion, .test) are refused.
        fields (CampaignRecipientFields | Unset): Personalisation fields, e.g. `{"tier": "gold"}`, used in templates as
            `{{ tier }}`; merged into the contact's attributes.
        first_name (str | Unset):
        last_name (str | Unset):
        name (str | Unset):
    """

    email: str
    fields: CampaignRecipientFields | Unset = UNSET
    first_name: str | Unset = UNSET
    last_name: str | Unset = UNSET
    name: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        email = self.email

        fields: dict[str, Any] | Unset = UNSET
        if not isinstance(self.fields, Unset):
            fields = self.fields.to_dict()

        first_name = self.first_name

        last_name = self.last_name

        name = self.name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "email": email,
            }
        )
        if fields is not UNSET:
            field_dict["fields"] = fields
        if first_name is not UNSET:
            field_dict["first_name"] = first_name
        if last_name is not UNSET:
            field_dict["last_name"] = last_name
        if name is not UNSET:
            field_dict["name"] = name

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.campaign_recipient_fields import CampaignRecipientFields  # noqa: PLC0415

        d = dict(src_dict)
        email = d.pop("email")

        _fields = d.pop("fields", UNSET)
        fields: CampaignRecipientFields | Unset
        if isinstance(_fields, Unset):
            fields = UNSET
        else:
            fields = CampaignRecipientFields.from_dict(_fields)

        first_name = d.pop("first_name", UNSET)

        last_name = d.pop("last_name", UNSET)

        name = d.pop("name", UNSET)

        campaign_recipient = cls(
            email=email,
            fields=fields,
            first_name=first_name,
            last_name=last_name,
            name=name,
        )

        return campaign_recipient

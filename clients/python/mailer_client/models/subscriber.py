from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.subscriber_status import SubscriberStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.subscriber_attributes import SubscriberAttributes


T = TypeVar("T", bound="Subscriber")


@_attrs_define
class Subscriber:
    """
    Attributes:
        attributes (SubscriberAttributes):
        created_at (datetime.datetime):
        email (str):
        first_name (None | str):
        id (int):
        last_name (None | str):
        list_id (int):
        name (None | str):
        status (SubscriberStatus): unconfirmed: asked to confirm by email and not done yet; never mailed by campaigns.
        unsubscribed_at (datetime.datetime | None):
        updated_at (datetime.datetime):
        suppressed (bool | Unset): The address is on the suppression list (when describing one).
    """

    attributes: SubscriberAttributes
    created_at: datetime.datetime
    email: str
    first_name: None | str
    id: int
    last_name: None | str
    list_id: int
    name: None | str
    status: SubscriberStatus
    unsubscribed_at: datetime.datetime | None
    updated_at: datetime.datetime
    suppressed: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attributes = self.attributes.to_dict()

        created_at = self.created_at.isoformat()

        email = self.email

        first_name: None | str
        first_name = self.first_name

        id = self.id

        last_name: None | str
        last_name = self.last_name

        list_id = self.list_id

        name: None | str
        name = self.name

        status = self.status.value

        unsubscribed_at: None | str
        if isinstance(self.unsubscribed_at, datetime.datetime):
            unsubscribed_at = self.unsubscribed_at.isoformat()
        else:
            unsubscribed_at = self.unsubscribed_at

        updated_at = self.updated_at.isoformat()

        suppressed = self.suppressed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attributes": attributes,
                "created_at": created_at,
                "email": email,
                "first_name": first_name,
                "id": id,
                "last_name": last_name,
                "list_id": list_id,
                "name": name,
                "status": status,
                "unsubscribed_at": unsubscribed_at,
                "updated_at": updated_at,
            }
        )
        if suppressed is not UNSET:
            field_dict["suppressed"] = suppressed

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.subscriber_attributes import SubscriberAttributes  # noqa: PLC0415

        d = dict(src_dict)
        attributes = SubscriberAttributes.from_dict(d.pop("attributes"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        email = d.pop("email")

        def _parse_first_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        first_name = _parse_first_name(d.pop("first_name"))

        id = d.pop("id")

        def _parse_last_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_name = _parse_last_name(d.pop("last_name"))

        list_id = d.pop("list_id")

        def _parse_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        name = _parse_name(d.pop("name"))

        status = SubscriberStatus(d.pop("status"))

        def _parse_unsubscribed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                unsubscribed_at_type_0 = datetime.datetime.fromisoformat(data)

                return unsubscribed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        unsubscribed_at = _parse_unsubscribed_at(d.pop("unsubscribed_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        suppressed = d.pop("suppressed", UNSET)

        subscriber = cls(
            attributes=attributes,
            created_at=created_at,
            email=email,
            first_name=first_name,
            id=id,
            last_name=last_name,
            list_id=list_id,
            name=name,
            status=status,
            unsubscribed_at=unsubscribed_at,
            updated_at=updated_at,
            suppressed=suppressed,
        )

        subscriber.additional_properties = d
        return subscriber

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

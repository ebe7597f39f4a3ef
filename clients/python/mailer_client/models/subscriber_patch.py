from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.subscriber_status import SubscriberStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.subscriber_patch_attributes import SubscriberPatchAttributes


T = TypeVar("T", bound="SubscriberPatch")


@_attrs_define
class SubscriberPatch:
    """
    Attributes:
        attributes (SubscriberPatchAttributes | Unset): Replaces the subscriber's attributes.
        first_name (None | str | Unset):
        last_name (None | str | Unset):
        name (None | str | Unset):
        status (SubscriberStatus | Unset): unconfirmed: asked to confirm by email and not done yet; never mailed by
            campaigns.
    """

    attributes: SubscriberPatchAttributes | Unset = UNSET
    first_name: None | str | Unset = UNSET
    last_name: None | str | Unset = UNSET
    name: None | str | Unset = UNSET
    status: SubscriberStatus | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        attributes: dict[str, Any] | Unset = UNSET
        if not isinstance(self.attributes, Unset):
            attributes = self.attributes.to_dict()

        first_name: None | str | Unset
        if isinstance(self.first_name, Unset):
            first_name = UNSET
        else:
            first_name = self.first_name

        last_name: None | str | Unset
        if isinstance(self.last_name, Unset):
            last_name = UNSET
        else:
            last_name = self.last_name

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if attributes is not UNSET:
            field_dict["attributes"] = attributes
        if first_name is not UNSET:
            field_dict["first_name"] = first_name
        if last_name is not UNSET:
            field_dict["last_name"] = last_name
        if name is not UNSET:
            field_dict["name"] = name
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.subscriber_patch_attributes import SubscriberPatchAttributes  # noqa: PLC0415

        d = dict(src_dict)
        _attributes = d.pop("attributes", UNSET)
        attributes: SubscriberPatchAttributes | Unset
        if isinstance(_attributes, Unset):
            attributes = UNSET
        else:
            attributes = SubscriberPatchAttributes.from_dict(_attributes)

        def _parse_first_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        first_name = _parse_first_name(d.pop("first_name", UNSET))

        def _parse_last_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_name = _parse_last_name(d.pop("last_name", UNSET))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        _status = d.pop("status", UNSET)
        status: SubscriberStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = SubscriberStatus(_status)

        subscriber_patch = cls(
            attributes=attributes,
            first_name=first_name,
            last_name=last_name,
            name=name,
            status=status,
        )

        return subscriber_patch

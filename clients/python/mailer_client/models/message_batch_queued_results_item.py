from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.message_batch_queued_results_item_status import MessageBatchQueuedResultsItemStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.message_batch_queued_results_item_error import MessageBatchQueuedResultsItemError


T = TypeVar("T", bound="MessageBatchQueuedResultsItem")


@_attrs_define
class MessageBatchQueuedResultsItem:
    """
    Attributes:
        index (int):
        status (MessageBatchQueuedResultsItemStatus):
        to (str):
        error (MessageBatchQueuedResultsItemError | Unset):
        id (int | Unset):
    """

    index: int
    status: MessageBatchQueuedResultsItemStatus
    to: str
    error: MessageBatchQueuedResultsItemError | Unset = UNSET
    id: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        status = self.status.value

        to = self.to

        error: dict[str, Any] | Unset = UNSET
        if not isinstance(self.error, Unset):
            error = self.error.to_dict()

        id = self.id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "status": status,
                "to": to,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if id is not UNSET:
            field_dict["id"] = id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.message_batch_queued_results_item_error import MessageBatchQueuedResultsItemError  # noqa: PLC0415

        d = dict(src_dict)
        index = d.pop("index")

        status = MessageBatchQueuedResultsItemStatus(d.pop("status"))

        to = d.pop("to")

        _error = d.pop("error", UNSET)
        error: MessageBatchQueuedResultsItemError | Unset
        if isinstance(_error, Unset):
            error = UNSET
        else:
            error = MessageBatchQueuedResultsItemError.from_dict(_error)

        id = d.pop("id", UNSET)

        message_batch_queued_results_item = cls(
            index=index,
            status=status,
            to=to,
            error=error,
            id=id,
        )

        message_batch_queued_results_item.additional_properties = d
        return message_batch_queued_results_item

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

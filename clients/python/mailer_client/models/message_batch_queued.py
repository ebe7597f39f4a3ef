from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.message_batch_queued_results_item import MessageBatchQueuedResultsItem


T = TypeVar("T", bound="MessageBatchQueued")


@_attrs_define
class MessageBatchQueued:
    """
    Attributes:
        queued (int):
        refused (int):
        results (list[MessageBatchQueuedResultsItem]):
    """

    queued: int
    refused: int
    results: list[MessageBatchQueuedResultsItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        queued = self.queued

        refused = self.refused

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "queued": queued,
                "refused": refused,
                "results": results,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.message_batch_queued_results_item import MessageBatchQueuedResultsItem  # noqa: PLC0415

        d = dict(src_dict)
        queued = d.pop("queued")

        refused = d.pop("refused")

        results = []
        _results = d.pop("results")
        for results_item_data in _results:
            results_item = MessageBatchQueuedResultsItem.from_dict(results_item_data)

            results.append(results_item)

        message_batch_queued = cls(
            queued=queued,
            refused=refused,
            results=results,
        )

        message_batch_queued.additional_properties = d
        return message_batch_queued

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

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RetryResult")


@_attrs_define
class RetryResult:
    """
    Attributes:
        in_doubt_skipped (int): In doubt and left alone (send `confirm_in_doubt` to include them).
        matching (int): How many the request was about.
        not_retryable (int): Of campaigns that send nothing again, or messages without a channel.
        queued (bool): A job retries them (too many for one request).
        retried (int): Back in the queue now.
    """

    in_doubt_skipped: int
    matching: int
    not_retryable: int
    queued: bool
    retried: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        in_doubt_skipped = self.in_doubt_skipped

        matching = self.matching

        not_retryable = self.not_retryable

        queued = self.queued

        retried = self.retried

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "in_doubt_skipped": in_doubt_skipped,
                "matching": matching,
                "not_retryable": not_retryable,
                "queued": queued,
                "retried": retried,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        in_doubt_skipped = d.pop("in_doubt_skipped")

        matching = d.pop("matching")

        not_retryable = d.pop("not_retryable")

        queued = d.pop("queued")

        retried = d.pop("retried")

        retry_result = cls(
            in_doubt_skipped=in_doubt_skipped,
            matching=matching,
            not_retryable=not_retryable,
            queued=queued,
            retried=retried,
        )

        retry_result.additional_properties = d
        return retry_result

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

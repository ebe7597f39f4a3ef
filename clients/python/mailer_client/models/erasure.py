from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.erasure_records import ErasureRecords


T = TypeVar("T", bound="Erasure")


@_attrs_define
class Erasure:
    """
    Attributes:
        erased (bool):
        erased_at (datetime.datetime):
        records (ErasureRecords): Rows removed or anonymised, by kind.
    """

    erased: bool
    erased_at: datetime.datetime
    records: ErasureRecords

    def to_dict(self) -> dict[str, Any]:
        erased = self.erased

        erased_at = self.erased_at.isoformat()

        records = self.records.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "erased": erased,
                "erased_at": erased_at,
                "records": records,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.erasure_records import ErasureRecords  # noqa: PLC0415

        d = dict(src_dict)
        erased = d.pop("erased")

        erased_at = datetime.datetime.fromisoformat(d.pop("erased_at"))

        records = ErasureRecords.from_dict(d.pop("records"))

        erasure = cls(
            erased=erased,
            erased_at=erased_at,
            records=records,
        )

        return erasure

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.contact_import_format_type_1 import ContactImportFormatType1
from ..models.contact_import_format_type_2_type_1 import ContactImportFormatType2Type1
from ..models.contact_import_format_type_3_type_1 import ContactImportFormatType3Type1
from ..models.contact_import_mode import ContactImportMode
from ..models.contact_import_status import ContactImportStatus

if TYPE_CHECKING:
    from ..models.contact_import_links import ContactImportLinks


T = TypeVar("T", bound="ContactImport")


@_attrs_define
class ContactImport:
    """
    Attributes:
        bytes_read (int):
        created_at (datetime.datetime):
        duplicates (int):
        error (None | str): Why a failed import stopped.
        filename (str):
        finished_at (datetime.datetime | None):
        format_ (ContactImportFormatType1 | ContactImportFormatType2Type1 | ContactImportFormatType3Type1 | None):
        id (int):
        inserted (int):
        links (ContactImportLinks):
        list_id (int | None):
        mode (ContactImportMode):
        progress (float): Share of the file read.
        rejected (int):
        rows_per_second (float | None):
        rows_read (int):
        size_bytes (int):
        skipped (int):
        started_at (datetime.datetime | None):
        status (ContactImportStatus):
        updated (int):
    """

    bytes_read: int
    created_at: datetime.datetime
    duplicates: int
    error: None | str
    filename: str
    finished_at: datetime.datetime | None
    format_: ContactImportFormatType1 | ContactImportFormatType2Type1 | ContactImportFormatType3Type1 | None
    id: int
    inserted: int
    links: ContactImportLinks
    list_id: int | None
    mode: ContactImportMode
    progress: float
    rejected: int
    rows_per_second: float | None
    rows_read: int
    size_bytes: int
    skipped: int
    started_at: datetime.datetime | None
    status: ContactImportStatus
    updated: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_read = self.bytes_read

        created_at = self.created_at.isoformat()

        duplicates = self.duplicates

        error: None | str
        error = self.error

        filename = self.filename

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        format_: None | str
        if isinstance(self.format_, ContactImportFormatType1):
            format_ = self.format_.value
        elif isinstance(self.format_, ContactImportFormatType2Type1):
            format_ = self.format_.value
        elif isinstance(self.format_, ContactImportFormatType3Type1):
            format_ = self.format_.value
        else:
            format_ = self.format_

        id = self.id

        inserted = self.inserted

        links = self.links.to_dict()

        list_id: int | None
        list_id = self.list_id

        mode = self.mode.value

        progress = self.progress

        rejected = self.rejected

        rows_per_second: float | None
        rows_per_second = self.rows_per_second

        rows_read = self.rows_read

        size_bytes = self.size_bytes

        skipped = self.skipped

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        status = self.status.value

        updated = self.updated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes_read": bytes_read,
                "created_at": created_at,
                "duplicates": duplicates,
                "error": error,
                "filename": filename,
                "finished_at": finished_at,
                "format": format_,
                "id": id,
                "inserted": inserted,
                "links": links,
                "list_id": list_id,
                "mode": mode,
                "progress": progress,
                "rejected": rejected,
                "rows_per_second": rows_per_second,
                "rows_read": rows_read,
                "size_bytes": size_bytes,
                "skipped": skipped,
                "started_at": started_at,
                "status": status,
                "updated": updated,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.contact_import_links import ContactImportLinks  # noqa: PLC0415

        d = dict(src_dict)
        bytes_read = d.pop("bytes_read")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        duplicates = d.pop("duplicates")

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        filename = d.pop("filename")

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        def _parse_format_(
            data: object,
        ) -> ContactImportFormatType1 | ContactImportFormatType2Type1 | ContactImportFormatType3Type1 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                format_type_1 = ContactImportFormatType1(data)

                return format_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                format_type_2_type_1 = ContactImportFormatType2Type1(data)

                return format_type_2_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                format_type_3_type_1 = ContactImportFormatType3Type1(data)

                return format_type_3_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                ContactImportFormatType1 | ContactImportFormatType2Type1 | ContactImportFormatType3Type1 | None, data
            )

        format_ = _parse_format_(d.pop("format"))

        id = d.pop("id")

        inserted = d.pop("inserted")

        links = ContactImportLinks.from_dict(d.pop("links"))

        def _parse_list_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        list_id = _parse_list_id(d.pop("list_id"))

        mode = ContactImportMode(d.pop("mode"))

        progress = d.pop("progress")

        rejected = d.pop("rejected")

        def _parse_rows_per_second(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        rows_per_second = _parse_rows_per_second(d.pop("rows_per_second"))

        rows_read = d.pop("rows_read")

        size_bytes = d.pop("size_bytes")

        skipped = d.pop("skipped")

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        status = ContactImportStatus(d.pop("status"))

        updated = d.pop("updated")

        contact_import = cls(
            bytes_read=bytes_read,
            created_at=created_at,
            duplicates=duplicates,
            error=error,
            filename=filename,
            finished_at=finished_at,
            format_=format_,
            id=id,
            inserted=inserted,
            links=links,
            list_id=list_id,
            mode=mode,
            progress=progress,
            rejected=rejected,
            rows_per_second=rows_per_second,
            rows_read=rows_read,
            size_bytes=size_bytes,
            skipped=skipped,
            started_at=started_at,
            status=status,
            updated=updated,
        )

        contact_import.additional_properties = d
        return contact_import

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

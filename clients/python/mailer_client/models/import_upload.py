from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar

from attrs import define as _attrs_define

from .. import types
from ..models.import_upload_format import ImportUploadFormat
from ..models.import_upload_mode import ImportUploadMode
from ..types import UNSET, File, Unset

T = TypeVar("T", bound="ImportUpload")


@_attrs_define
class ImportUpload:
    """
    Attributes:
        file (File):
        format_ (ImportUploadFormat | Unset): Detected from the content when absent.
        mode (ImportUploadMode | Unset): upsert: add new addresses, update names and merge attributes of known ones;
            skip: leave known ones untouched; blocklist: add every address to the
            suppression list instead; confirm: add new addresses as unconfirmed and send each
            the list's confirmation email once the import is done (known ones untouched).
            Except with confirm, imported people count as having given their consent.
             Default: ImportUploadMode.UPSERT.
    """

    file: File
    format_: ImportUploadFormat | Unset = UNSET
    mode: ImportUploadMode | Unset = ImportUploadMode.UPSERT

    def to_dict(self) -> dict[str, Any]:
        file = self.file.to_tuple()

        format_: str | Unset = UNSET
        if not isinstance(self.format_, Unset):
            format_ = self.format_.value

        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "file": file,
            }
        )
        if format_ is not UNSET:
            field_dict["format"] = format_
        if mode is not UNSET:
            field_dict["mode"] = mode

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("file", self.file.to_tuple()))

        if not isinstance(self.format_, Unset):
            files.append(("format", (None, str(self.format_.value).encode(), "text/plain")))

        if not isinstance(self.mode, Unset):
            files.append(("mode", (None, str(self.mode.value).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        file = File(payload=BytesIO(d.pop("file")))

        _format_ = d.pop("format", UNSET)
        format_: ImportUploadFormat | Unset
        if isinstance(_format_, Unset):
            format_ = UNSET
        else:
            format_ = ImportUploadFormat(_format_)

        _mode = d.pop("mode", UNSET)
        mode: ImportUploadMode | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = ImportUploadMode(_mode)

        import_upload = cls(
            file=file,
            format_=format_,
            mode=mode,
        )

        return import_upload

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AttachmentIn")


@_attrs_define
class AttachmentIn:
    """A file, base64-encoded: at most 5 MB each (`MAILER_TX_ATTACHMENT_MAX_BYTES`) and 10 MB per message
    (`MAILER_TX_ATTACHMENTS_MAX_BYTES`), decoded; the whole request at most 20 MB (`MAILER_TX_MAX_BODY_BYTES`).
    Executable and script types (.exe, .js, .bat, .vbs, .msi, ... `MAILER_TX_REFUSED_EXTENSIONS`) are refused. With
    `content_id` the file is an inline image the HTML shows with `<img src="cid:CONTENT_ID">`.

        Attributes:
            content (str):
            filename (str): No slash and no line break; .exe, .js and other refused types answer 422.
            content_id (str | Unset):
            content_type (str | Unset): The media type; default guessed from the file name.
    """

    content: str
    filename: str
    content_id: str | Unset = UNSET
    content_type: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        content = self.content

        filename = self.filename

        content_id = self.content_id

        content_type = self.content_type

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content": content,
                "filename": filename,
            }
        )
        if content_id is not UNSET:
            field_dict["content_id"] = content_id
        if content_type is not UNSET:
            field_dict["content_type"] = content_type

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        content = d.pop("content")

        filename = d.pop("filename")

        content_id = d.pop("content_id", UNSET)

        content_type = d.pop("content_type", UNSET)

        attachment_in = cls(
            content=content,
            filename=filename,
            content_id=content_id,
            content_type=content_type,
        )

        return attachment_in

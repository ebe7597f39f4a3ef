from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.attachment_in import AttachmentIn
    from ..models.custom_headers import CustomHeaders
    from ..models.message_in_metadata import MessageInMetadata
    from ..models.message_in_variables import MessageInVariables
    from ..models.named_address import NamedAddress


T = TypeVar("T", bound="MessageIn")


@_attrs_define
class MessageIn:
    """
    Attributes:
        to (list[NamedAddress | str] | NamedAddress | str): One address or a list of them (at most 50 recipients in to,
            cc and bcc).
        attachments (list[AttachmentIn] | Unset):
        bcc (list[NamedAddress | str] | NamedAddress | str | Unset): One address or a list of them (at most 50
            recipients in to, cc and bcc).
        cc (list[NamedAddress | str] | NamedAddress | str | Unset): One address or a list of them (at most 50 recipients
            in to, cc and bcc).
        channel (int | str | Unset): A channel's id or name; default the first active channel.
        from_ (int | str | Unset): A sender identity's id or address; default the first identity.
        headers (CustomHeaders | Unset): Extra headers, at most 20: your own `X-...` headers (not `X-Mailer-*` and the
            providers' own `X-Mailin-*`, `X-MJ-*`, `X-Mailgun-*`, `X-SG-*`, `X-SES-*`, `X-SMTPAPI`), and `List-Unsubscribe`,
            `List-Unsubscribe-Post`, `List-Id`, `In-Reply-To`, `References`. Any other name (From, To, Subject, DKIM-
            Signature, Received, ...) is a 422 naming the header (`$.headers.Received`).
        html (str | Unset):
        metadata (MessageInMetadata | Unset): Your own small JSON object (at most 2 KB), returned as given.
        reply_to (NamedAddress | str | Unset): An address with an optional display name: `"jane@example.com"`, `"Jane
            Doe <jane@example.com>"` or `{"email": "jane@example.com", "name": "Jane Doe"}`.
        send_at (datetime.datetime | Unset): Send later: an ISO 8601 date and time with its offset
            (`2026-05-01T09:30:00+02:00` or `...Z`), in the future and at most 30 days ahead
            (`MAILER_TX_SCHEDULE_MAX_DAYS`). The message is "scheduled" until then and can be cancelled (`POST
            /api/v1/messages/{id}/cancel`).
        subject (str | Unset):
        tags (list[str] | Unset):
        template_id (int | Unset):
        text (str | Unset):
        track_clicks (bool | Unset): Point the HTML's http(s) links at a tracking redirect, so clicks are recorded
            (status "clicked", a "click" event with the URL). Default: True.
        track_opens (bool | Unset):  Default: True.
        variables (MessageInVariables | Unset): Template variables (only with template_id), used as given: they win over
            the defaults (`first_name`, `last_name` and `name` empty, `email` the recipient).
    """

    to: list[NamedAddress | str] | NamedAddress | str
    attachments: list[AttachmentIn] | Unset = UNSET
    bcc: list[NamedAddress | str] | NamedAddress | str | Unset = UNSET
    cc: list[NamedAddress | str] | NamedAddress | str | Unset = UNSET
    channel: int | str | Unset = UNSET
    from_: int | str | Unset = UNSET
    headers: CustomHeaders | Unset = UNSET
    html: str | Unset = UNSET
    metadata: MessageInMetadata | Unset = UNSET
    reply_to: NamedAddress | str | Unset = UNSET
    send_at: datetime.datetime | Unset = UNSET
    subject: str | Unset = UNSET
    tags: list[str] | Unset = UNSET
    template_id: int | Unset = UNSET
    text: str | Unset = UNSET
    track_clicks: bool | Unset = True
    track_opens: bool | Unset = True
    variables: MessageInVariables | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.named_address import NamedAddress  # noqa: PLC0415

        to: dict[str, Any] | list[dict[str, Any] | str] | str
        if isinstance(self.to, NamedAddress):
            to = self.to.to_dict()
        elif isinstance(self.to, list):
            to = []
            for componentsschemas_address_list_type_1_item_data in self.to:
                componentsschemas_address_list_type_1_item: dict[str, Any] | str
                if isinstance(componentsschemas_address_list_type_1_item_data, NamedAddress):
                    componentsschemas_address_list_type_1_item = (
                        componentsschemas_address_list_type_1_item_data.to_dict()
                    )
                else:
                    componentsschemas_address_list_type_1_item = componentsschemas_address_list_type_1_item_data
                to.append(componentsschemas_address_list_type_1_item)

        else:
            to = self.to

        attachments: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.attachments, Unset):
            attachments = []
            for attachments_item_data in self.attachments:
                attachments_item = attachments_item_data.to_dict()
                attachments.append(attachments_item)

        bcc: dict[str, Any] | list[dict[str, Any] | str] | str | Unset
        if isinstance(self.bcc, Unset):
            bcc = UNSET
        elif isinstance(self.bcc, NamedAddress):
            bcc = self.bcc.to_dict()
        elif isinstance(self.bcc, list):
            bcc = []
            for componentsschemas_address_list_type_1_item_data in self.bcc:
                componentsschemas_address_list_type_1_item: dict[str, Any] | str
                if isinstance(componentsschemas_address_list_type_1_item_data, NamedAddress):
                    componentsschemas_address_list_type_1_item = (
                        componentsschemas_address_list_type_1_item_data.to_dict()
                    )
                else:
                    componentsschemas_address_list_type_1_item = componentsschemas_address_list_type_1_item_data
                bcc.append(componentsschemas_address_list_type_1_item)

        else:
            bcc = self.bcc

        cc: dict[str, Any] | list[dict[str, Any] | str] | str | Unset
        if isinstance(self.cc, Unset):
            cc = UNSET
        elif isinstance(self.cc, NamedAddress):
            cc = self.cc.to_dict()
        elif isinstance(self.cc, list):
            cc = []
            for componentsschemas_address_list_type_1_item_data in self.cc:
                componentsschemas_address_list_type_1_item: dict[str, Any] | str
                if isinstance(componentsschemas_address_list_type_1_item_data, NamedAddress):
                    componentsschemas_address_list_type_1_item = (
                        componentsschemas_address_list_type_1_item_data.to_dict()
                    )
                else:
                    componentsschemas_address_list_type_1_item = componentsschemas_address_list_type_1_item_data
                cc.append(componentsschemas_address_list_type_1_item)

        else:
            cc = self.cc

        channel: int | str | Unset
        if isinstance(self.channel, Unset):
            channel = UNSET
        else:
            channel = self.channel

        from_: int | str | Unset
        if isinstance(self.from_, Unset):
            from_ = UNSET
        else:
            from_ = self.from_

        headers: dict[str, Any] | Unset = UNSET
        if not isinstance(self.headers, Unset):
            headers = self.headers.to_dict()

        html = self.html

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        reply_to: dict[str, Any] | str | Unset
        if isinstance(self.reply_to, Unset):
            reply_to = UNSET
        elif isinstance(self.reply_to, NamedAddress):
            reply_to = self.reply_to.to_dict()
        else:
            reply_to = self.reply_to

        send_at: str | Unset = UNSET
        if not isinstance(self.send_at, Unset):
            send_at = self.send_at.isoformat()

        subject = self.subject

        tags: list[str] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags

        template_id = self.template_id

        text = self.text

        track_clicks = self.track_clicks

        track_opens = self.track_opens

        variables: dict[str, Any] | Unset = UNSET
        if not isinstance(self.variables, Unset):
            variables = self.variables.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "to": to,
            }
        )
        if attachments is not UNSET:
            field_dict["attachments"] = attachments
        if bcc is not UNSET:
            field_dict["bcc"] = bcc
        if cc is not UNSET:
            field_dict["cc"] = cc
        if channel is not UNSET:
            field_dict["channel"] = channel
        if from_ is not UNSET:
            field_dict["from"] = from_
        if headers is not UNSET:
            field_dict["headers"] = headers
        if html is not UNSET:
            field_dict["html"] = html
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if reply_to is not UNSET:
            field_dict["reply_to"] = reply_to
        if send_at is not UNSET:
            field_dict["send_at"] = send_at
        if subject is not UNSET:
            field_dict["subject"] = subject
        if tags is not UNSET:
            field_dict["tags"] = tags
        if template_id is not UNSET:
            field_dict["template_id"] = template_id
        if text is not UNSET:
            field_dict["text"] = text
        if track_clicks is not UNSET:
            field_dict["track_clicks"] = track_clicks
        if track_opens is not UNSET:
            field_dict["track_opens"] = track_opens
        if variables is not UNSET:
            field_dict["variables"] = variables

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attachment_in import AttachmentIn  # noqa: PLC0415
        from ..models.custom_headers import CustomHeaders  # noqa: PLC0415
        from ..models.message_in_metadata import MessageInMetadata  # noqa: PLC0415
        from ..models.message_in_variables import MessageInVariables  # noqa: PLC0415
        from ..models.named_address import NamedAddress  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_to(data: object) -> list[NamedAddress | str] | NamedAddress | str:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_address_type_1 = NamedAddress.from_dict(data)

                return componentsschemas_address_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_address_list_type_1 = []
                _componentsschemas_address_list_type_1 = data
                for componentsschemas_address_list_type_1_item_data in _componentsschemas_address_list_type_1:

                    def _parse_componentsschemas_address_list_type_1_item(data: object) -> NamedAddress | str:
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            componentsschemas_address_type_1 = NamedAddress.from_dict(data)

                            return componentsschemas_address_type_1
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        return cast(NamedAddress | str, data)

                    componentsschemas_address_list_type_1_item = _parse_componentsschemas_address_list_type_1_item(
                        componentsschemas_address_list_type_1_item_data
                    )

                    componentsschemas_address_list_type_1.append(componentsschemas_address_list_type_1_item)

                return componentsschemas_address_list_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[NamedAddress | str] | NamedAddress | str, data)

        to = _parse_to(d.pop("to"))

        _attachments = d.pop("attachments", UNSET)
        attachments: list[AttachmentIn] | Unset = UNSET
        if _attachments is not UNSET:
            attachments = []
            for attachments_item_data in _attachments:
                attachments_item = AttachmentIn.from_dict(attachments_item_data)

                attachments.append(attachments_item)

        def _parse_bcc(data: object) -> list[NamedAddress | str] | NamedAddress | str | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_address_type_1 = NamedAddress.from_dict(data)

                return componentsschemas_address_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_address_list_type_1 = []
                _componentsschemas_address_list_type_1 = data
                for componentsschemas_address_list_type_1_item_data in _componentsschemas_address_list_type_1:

                    def _parse_componentsschemas_address_list_type_1_item(data: object) -> NamedAddress | str:
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            componentsschemas_address_type_1 = NamedAddress.from_dict(data)

                            return componentsschemas_address_type_1
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        return cast(NamedAddress | str, data)

                    componentsschemas_address_list_type_1_item = _parse_componentsschemas_address_list_type_1_item(
                        componentsschemas_address_list_type_1_item_data
                    )

                    componentsschemas_address_list_type_1.append(componentsschemas_address_list_type_1_item)

                return componentsschemas_address_list_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[NamedAddress | str] | NamedAddress | str | Unset, data)

        bcc = _parse_bcc(d.pop("bcc", UNSET))

        def _parse_cc(data: object) -> list[NamedAddress | str] | NamedAddress | str | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_address_type_1 = NamedAddress.from_dict(data)

                return componentsschemas_address_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_address_list_type_1 = []
                _componentsschemas_address_list_type_1 = data
                for componentsschemas_address_list_type_1_item_data in _componentsschemas_address_list_type_1:

                    def _parse_componentsschemas_address_list_type_1_item(data: object) -> NamedAddress | str:
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            componentsschemas_address_type_1 = NamedAddress.from_dict(data)

                            return componentsschemas_address_type_1
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        return cast(NamedAddress | str, data)

                    componentsschemas_address_list_type_1_item = _parse_componentsschemas_address_list_type_1_item(
                        componentsschemas_address_list_type_1_item_data
                    )

                    componentsschemas_address_list_type_1.append(componentsschemas_address_list_type_1_item)

                return componentsschemas_address_list_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[NamedAddress | str] | NamedAddress | str | Unset, data)

        cc = _parse_cc(d.pop("cc", UNSET))

        def _parse_channel(data: object) -> int | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | str | Unset, data)

        channel = _parse_channel(d.pop("channel", UNSET))

        def _parse_from_(data: object) -> int | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | str | Unset, data)

        from_ = _parse_from_(d.pop("from", UNSET))

        _headers = d.pop("headers", UNSET)
        headers: CustomHeaders | Unset
        if isinstance(_headers, Unset):
            headers = UNSET
        else:
            headers = CustomHeaders.from_dict(_headers)

        html = d.pop("html", UNSET)

        _metadata = d.pop("metadata", UNSET)
        metadata: MessageInMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = MessageInMetadata.from_dict(_metadata)

        def _parse_reply_to(data: object) -> NamedAddress | str | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_address_type_1 = NamedAddress.from_dict(data)

                return componentsschemas_address_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NamedAddress | str | Unset, data)

        reply_to = _parse_reply_to(d.pop("reply_to", UNSET))

        _send_at = d.pop("send_at", UNSET)
        send_at: datetime.datetime | Unset
        if isinstance(_send_at, Unset):
            send_at = UNSET
        else:
            send_at = datetime.datetime.fromisoformat(_send_at)

        subject = d.pop("subject", UNSET)

        tags = cast(list[str], d.pop("tags", UNSET))

        template_id = d.pop("template_id", UNSET)

        text = d.pop("text", UNSET)

        track_clicks = d.pop("track_clicks", UNSET)

        track_opens = d.pop("track_opens", UNSET)

        _variables = d.pop("variables", UNSET)
        variables: MessageInVariables | Unset
        if isinstance(_variables, Unset):
            variables = UNSET
        else:
            variables = MessageInVariables.from_dict(_variables)

        message_in = cls(
            to=to,
            attachments=attachments,
            bcc=bcc,
            cc=cc,
            channel=channel,
            from_=from_,
            headers=headers,
            html=html,
            metadata=metadata,
            reply_to=reply_to,
            send_at=send_at,
            subject=subject,
            tags=tags,
            template_id=template_id,
            text=text,
            track_clicks=track_clicks,
            track_opens=track_opens,
            variables=variables,
        )

        return message_in

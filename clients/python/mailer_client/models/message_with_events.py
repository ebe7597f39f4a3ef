from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.message_delivery_status import MessageDeliveryStatus
from ..models.message_status import MessageStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.address_out import AddressOut
    from ..models.message_attachments_item import MessageAttachmentsItem
    from ..models.message_headers import MessageHeaders
    from ..models.message_metadata import MessageMetadata
    from ..models.message_recipients import MessageRecipients
    from ..models.message_with_events_events_item import MessageWithEventsEventsItem


T = TypeVar("T", bound="MessageWithEvents")


@_attrs_define
class MessageWithEvents:
    """
    Attributes:
        created_at (datetime.datetime):
        delivery_status (MessageDeliveryStatus): The status without opens and clicks (a scheduled message is queued).
        id (int):
        metadata (MessageMetadata):
        status (MessageStatus): scheduled (waiting for `send_at`), queued, sending, sent, delivered, bounced,
            complained, failed (see `error`), cancelled, or opened / clicked for a sent or
            delivered message that was opened / clicked.
        subject (str): The subject as sent: for a template, its subject rendered with the message's variables.
        tags (list[str]):
        to (str):
        events (list[MessageWithEventsEventsItem]):
        attachments (list[MessageAttachmentsItem] | Unset): The files as accepted (their content is deleted once sent or
            cancelled).
        attempts (int | Unset):
        bounced_at (datetime.datetime | None | Unset):
        channel_id (int | None | Unset):
        clicked_at (datetime.datetime | None | Unset):
        complained_at (datetime.datetime | None | Unset):
        delivered_at (datetime.datetime | None | Unset):
        error (None | str | Unset):
        from_ (None | str | Unset):
        headers (MessageHeaders | Unset):
        next_attempt_at (datetime.datetime | None | Unset):
        opened_at (datetime.datetime | None | Unset):
        provider_message_id (None | str | Unset):
        recipients (MessageRecipients | Unset):
        reply_to (AddressOut | None | Unset):
        send_at (datetime.datetime | None | Unset):
        sent_at (datetime.datetime | None | Unset):
        template_id (int | None | Unset):
    """

    created_at: datetime.datetime
    delivery_status: MessageDeliveryStatus
    id: int
    metadata: MessageMetadata
    status: MessageStatus
    subject: str
    tags: list[str]
    to: str
    events: list[MessageWithEventsEventsItem]
    attachments: list[MessageAttachmentsItem] | Unset = UNSET
    attempts: int | Unset = UNSET
    bounced_at: datetime.datetime | None | Unset = UNSET
    channel_id: int | None | Unset = UNSET
    clicked_at: datetime.datetime | None | Unset = UNSET
    complained_at: datetime.datetime | None | Unset = UNSET
    delivered_at: datetime.datetime | None | Unset = UNSET
    error: None | str | Unset = UNSET
    from_: None | str | Unset = UNSET
    headers: MessageHeaders | Unset = UNSET
    next_attempt_at: datetime.datetime | None | Unset = UNSET
    opened_at: datetime.datetime | None | Unset = UNSET
    provider_message_id: None | str | Unset = UNSET
    recipients: MessageRecipients | Unset = UNSET
    reply_to: AddressOut | None | Unset = UNSET
    send_at: datetime.datetime | None | Unset = UNSET
    sent_at: datetime.datetime | None | Unset = UNSET
    template_id: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.address_out import AddressOut  # noqa: PLC0415

        created_at = self.created_at.isoformat()

        delivery_status = self.delivery_status.value

        id = self.id

        metadata = self.metadata.to_dict()

        status = self.status.value

        subject = self.subject

        tags = self.tags

        to = self.to

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)

        attachments: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.attachments, Unset):
            attachments = []
            for attachments_item_data in self.attachments:
                attachments_item = attachments_item_data.to_dict()
                attachments.append(attachments_item)

        attempts = self.attempts

        bounced_at: None | str | Unset
        if isinstance(self.bounced_at, Unset):
            bounced_at = UNSET
        elif isinstance(self.bounced_at, datetime.datetime):
            bounced_at = self.bounced_at.isoformat()
        else:
            bounced_at = self.bounced_at

        channel_id: int | None | Unset
        if isinstance(self.channel_id, Unset):
            channel_id = UNSET
        else:
            channel_id = self.channel_id

        clicked_at: None | str | Unset
        if isinstance(self.clicked_at, Unset):
            clicked_at = UNSET
        elif isinstance(self.clicked_at, datetime.datetime):
            clicked_at = self.clicked_at.isoformat()
        else:
            clicked_at = self.clicked_at

        complained_at: None | str | Unset
        if isinstance(self.complained_at, Unset):
            complained_at = UNSET
        elif isinstance(self.complained_at, datetime.datetime):
            complained_at = self.complained_at.isoformat()
        else:
            complained_at = self.complained_at

        delivered_at: None | str | Unset
        if isinstance(self.delivered_at, Unset):
            delivered_at = UNSET
        elif isinstance(self.delivered_at, datetime.datetime):
            delivered_at = self.delivered_at.isoformat()
        else:
            delivered_at = self.delivered_at

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        from_: None | str | Unset
        if isinstance(self.from_, Unset):
            from_ = UNSET
        else:
            from_ = self.from_

        headers: dict[str, Any] | Unset = UNSET
        if not isinstance(self.headers, Unset):
            headers = self.headers.to_dict()

        next_attempt_at: None | str | Unset
        if isinstance(self.next_attempt_at, Unset):
            next_attempt_at = UNSET
        elif isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        opened_at: None | str | Unset
        if isinstance(self.opened_at, Unset):
            opened_at = UNSET
        elif isinstance(self.opened_at, datetime.datetime):
            opened_at = self.opened_at.isoformat()
        else:
            opened_at = self.opened_at

        provider_message_id: None | str | Unset
        if isinstance(self.provider_message_id, Unset):
            provider_message_id = UNSET
        else:
            provider_message_id = self.provider_message_id

        recipients: dict[str, Any] | Unset = UNSET
        if not isinstance(self.recipients, Unset):
            recipients = self.recipients.to_dict()

        reply_to: dict[str, Any] | None | Unset
        if isinstance(self.reply_to, Unset):
            reply_to = UNSET
        elif isinstance(self.reply_to, AddressOut):
            reply_to = self.reply_to.to_dict()
        else:
            reply_to = self.reply_to

        send_at: None | str | Unset
        if isinstance(self.send_at, Unset):
            send_at = UNSET
        elif isinstance(self.send_at, datetime.datetime):
            send_at = self.send_at.isoformat()
        else:
            send_at = self.send_at

        sent_at: None | str | Unset
        if isinstance(self.sent_at, Unset):
            sent_at = UNSET
        elif isinstance(self.sent_at, datetime.datetime):
            sent_at = self.sent_at.isoformat()
        else:
            sent_at = self.sent_at

        template_id: int | None | Unset
        if isinstance(self.template_id, Unset):
            template_id = UNSET
        else:
            template_id = self.template_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "delivery_status": delivery_status,
                "id": id,
                "metadata": metadata,
                "status": status,
                "subject": subject,
                "tags": tags,
                "to": to,
                "events": events,
            }
        )
        if attachments is not UNSET:
            field_dict["attachments"] = attachments
        if attempts is not UNSET:
            field_dict["attempts"] = attempts
        if bounced_at is not UNSET:
            field_dict["bounced_at"] = bounced_at
        if channel_id is not UNSET:
            field_dict["channel_id"] = channel_id
        if clicked_at is not UNSET:
            field_dict["clicked_at"] = clicked_at
        if complained_at is not UNSET:
            field_dict["complained_at"] = complained_at
        if delivered_at is not UNSET:
            field_dict["delivered_at"] = delivered_at
        if error is not UNSET:
            field_dict["error"] = error
        if from_ is not UNSET:
            field_dict["from"] = from_
        if headers is not UNSET:
            field_dict["headers"] = headers
        if next_attempt_at is not UNSET:
            field_dict["next_attempt_at"] = next_attempt_at
        if opened_at is not UNSET:
            field_dict["opened_at"] = opened_at
        if provider_message_id is not UNSET:
            field_dict["provider_message_id"] = provider_message_id
        if recipients is not UNSET:
            field_dict["recipients"] = recipients
        if reply_to is not UNSET:
            field_dict["reply_to"] = reply_to
        if send_at is not UNSET:
            field_dict["send_at"] = send_at
        if sent_at is not UNSET:
            field_dict["sent_at"] = sent_at
        if template_id is not UNSET:
            field_dict["template_id"] = template_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address_out import AddressOut  # noqa: PLC0415
        from ..models.message_attachments_item import MessageAttachmentsItem  # noqa: PLC0415
        from ..models.message_headers import MessageHeaders  # noqa: PLC0415
        from ..models.message_metadata import MessageMetadata  # noqa: PLC0415
        from ..models.message_recipients import MessageRecipients  # noqa: PLC0415
        from ..models.message_with_events_events_item import MessageWithEventsEventsItem  # noqa: PLC0415

        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        delivery_status = MessageDeliveryStatus(d.pop("delivery_status"))

        id = d.pop("id")

        metadata = MessageMetadata.from_dict(d.pop("metadata"))

        status = MessageStatus(d.pop("status"))

        subject = d.pop("subject")

        tags = cast(list[str], d.pop("tags"))

        to = d.pop("to")

        events = []
        _events = d.pop("events")
        for events_item_data in _events:
            events_item = MessageWithEventsEventsItem.from_dict(events_item_data)

            events.append(events_item)

        _attachments = d.pop("attachments", UNSET)
        attachments: list[MessageAttachmentsItem] | Unset = UNSET
        if _attachments is not UNSET:
            attachments = []
            for attachments_item_data in _attachments:
                attachments_item = MessageAttachmentsItem.from_dict(attachments_item_data)

                attachments.append(attachments_item)

        attempts = d.pop("attempts", UNSET)

        def _parse_bounced_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                bounced_at_type_0 = datetime.datetime.fromisoformat(data)

                return bounced_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        bounced_at = _parse_bounced_at(d.pop("bounced_at", UNSET))

        def _parse_channel_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        channel_id = _parse_channel_id(d.pop("channel_id", UNSET))

        def _parse_clicked_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                clicked_at_type_0 = datetime.datetime.fromisoformat(data)

                return clicked_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        clicked_at = _parse_clicked_at(d.pop("clicked_at", UNSET))

        def _parse_complained_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                complained_at_type_0 = datetime.datetime.fromisoformat(data)

                return complained_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        complained_at = _parse_complained_at(d.pop("complained_at", UNSET))

        def _parse_delivered_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                delivered_at_type_0 = datetime.datetime.fromisoformat(data)

                return delivered_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        delivered_at = _parse_delivered_at(d.pop("delivered_at", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_from_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        from_ = _parse_from_(d.pop("from", UNSET))

        _headers = d.pop("headers", UNSET)
        headers: MessageHeaders | Unset
        if isinstance(_headers, Unset):
            headers = UNSET
        else:
            headers = MessageHeaders.from_dict(_headers)

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at", UNSET))

        def _parse_opened_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                opened_at_type_0 = datetime.datetime.fromisoformat(data)

                return opened_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        opened_at = _parse_opened_at(d.pop("opened_at", UNSET))

        def _parse_provider_message_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        provider_message_id = _parse_provider_message_id(d.pop("provider_message_id", UNSET))

        _recipients = d.pop("recipients", UNSET)
        recipients: MessageRecipients | Unset
        if isinstance(_recipients, Unset):
            recipients = UNSET
        else:
            recipients = MessageRecipients.from_dict(_recipients)

        def _parse_reply_to(data: object) -> AddressOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                reply_to_type_1 = AddressOut.from_dict(data)

                return reply_to_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AddressOut | None | Unset, data)

        reply_to = _parse_reply_to(d.pop("reply_to", UNSET))

        def _parse_send_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                send_at_type_0 = datetime.datetime.fromisoformat(data)

                return send_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        send_at = _parse_send_at(d.pop("send_at", UNSET))

        def _parse_sent_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                sent_at_type_0 = datetime.datetime.fromisoformat(data)

                return sent_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        sent_at = _parse_sent_at(d.pop("sent_at", UNSET))

        def _parse_template_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        template_id = _parse_template_id(d.pop("template_id", UNSET))

        message_with_events = cls(
            created_at=created_at,
            delivery_status=delivery_status,
            id=id,
            metadata=metadata,
            status=status,
            subject=subject,
            tags=tags,
            to=to,
            events=events,
            attachments=attachments,
            attempts=attempts,
            bounced_at=bounced_at,
            channel_id=channel_id,
            clicked_at=clicked_at,
            complained_at=complained_at,
            delivered_at=delivered_at,
            error=error,
            from_=from_,
            headers=headers,
            next_attempt_at=next_attempt_at,
            opened_at=opened_at,
            provider_message_id=provider_message_id,
            recipients=recipients,
            reply_to=reply_to,
            send_at=send_at,
            sent_at=sent_at,
            template_id=template_id,
        )

        message_with_events.additional_properties = d
        return message_with_events

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.message_in_metadata import MessageInMetadata
    from ..models.message_in_variables import MessageInVariables


T = TypeVar("T", bound="MessageIn")


@_attrs_define
class MessageIn:
    """
    Attributes:
        to (str): An email address, stored trimmed and lowercased. Quoted local parts, IP-address domains and special-
            use domains (.arpa, .invalid, .local, .localhost, .onion, .test) are refused.
        channel (int | str | Unset): A channel's id or name; default the first active channel.
        from_ (int | str | Unset): A sender identity's id or address; default the first identity.
        html (str | Unset):
        metadata (MessageInMetadata | Unset): Your own small JSON object (at most 2 KB), returned as given.
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

    to: str
    channel: int | str | Unset = UNSET
    from_: int | str | Unset = UNSET
    html: str | Unset = UNSET
    metadata: MessageInMetadata | Unset = UNSET
    subject: str | Unset = UNSET
    tags: list[str] | Unset = UNSET
    template_id: int | Unset = UNSET
    text: str | Unset = UNSET
    track_clicks: bool | Unset = True
    track_opens: bool | Unset = True
    variables: MessageInVariables | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        to = self.to

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

        html = self.html

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

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
        if channel is not UNSET:
            field_dict["channel"] = channel
        if from_ is not UNSET:
            field_dict["from"] = from_
        if html is not UNSET:
            field_dict["html"] = html
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
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
        from ..models.message_in_metadata import MessageInMetadata  # noqa: PLC0415
        from ..models.message_in_variables import MessageInVariables  # noqa: PLC0415

        d = dict(src_dict)
        to = d.pop("to")

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

        html = d.pop("html", UNSET)

        _metadata = d.pop("metadata", UNSET)
        metadata: MessageInMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = MessageInMetadata.from_dict(_metadata)

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
            channel=channel,
            from_=from_,
            html=html,
            metadata=metadata,
            subject=subject,
            tags=tags,
            template_id=template_id,
            text=text,
            track_clicks=track_clicks,
            track_opens=track_opens,
            variables=variables,
        )

        return message_in

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.failed_state import FailedState
from ..models.failure_reason import FailureReason

T = TypeVar("T", bound="FailedMessage")


@_attrs_define
class FailedMessage:
    """
    Attributes:
        attempts (int):
        channel_id (int | None):
        created_at (datetime.datetime):
        error (None | str):
        failed_at (datetime.datetime | None):
        id (int):
        provider_answer (None | str):
        reason (FailureReason): `refused` (the provider refused it for good), `gave_up` (temporary errors until the
            attempts ran out), `invalid_address`, `template` (could not be written from the
            template), `suppressed` (address blocked after acceptance), `sender_deleted`,
            `in_doubt` (maybe sent).
        state (FailedState):
        subject (str):
        tags (list[str]):
        to (str):
    """

    attempts: int
    channel_id: int | None
    created_at: datetime.datetime
    error: None | str
    failed_at: datetime.datetime | None
    id: int
    provider_answer: None | str
    reason: FailureReason
    state: FailedState
    subject: str
    tags: list[str]
    to: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempts = self.attempts

        channel_id: int | None
        channel_id = self.channel_id

        created_at = self.created_at.isoformat()

        error: None | str
        error = self.error

        failed_at: None | str
        if isinstance(self.failed_at, datetime.datetime):
            failed_at = self.failed_at.isoformat()
        else:
            failed_at = self.failed_at

        id = self.id

        provider_answer: None | str
        provider_answer = self.provider_answer

        reason = self.reason.value

        state = self.state.value

        subject = self.subject

        tags = self.tags

        to = self.to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts": attempts,
                "channel_id": channel_id,
                "created_at": created_at,
                "error": error,
                "failed_at": failed_at,
                "id": id,
                "provider_answer": provider_answer,
                "reason": reason,
                "state": state,
                "subject": subject,
                "tags": tags,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempts = d.pop("attempts")

        def _parse_channel_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        channel_id = _parse_channel_id(d.pop("channel_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        def _parse_failed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                failed_at_type_0 = datetime.datetime.fromisoformat(data)

                return failed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        failed_at = _parse_failed_at(d.pop("failed_at"))

        id = d.pop("id")

        def _parse_provider_answer(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        provider_answer = _parse_provider_answer(d.pop("provider_answer"))

        reason = FailureReason(d.pop("reason"))

        state = FailedState(d.pop("state"))

        subject = d.pop("subject")

        tags = cast(list[str], d.pop("tags"))

        to = d.pop("to")

        failed_message = cls(
            attempts=attempts,
            channel_id=channel_id,
            created_at=created_at,
            error=error,
            failed_at=failed_at,
            id=id,
            provider_answer=provider_answer,
            reason=reason,
            state=state,
            subject=subject,
            tags=tags,
            to=to,
        )

        failed_message.additional_properties = d
        return failed_message

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

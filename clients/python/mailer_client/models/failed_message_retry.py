from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.failed_state import FailedState
from ..types import UNSET, Unset

T = TypeVar("T", bound="FailedMessageRetry")


@_attrs_define
class FailedMessageRetry:
    """
    Attributes:
        channel (int | Unset):
        confirm_in_doubt (bool | Unset): Include messages in doubt, though they may already have been delivered.
        reason (str | Unset):
        since (datetime.datetime | Unset):
        state (FailedState | Unset):
        until (datetime.datetime | Unset):
    """

    channel: int | Unset = UNSET
    confirm_in_doubt: bool | Unset = UNSET
    reason: str | Unset = UNSET
    since: datetime.datetime | Unset = UNSET
    state: FailedState | Unset = UNSET
    until: datetime.datetime | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        channel = self.channel

        confirm_in_doubt = self.confirm_in_doubt

        reason = self.reason

        since: str | Unset = UNSET
        if not isinstance(self.since, Unset):
            since = self.since.isoformat()

        state: str | Unset = UNSET
        if not isinstance(self.state, Unset):
            state = self.state.value

        until: str | Unset = UNSET
        if not isinstance(self.until, Unset):
            until = self.until.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if channel is not UNSET:
            field_dict["channel"] = channel
        if confirm_in_doubt is not UNSET:
            field_dict["confirm_in_doubt"] = confirm_in_doubt
        if reason is not UNSET:
            field_dict["reason"] = reason
        if since is not UNSET:
            field_dict["since"] = since
        if state is not UNSET:
            field_dict["state"] = state
        if until is not UNSET:
            field_dict["until"] = until

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        channel = d.pop("channel", UNSET)

        confirm_in_doubt = d.pop("confirm_in_doubt", UNSET)

        reason = d.pop("reason", UNSET)

        _since = d.pop("since", UNSET)
        since: datetime.datetime | Unset
        if isinstance(_since, Unset):
            since = UNSET
        else:
            since = datetime.datetime.fromisoformat(_since)

        _state = d.pop("state", UNSET)
        state: FailedState | Unset
        if isinstance(_state, Unset):
            state = UNSET
        else:
            state = FailedState(_state)

        _until = d.pop("until", UNSET)
        until: datetime.datetime | Unset
        if isinstance(_until, Unset):
            until = UNSET
        else:
            until = datetime.datetime.fromisoformat(_until)

        failed_message_retry = cls(
            channel=channel,
            confirm_in_doubt=confirm_in_doubt,
            reason=reason,
            since=since,
            state=state,
            until=until,
        )

        return failed_message_retry

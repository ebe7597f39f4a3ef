import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.failed_message_page import FailedMessagePage
from ...models.failed_state import FailedState
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["channel"] = channel

    params["reason"] = reason

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    json_state: str | Unset = UNSET
    if not isinstance(state, Unset):
        json_state = state.value

    params["state"] = json_state

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/failed-messages",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | FailedMessagePage | None:
    if response.status_code == 200:
        response_200 = FailedMessagePage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | FailedMessagePage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[Error | FailedMessagePage]:
    """Transactional messages that failed, newest first

     As failed sends, for transactional messages; `failed_at` is the last attempt's time.
    A key without the `read` scope sees only the messages it sent.

    Args:
        channel (int | Unset):
        reason (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        state (FailedState | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | FailedMessagePage]
    """

    kwargs = _get_kwargs(
        channel=channel,
        reason=reason,
        since=since,
        until=until,
        state=state,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Error | FailedMessagePage | None:
    """Transactional messages that failed, newest first

     As failed sends, for transactional messages; `failed_at` is the last attempt's time.
    A key without the `read` scope sees only the messages it sent.

    Args:
        channel (int | Unset):
        reason (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        state (FailedState | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | FailedMessagePage
    """

    return sync_detailed(
        client=client,
        channel=channel,
        reason=reason,
        since=since,
        until=until,
        state=state,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[Error | FailedMessagePage]:
    """Transactional messages that failed, newest first

     As failed sends, for transactional messages; `failed_at` is the last attempt's time.
    A key without the `read` scope sees only the messages it sent.

    Args:
        channel (int | Unset):
        reason (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        state (FailedState | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | FailedMessagePage]
    """

    kwargs = _get_kwargs(
        channel=channel,
        reason=reason,
        since=since,
        until=until,
        state=state,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Error | FailedMessagePage | None:
    """Transactional messages that failed, newest first

     As failed sends, for transactional messages; `failed_at` is the last attempt's time.
    A key without the `read` scope sees only the messages it sent.

    Args:
        channel (int | Unset):
        reason (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        state (FailedState | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | FailedMessagePage
    """

    return (
        await asyncio_detailed(
            client=client,
            channel=channel,
            reason=reason,
            since=since,
            until=until,
            state=state,
            limit=limit,
            cursor=cursor,
        )
    ).parsed

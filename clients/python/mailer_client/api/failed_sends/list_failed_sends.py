import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.failed_send_page import FailedSendPage
from ...models.failed_state import FailedState
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    campaign: str | Unset = UNSET,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["campaign"] = campaign

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
        "url": "/api/v1/failed-sends",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | FailedSendPage | None:
    if response.status_code == 200:
        response_200 = FailedSendPage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

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
) -> Response[Error | FailedSendPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    campaign: str | Unset = UNSET,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[Error | FailedSendPage]:
    """Campaign sends that failed or are in doubt, newest first

     The dead-letter queue of campaigns. `state` is `failed` (the provider refused it, or
    temporary errors lasted until the attempts ran out, or Mailer could not write it) or
    `in_doubt` (handed to the provider when a worker stopped: nobody knows whether it was
    sent). `reason` is one of the codes below; `provider_answer` is what the provider said,
    when the reason is the provider's; `error` is the whole stored text.

    Args:
        campaign (str | Unset):
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
        Response[Error | FailedSendPage]
    """

    kwargs = _get_kwargs(
        campaign=campaign,
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
    campaign: str | Unset = UNSET,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Error | FailedSendPage | None:
    """Campaign sends that failed or are in doubt, newest first

     The dead-letter queue of campaigns. `state` is `failed` (the provider refused it, or
    temporary errors lasted until the attempts ran out, or Mailer could not write it) or
    `in_doubt` (handed to the provider when a worker stopped: nobody knows whether it was
    sent). `reason` is one of the codes below; `provider_answer` is what the provider said,
    when the reason is the provider's; `error` is the whole stored text.

    Args:
        campaign (str | Unset):
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
        Error | FailedSendPage
    """

    return sync_detailed(
        client=client,
        campaign=campaign,
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
    campaign: str | Unset = UNSET,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[Error | FailedSendPage]:
    """Campaign sends that failed or are in doubt, newest first

     The dead-letter queue of campaigns. `state` is `failed` (the provider refused it, or
    temporary errors lasted until the attempts ran out, or Mailer could not write it) or
    `in_doubt` (handed to the provider when a worker stopped: nobody knows whether it was
    sent). `reason` is one of the codes below; `provider_answer` is what the provider said,
    when the reason is the provider's; `error` is the whole stored text.

    Args:
        campaign (str | Unset):
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
        Response[Error | FailedSendPage]
    """

    kwargs = _get_kwargs(
        campaign=campaign,
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
    campaign: str | Unset = UNSET,
    channel: int | Unset = UNSET,
    reason: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    state: FailedState | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Error | FailedSendPage | None:
    """Campaign sends that failed or are in doubt, newest first

     The dead-letter queue of campaigns. `state` is `failed` (the provider refused it, or
    temporary errors lasted until the attempts ran out, or Mailer could not write it) or
    `in_doubt` (handed to the provider when a worker stopped: nobody knows whether it was
    sent). `reason` is one of the codes below; `provider_answer` is what the provider said,
    when the reason is the provider's; `error` is the whole stored text.

    Args:
        campaign (str | Unset):
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
        Error | FailedSendPage
    """

    return (
        await asyncio_detailed(
            client=client,
            campaign=campaign,
            channel=channel,
            reason=reason,
            since=since,
            until=until,
            state=state,
            limit=limit,
            cursor=cursor,
        )
    ).parsed

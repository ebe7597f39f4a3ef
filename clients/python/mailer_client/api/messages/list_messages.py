from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.list_messages_response_200 import ListMessagesResponse200
from ...models.list_messages_status import ListMessagesStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: ListMessagesStatus | Unset = UNSET,
    tag: str | Unset = UNSET,
    to: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["tag"] = tag

    params["to"] = to

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/messages",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | ListMessagesResponse200 | None:
    if response.status_code == 200:
        response_200 = ListMessagesResponse200.from_dict(response.json())

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
) -> Response[Error | ListMessagesResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: ListMessagesStatus | Unset = UNSET,
    tag: str | Unset = UNSET,
    to: str | Unset = UNSET,
) -> Response[Error | ListMessagesResponse200]:
    """List transactional messages, newest first

     Keys with the `read` scope see every message; a key with only `send` sees the
    messages it sent. Filters combine.

    Args:
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):
        status (ListMessagesStatus | Unset):
        tag (str | Unset):
        to (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ListMessagesResponse200]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        tag=tag,
        to=to,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: ListMessagesStatus | Unset = UNSET,
    tag: str | Unset = UNSET,
    to: str | Unset = UNSET,
) -> Error | ListMessagesResponse200 | None:
    """List transactional messages, newest first

     Keys with the `read` scope see every message; a key with only `send` sees the
    messages it sent. Filters combine.

    Args:
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):
        status (ListMessagesStatus | Unset):
        tag (str | Unset):
        to (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | ListMessagesResponse200
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        status=status,
        tag=tag,
        to=to,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: ListMessagesStatus | Unset = UNSET,
    tag: str | Unset = UNSET,
    to: str | Unset = UNSET,
) -> Response[Error | ListMessagesResponse200]:
    """List transactional messages, newest first

     Keys with the `read` scope see every message; a key with only `send` sees the
    messages it sent. Filters combine.

    Args:
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):
        status (ListMessagesStatus | Unset):
        tag (str | Unset):
        to (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ListMessagesResponse200]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        tag=tag,
        to=to,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: ListMessagesStatus | Unset = UNSET,
    tag: str | Unset = UNSET,
    to: str | Unset = UNSET,
) -> Error | ListMessagesResponse200 | None:
    """List transactional messages, newest first

     Keys with the `read` scope see every message; a key with only `send` sees the
    messages it sent. Filters combine.

    Args:
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):
        status (ListMessagesStatus | Unset):
        tag (str | Unset):
        to (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | ListMessagesResponse200
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            status=status,
            tag=tag,
            to=to,
        )
    ).parsed

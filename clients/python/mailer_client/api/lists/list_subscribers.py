from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.subscriber_page import SubscriberPage
from ...models.subscriber_status import SubscriberStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    list_id: int,
    *,
    status: SubscriberStatus | Unset = UNSET,
    email: str | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["email"] = email

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/lists/{list_id}/subscribers".format(
            list_id=quote(str(list_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | SubscriberPage | None:
    if response.status_code == 200:
        response_200 = SubscriberPage.from_dict(response.json())

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
) -> Response[Error | SubscriberPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    list_id: int,
    *,
    client: AuthenticatedClient | Client,
    status: SubscriberStatus | Unset = UNSET,
    email: str | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[Error | SubscriberPage]:
    """A list's subscribers, newest first, filtered by status and address

    Args:
        list_id (int):
        status (SubscriberStatus | Unset): unconfirmed: asked to confirm by email and not done
            yet; never mailed by campaigns.
        email (str | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | SubscriberPage]
    """

    kwargs = _get_kwargs(
        list_id=list_id,
        status=status,
        email=email,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    list_id: int,
    *,
    client: AuthenticatedClient | Client,
    status: SubscriberStatus | Unset = UNSET,
    email: str | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Error | SubscriberPage | None:
    """A list's subscribers, newest first, filtered by status and address

    Args:
        list_id (int):
        status (SubscriberStatus | Unset): unconfirmed: asked to confirm by email and not done
            yet; never mailed by campaigns.
        email (str | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | SubscriberPage
    """

    return sync_detailed(
        list_id=list_id,
        client=client,
        status=status,
        email=email,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    list_id: int,
    *,
    client: AuthenticatedClient | Client,
    status: SubscriberStatus | Unset = UNSET,
    email: str | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[Error | SubscriberPage]:
    """A list's subscribers, newest first, filtered by status and address

    Args:
        list_id (int):
        status (SubscriberStatus | Unset): unconfirmed: asked to confirm by email and not done
            yet; never mailed by campaigns.
        email (str | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | SubscriberPage]
    """

    kwargs = _get_kwargs(
        list_id=list_id,
        status=status,
        email=email,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    list_id: int,
    *,
    client: AuthenticatedClient | Client,
    status: SubscriberStatus | Unset = UNSET,
    email: str | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Error | SubscriberPage | None:
    """A list's subscribers, newest first, filtered by status and address

    Args:
        list_id (int):
        status (SubscriberStatus | Unset): unconfirmed: asked to confirm by email and not done
            yet; never mailed by campaigns.
        email (str | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | SubscriberPage
    """

    return (
        await asyncio_detailed(
            list_id=list_id,
            client=client,
            status=status,
            email=email,
            limit=limit,
            cursor=cursor,
        )
    ).parsed

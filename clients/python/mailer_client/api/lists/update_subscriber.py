from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.subscriber import Subscriber
from ...models.subscriber_patch import SubscriberPatch
from ...types import Response


def _get_kwargs(
    list_id: int,
    subscriber_id: int,
    *,
    body: SubscriberPatch,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/lists/{list_id}/subscribers/{subscriber_id}".format(
            list_id=quote(str(list_id), safe=""),
            subscriber_id=quote(str(subscriber_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | Subscriber | None:
    if response.status_code == 200:
        response_200 = Subscriber.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | Subscriber]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    list_id: int,
    subscriber_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: SubscriberPatch,
) -> Response[Error | Subscriber]:
    """Change a subscriber's names, attributes (replaced whole) or status

    Args:
        list_id (int):
        subscriber_id (int):
        body (SubscriberPatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Subscriber]
    """

    kwargs = _get_kwargs(
        list_id=list_id,
        subscriber_id=subscriber_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    list_id: int,
    subscriber_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: SubscriberPatch,
) -> Error | Subscriber | None:
    """Change a subscriber's names, attributes (replaced whole) or status

    Args:
        list_id (int):
        subscriber_id (int):
        body (SubscriberPatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Subscriber
    """

    return sync_detailed(
        list_id=list_id,
        subscriber_id=subscriber_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    list_id: int,
    subscriber_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: SubscriberPatch,
) -> Response[Error | Subscriber]:
    """Change a subscriber's names, attributes (replaced whole) or status

    Args:
        list_id (int):
        subscriber_id (int):
        body (SubscriberPatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Subscriber]
    """

    kwargs = _get_kwargs(
        list_id=list_id,
        subscriber_id=subscriber_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    list_id: int,
    subscriber_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: SubscriberPatch,
) -> Error | Subscriber | None:
    """Change a subscriber's names, attributes (replaced whole) or status

    Args:
        list_id (int):
        subscriber_id (int):
        body (SubscriberPatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Subscriber
    """

    return (
        await asyncio_detailed(
            list_id=list_id,
            subscriber_id=subscriber_id,
            client=client,
            body=body,
        )
    ).parsed

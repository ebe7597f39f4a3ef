from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.campaign_stats import CampaignStats
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    ref: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/campaigns/{ref}/stats".format(
            ref=quote(str(ref), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CampaignStats | Error | None:
    if response.status_code == 200:
        response_200 = CampaignStats.from_dict(response.json())

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

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CampaignStats | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    ref: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CampaignStats | Error]:
    """A campaign's figures

     Where every recipient stands (sent, failed, suppressed, in doubt, cancelled, remaining)
    and what they did (deliveries, opens, clicks, bounces, complaints, unsubscribes).
    Unique opens and clicks count recipients; `unique_human` leaves out machine activity
    (image proxies, link scanners). Rates are fractions (0.25 = 25 %) over delivered
    messages once the provider reports deliveries, over sent ones until then; null when
    nothing was sent yet.

    Args:
        ref (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CampaignStats | Error]
    """

    kwargs = _get_kwargs(
        ref=ref,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    ref: str,
    *,
    client: AuthenticatedClient | Client,
) -> CampaignStats | Error | None:
    """A campaign's figures

     Where every recipient stands (sent, failed, suppressed, in doubt, cancelled, remaining)
    and what they did (deliveries, opens, clicks, bounces, complaints, unsubscribes).
    Unique opens and clicks count recipients; `unique_human` leaves out machine activity
    (image proxies, link scanners). Rates are fractions (0.25 = 25 %) over delivered
    messages once the provider reports deliveries, over sent ones until then; null when
    nothing was sent yet.

    Args:
        ref (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CampaignStats | Error
    """

    return sync_detailed(
        ref=ref,
        client=client,
    ).parsed


async def asyncio_detailed(
    ref: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CampaignStats | Error]:
    """A campaign's figures

     Where every recipient stands (sent, failed, suppressed, in doubt, cancelled, remaining)
    and what they did (deliveries, opens, clicks, bounces, complaints, unsubscribes).
    Unique opens and clicks count recipients; `unique_human` leaves out machine activity
    (image proxies, link scanners). Rates are fractions (0.25 = 25 %) over delivered
    messages once the provider reports deliveries, over sent ones until then; null when
    nothing was sent yet.

    Args:
        ref (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CampaignStats | Error]
    """

    kwargs = _get_kwargs(
        ref=ref,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    ref: str,
    *,
    client: AuthenticatedClient | Client,
) -> CampaignStats | Error | None:
    """A campaign's figures

     Where every recipient stands (sent, failed, suppressed, in doubt, cancelled, remaining)
    and what they did (deliveries, opens, clicks, bounces, complaints, unsubscribes).
    Unique opens and clicks count recipients; `unique_human` leaves out machine activity
    (image proxies, link scanners). Rates are fractions (0.25 = 25 %) over delivered
    messages once the provider reports deliveries, over sent ones until then; null when
    nothing was sent yet.

    Args:
        ref (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CampaignStats | Error
    """

    return (
        await asyncio_detailed(
            ref=ref,
            client=client,
        )
    ).parsed

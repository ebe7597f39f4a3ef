from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.failed_send_retry import FailedSendRetry
from ...models.retry_result import RetryResult
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: FailedSendRetry | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/failed-sends/retry",
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | RetryResult | None:
    if response.status_code == 200:
        response_200 = RetryResult.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = RetryResult.from_dict(response.json())

        return response_202

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | RetryResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FailedSendRetry | Unset = UNSET,
) -> Response[Error | RetryResult]:
    """Send again every failed send matching a filter (or all)

     The body takes the list's filters (none: every failed send). Sends go back to the
    queue, due now; a completed campaign runs again while they go out, a paused one sends
    them when resumed; cancelled, failed and archived campaigns send nothing again
    (counted in `not_retryable`). Sends in doubt may already have been delivered: they are
    left alone (counted in `in_doubt_skipped`) unless `confirm_in_doubt` is true.
    Up to MAILER_RETRY_BATCH (1000) are retried at once (200); past that a job retries them
    all (202, `queued: true`, `matching` says how many).

    Args:
        body (FailedSendRetry | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RetryResult]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: FailedSendRetry | Unset = UNSET,
) -> Error | RetryResult | None:
    """Send again every failed send matching a filter (or all)

     The body takes the list's filters (none: every failed send). Sends go back to the
    queue, due now; a completed campaign runs again while they go out, a paused one sends
    them when resumed; cancelled, failed and archived campaigns send nothing again
    (counted in `not_retryable`). Sends in doubt may already have been delivered: they are
    left alone (counted in `in_doubt_skipped`) unless `confirm_in_doubt` is true.
    Up to MAILER_RETRY_BATCH (1000) are retried at once (200); past that a job retries them
    all (202, `queued: true`, `matching` says how many).

    Args:
        body (FailedSendRetry | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RetryResult
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FailedSendRetry | Unset = UNSET,
) -> Response[Error | RetryResult]:
    """Send again every failed send matching a filter (or all)

     The body takes the list's filters (none: every failed send). Sends go back to the
    queue, due now; a completed campaign runs again while they go out, a paused one sends
    them when resumed; cancelled, failed and archived campaigns send nothing again
    (counted in `not_retryable`). Sends in doubt may already have been delivered: they are
    left alone (counted in `in_doubt_skipped`) unless `confirm_in_doubt` is true.
    Up to MAILER_RETRY_BATCH (1000) are retried at once (200); past that a job retries them
    all (202, `queued: true`, `matching` says how many).

    Args:
        body (FailedSendRetry | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RetryResult]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: FailedSendRetry | Unset = UNSET,
) -> Error | RetryResult | None:
    """Send again every failed send matching a filter (or all)

     The body takes the list's filters (none: every failed send). Sends go back to the
    queue, due now; a completed campaign runs again while they go out, a paused one sends
    them when resumed; cancelled, failed and archived campaigns send nothing again
    (counted in `not_retryable`). Sends in doubt may already have been delivered: they are
    left alone (counted in `in_doubt_skipped`) unless `confirm_in_doubt` is true.
    Up to MAILER_RETRY_BATCH (1000) are retried at once (200); past that a job retries them
    all (202, `queued: true`, `matching` says how many).

    Args:
        body (FailedSendRetry | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RetryResult
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.webhook_endpoint_input import WebhookEndpointInput
from ...models.webhook_endpoint_with_secret import WebhookEndpointWithSecret
from ...types import Response


def _get_kwargs(
    *,
    body: WebhookEndpointInput,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/webhook-endpoints",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | WebhookEndpointWithSecret | None:
    if response.status_code == 201:
        response_201 = WebhookEndpointWithSecret.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | WebhookEndpointWithSecret]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: WebhookEndpointInput,
) -> Response[Error | WebhookEndpointWithSecret]:
    """Create an endpoint; the answer shows its signing secret, once

     Events of the chosen types are posted to the URL as JSON (see this document's
    `webhooks`), signed as Standard Webhooks: `webhook-id`, `webhook-timestamp` and
    `webhook-signature: v1,<base64>`, verifiable with any Standard Webhooks library and the
    `whsec_…` secret of this answer. The secret is shown only here and when rotated; store
    it. No `Idempotency-Key`: the answer holds the secret, which Mailer never stores in the
    clear. The URL must reach a public address (private ones only when the server allows
    them).

    Args:
        body (WebhookEndpointInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | WebhookEndpointWithSecret]
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
    body: WebhookEndpointInput,
) -> Error | WebhookEndpointWithSecret | None:
    """Create an endpoint; the answer shows its signing secret, once

     Events of the chosen types are posted to the URL as JSON (see this document's
    `webhooks`), signed as Standard Webhooks: `webhook-id`, `webhook-timestamp` and
    `webhook-signature: v1,<base64>`, verifiable with any Standard Webhooks library and the
    `whsec_…` secret of this answer. The secret is shown only here and when rotated; store
    it. No `Idempotency-Key`: the answer holds the secret, which Mailer never stores in the
    clear. The URL must reach a public address (private ones only when the server allows
    them).

    Args:
        body (WebhookEndpointInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | WebhookEndpointWithSecret
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: WebhookEndpointInput,
) -> Response[Error | WebhookEndpointWithSecret]:
    """Create an endpoint; the answer shows its signing secret, once

     Events of the chosen types are posted to the URL as JSON (see this document's
    `webhooks`), signed as Standard Webhooks: `webhook-id`, `webhook-timestamp` and
    `webhook-signature: v1,<base64>`, verifiable with any Standard Webhooks library and the
    `whsec_…` secret of this answer. The secret is shown only here and when rotated; store
    it. No `Idempotency-Key`: the answer holds the secret, which Mailer never stores in the
    clear. The URL must reach a public address (private ones only when the server allows
    them).

    Args:
        body (WebhookEndpointInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | WebhookEndpointWithSecret]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: WebhookEndpointInput,
) -> Error | WebhookEndpointWithSecret | None:
    """Create an endpoint; the answer shows its signing secret, once

     Events of the chosen types are posted to the URL as JSON (see this document's
    `webhooks`), signed as Standard Webhooks: `webhook-id`, `webhook-timestamp` and
    `webhook-signature: v1,<base64>`, verifiable with any Standard Webhooks library and the
    `whsec_…` secret of this answer. The secret is shown only here and when rotated; store
    it. No `Idempotency-Key`: the answer holds the secret, which Mailer never stores in the
    clear. The URL must reach a public address (private ones only when the server allows
    them).

    Args:
        body (WebhookEndpointInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | WebhookEndpointWithSecret
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

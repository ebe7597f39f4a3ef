from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.message_batch_in import MessageBatchIn
from ...models.message_batch_queued import MessageBatchQueued
from ...models.message_in import MessageIn
from ...models.message_queued import MessageQueued
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: MessageBatchIn | MessageIn,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/messages",
    }

    if isinstance(body, MessageIn):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | MessageBatchQueued | MessageQueued | None:
    if response.status_code == 202:

        def _parse_response_202(data: object) -> MessageBatchQueued | MessageQueued:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_202_type_0 = MessageQueued.from_dict(data)

                return response_202_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_202_type_1 = MessageBatchQueued.from_dict(data)

            return response_202_type_1

        response_202 = _parse_response_202(response.json())

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

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

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
) -> Response[Error | MessageBatchQueued | MessageQueued]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: MessageBatchIn | MessageIn,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | MessageBatchQueued | MessageQueued]:
    """Send one transactional message, or a batch

     The body is either one message, or `{"messages": [...]}` with up to 500 of them
    (`MAILER_API_MAX_BATCH`). Messages are queued at once and sent by workers; the answer
    (202) carries their ids. Any invalid field refuses the whole request (422, every
    problem with its path, e.g. `$.messages[3].to`); nothing is queued then.

    A recipient on the suppression list is refused: a single message answers 422 with
    code `recipient_suppressed`; in a batch that item is refused with the reason and the
    others are queued.

    Content: `html` and/or `text` (sent as given; a text part is generated from HTML-only
    messages), or a `template_id` whose template is rendered with `variables` (the
    template's subject unless `subject` is given). A template variable that `variables`
    does not give is a 422 naming it. Variables are used as given, also `first_name`,
    `last_name`, `name` and `email` (default: empty, and `to` for `email`); a name the
    template language keeps for itself (`attributes`, `range`, `dict`, `cycler`,
    `joiner`, `namespace`) is a 422. The subject is rendered when the message is
    accepted (a 422 if it cannot be), and the message shows it as sent. `from` is a
    sender identity's id or address (default: the first identity); `channel` a channel's
    id or name (default: the first active one).
    Opens are tracked with a pixel in HTML unless `track_opens` is false; clicks through
    the HTML's http(s) links (rewritten to a redirect when sent) unless `track_clicks` is
    false.

    Send an `Idempotency-Key` to retry safely: the same key and body answer the first
    answer again and send nothing twice.

    Args:
        idempotency_key (str | Unset):
        body (MessageBatchIn | MessageIn): One message, or `{"messages": [...]}` (a batch, at most
            500).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | MessageBatchQueued | MessageQueued]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: MessageBatchIn | MessageIn,
    idempotency_key: str | Unset = UNSET,
) -> Error | MessageBatchQueued | MessageQueued | None:
    """Send one transactional message, or a batch

     The body is either one message, or `{"messages": [...]}` with up to 500 of them
    (`MAILER_API_MAX_BATCH`). Messages are queued at once and sent by workers; the answer
    (202) carries their ids. Any invalid field refuses the whole request (422, every
    problem with its path, e.g. `$.messages[3].to`); nothing is queued then.

    A recipient on the suppression list is refused: a single message answers 422 with
    code `recipient_suppressed`; in a batch that item is refused with the reason and the
    others are queued.

    Content: `html` and/or `text` (sent as given; a text part is generated from HTML-only
    messages), or a `template_id` whose template is rendered with `variables` (the
    template's subject unless `subject` is given). A template variable that `variables`
    does not give is a 422 naming it. Variables are used as given, also `first_name`,
    `last_name`, `name` and `email` (default: empty, and `to` for `email`); a name the
    template language keeps for itself (`attributes`, `range`, `dict`, `cycler`,
    `joiner`, `namespace`) is a 422. The subject is rendered when the message is
    accepted (a 422 if it cannot be), and the message shows it as sent. `from` is a
    sender identity's id or address (default: the first identity); `channel` a channel's
    id or name (default: the first active one).
    Opens are tracked with a pixel in HTML unless `track_opens` is false; clicks through
    the HTML's http(s) links (rewritten to a redirect when sent) unless `track_clicks` is
    false.

    Send an `Idempotency-Key` to retry safely: the same key and body answer the first
    answer again and send nothing twice.

    Args:
        idempotency_key (str | Unset):
        body (MessageBatchIn | MessageIn): One message, or `{"messages": [...]}` (a batch, at most
            500).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | MessageBatchQueued | MessageQueued
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: MessageBatchIn | MessageIn,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | MessageBatchQueued | MessageQueued]:
    """Send one transactional message, or a batch

     The body is either one message, or `{"messages": [...]}` with up to 500 of them
    (`MAILER_API_MAX_BATCH`). Messages are queued at once and sent by workers; the answer
    (202) carries their ids. Any invalid field refuses the whole request (422, every
    problem with its path, e.g. `$.messages[3].to`); nothing is queued then.

    A recipient on the suppression list is refused: a single message answers 422 with
    code `recipient_suppressed`; in a batch that item is refused with the reason and the
    others are queued.

    Content: `html` and/or `text` (sent as given; a text part is generated from HTML-only
    messages), or a `template_id` whose template is rendered with `variables` (the
    template's subject unless `subject` is given). A template variable that `variables`
    does not give is a 422 naming it. Variables are used as given, also `first_name`,
    `last_name`, `name` and `email` (default: empty, and `to` for `email`); a name the
    template language keeps for itself (`attributes`, `range`, `dict`, `cycler`,
    `joiner`, `namespace`) is a 422. The subject is rendered when the message is
    accepted (a 422 if it cannot be), and the message shows it as sent. `from` is a
    sender identity's id or address (default: the first identity); `channel` a channel's
    id or name (default: the first active one).
    Opens are tracked with a pixel in HTML unless `track_opens` is false; clicks through
    the HTML's http(s) links (rewritten to a redirect when sent) unless `track_clicks` is
    false.

    Send an `Idempotency-Key` to retry safely: the same key and body answer the first
    answer again and send nothing twice.

    Args:
        idempotency_key (str | Unset):
        body (MessageBatchIn | MessageIn): One message, or `{"messages": [...]}` (a batch, at most
            500).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | MessageBatchQueued | MessageQueued]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: MessageBatchIn | MessageIn,
    idempotency_key: str | Unset = UNSET,
) -> Error | MessageBatchQueued | MessageQueued | None:
    """Send one transactional message, or a batch

     The body is either one message, or `{"messages": [...]}` with up to 500 of them
    (`MAILER_API_MAX_BATCH`). Messages are queued at once and sent by workers; the answer
    (202) carries their ids. Any invalid field refuses the whole request (422, every
    problem with its path, e.g. `$.messages[3].to`); nothing is queued then.

    A recipient on the suppression list is refused: a single message answers 422 with
    code `recipient_suppressed`; in a batch that item is refused with the reason and the
    others are queued.

    Content: `html` and/or `text` (sent as given; a text part is generated from HTML-only
    messages), or a `template_id` whose template is rendered with `variables` (the
    template's subject unless `subject` is given). A template variable that `variables`
    does not give is a 422 naming it. Variables are used as given, also `first_name`,
    `last_name`, `name` and `email` (default: empty, and `to` for `email`); a name the
    template language keeps for itself (`attributes`, `range`, `dict`, `cycler`,
    `joiner`, `namespace`) is a 422. The subject is rendered when the message is
    accepted (a 422 if it cannot be), and the message shows it as sent. `from` is a
    sender identity's id or address (default: the first identity); `channel` a channel's
    id or name (default: the first active one).
    Opens are tracked with a pixel in HTML unless `track_opens` is false; clicks through
    the HTML's http(s) links (rewritten to a redirect when sent) unless `track_clicks` is
    false.

    Send an `Idempotency-Key` to retry safely: the same key and body answer the first
    answer again and send nothing twice.

    Args:
        idempotency_key (str | Unset):
        body (MessageBatchIn | MessageIn): One message, or `{"messages": [...]}` (a batch, at most
            500).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | MessageBatchQueued | MessageQueued
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed

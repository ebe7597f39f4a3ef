from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.campaign import Campaign
from ...models.campaign_document import CampaignDocument
from ...models.client_campaign_document import ClientCampaignDocument
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CampaignDocument | ClientCampaignDocument,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/campaigns",
    }

    if isinstance(body, CampaignDocument):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Campaign | Error | None:
    if response.status_code == 201:
        response_201 = Campaign.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Campaign | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CampaignDocument | ClientCampaignDocument,
    idempotency_key: str | Unset = UNSET,
) -> Response[Campaign | Error]:
    """Schedule a campaign from a campaign document

     Send the campaign document your team already produces: the campaign's own id, its date,
    its default template, and its segments, each with a list name, an optional template of
    its own and recipients with personalisation fields.

    Two shapes are accepted (a document is one or the other, never a mix): Mailer's field
    names (`CampaignDocument`: `id`, `template`, `list`, `email`, `fields`), or the client
    teams' (`ClientCampaignDocument`: `campaign_id`, `templateS3Uri`, `list_name`,
    `to_address`, personalisation fields beside the address). A document with
    `campaign_id` is read in the client teams' names, and its errors use them too.

    A template may be given by its address: `s3://bucket/key` (read with Mailer's AWS
    credentials) or an `https://` URL on a public address. Its HTML becomes a template of
    the library, named after the address, and is reused while the object is unchanged (same
    ETag); its `<title>` is the default subject. An address that cannot be read (no such
    bucket or object, access denied, not HTML, larger than 1,000,000 bytes, no answer in
    time) is a 422 naming the field.

    A template variable that some recipients lack and that has no default in the template
    (`{{ first_name | default("there") }}` has one; `{% if first_name %}` counts too) is
    refused: the segment is named with a count per variable, and the first 50 such
    recipients by their path (`$.segments[1].recipients[4]`). Values stored for contacts
    already on the list count. Mailer's own variables (`email`, `unsubscribe_url`, ...) are
    never missing. `"allow_missing_variables": true` sends them with blanks instead.

    Everything is checked first, with the same rules as the campaign pages (subject and
    template errors, an unsubscribe link in every template, active channels, channel row
    limits, a date in the future). Every problem is listed with its JSON path, e.g.
    `$.segments[1].recipients[3].email`, and then **nothing** is created: no list, no
    subscriber, no campaign.

    When the document is valid: each segment's list is found by its exact name or created;
    its recipients are added to it or updated (first_name, last_name and name fill the
    contact's columns, `fields` are merged into its attributes; an unsubscribed contact
    stays unsubscribed, suppressed addresses are left out at launch); the campaign is
    created with one audience entry per segment and scheduled for its date. The minute
    tick launches it when the date comes. A recipient listed in several segments gets one
    email, rendered with the template of the first segment that lists them.

    `subject` defaults to the default template's subject (segments use the same subject).
    `channels` may be left out only when exactly one active channel and one sender exist.
    Templates are referred to by id or by exact name, channels by id or name, senders by id,
    name or from address. The campaign keeps a copy of each template: editing a template
    later does not change this campaign.

    Args:
        idempotency_key (str | Unset):
        body (CampaignDocument | ClientCampaignDocument):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Campaign | Error]
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
    client: AuthenticatedClient | Client,
    body: CampaignDocument | ClientCampaignDocument,
    idempotency_key: str | Unset = UNSET,
) -> Campaign | Error | None:
    """Schedule a campaign from a campaign document

     Send the campaign document your team already produces: the campaign's own id, its date,
    its default template, and its segments, each with a list name, an optional template of
    its own and recipients with personalisation fields.

    Two shapes are accepted (a document is one or the other, never a mix): Mailer's field
    names (`CampaignDocument`: `id`, `template`, `list`, `email`, `fields`), or the client
    teams' (`ClientCampaignDocument`: `campaign_id`, `templateS3Uri`, `list_name`,
    `to_address`, personalisation fields beside the address). A document with
    `campaign_id` is read in the client teams' names, and its errors use them too.

    A template may be given by its address: `s3://bucket/key` (read with Mailer's AWS
    credentials) or an `https://` URL on a public address. Its HTML becomes a template of
    the library, named after the address, and is reused while the object is unchanged (same
    ETag); its `<title>` is the default subject. An address that cannot be read (no such
    bucket or object, access denied, not HTML, larger than 1,000,000 bytes, no answer in
    time) is a 422 naming the field.

    A template variable that some recipients lack and that has no default in the template
    (`{{ first_name | default("there") }}` has one; `{% if first_name %}` counts too) is
    refused: the segment is named with a count per variable, and the first 50 such
    recipients by their path (`$.segments[1].recipients[4]`). Values stored for contacts
    already on the list count. Mailer's own variables (`email`, `unsubscribe_url`, ...) are
    never missing. `"allow_missing_variables": true` sends them with blanks instead.

    Everything is checked first, with the same rules as the campaign pages (subject and
    template errors, an unsubscribe link in every template, active channels, channel row
    limits, a date in the future). Every problem is listed with its JSON path, e.g.
    `$.segments[1].recipients[3].email`, and then **nothing** is created: no list, no
    subscriber, no campaign.

    When the document is valid: each segment's list is found by its exact name or created;
    its recipients are added to it or updated (first_name, last_name and name fill the
    contact's columns, `fields` are merged into its attributes; an unsubscribed contact
    stays unsubscribed, suppressed addresses are left out at launch); the campaign is
    created with one audience entry per segment and scheduled for its date. The minute
    tick launches it when the date comes. A recipient listed in several segments gets one
    email, rendered with the template of the first segment that lists them.

    `subject` defaults to the default template's subject (segments use the same subject).
    `channels` may be left out only when exactly one active channel and one sender exist.
    Templates are referred to by id or by exact name, channels by id or name, senders by id,
    name or from address. The campaign keeps a copy of each template: editing a template
    later does not change this campaign.

    Args:
        idempotency_key (str | Unset):
        body (CampaignDocument | ClientCampaignDocument):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Campaign | Error
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CampaignDocument | ClientCampaignDocument,
    idempotency_key: str | Unset = UNSET,
) -> Response[Campaign | Error]:
    """Schedule a campaign from a campaign document

     Send the campaign document your team already produces: the campaign's own id, its date,
    its default template, and its segments, each with a list name, an optional template of
    its own and recipients with personalisation fields.

    Two shapes are accepted (a document is one or the other, never a mix): Mailer's field
    names (`CampaignDocument`: `id`, `template`, `list`, `email`, `fields`), or the client
    teams' (`ClientCampaignDocument`: `campaign_id`, `templateS3Uri`, `list_name`,
    `to_address`, personalisation fields beside the address). A document with
    `campaign_id` is read in the client teams' names, and its errors use them too.

    A template may be given by its address: `s3://bucket/key` (read with Mailer's AWS
    credentials) or an `https://` URL on a public address. Its HTML becomes a template of
    the library, named after the address, and is reused while the object is unchanged (same
    ETag); its `<title>` is the default subject. An address that cannot be read (no such
    bucket or object, access denied, not HTML, larger than 1,000,000 bytes, no answer in
    time) is a 422 naming the field.

    A template variable that some recipients lack and that has no default in the template
    (`{{ first_name | default("there") }}` has one; `{% if first_name %}` counts too) is
    refused: the segment is named with a count per variable, and the first 50 such
    recipients by their path (`$.segments[1].recipients[4]`). Values stored for contacts
    already on the list count. Mailer's own variables (`email`, `unsubscribe_url`, ...) are
    never missing. `"allow_missing_variables": true` sends them with blanks instead.

    Everything is checked first, with the same rules as the campaign pages (subject and
    template errors, an unsubscribe link in every template, active channels, channel row
    limits, a date in the future). Every problem is listed with its JSON path, e.g.
    `$.segments[1].recipients[3].email`, and then **nothing** is created: no list, no
    subscriber, no campaign.

    When the document is valid: each segment's list is found by its exact name or created;
    its recipients are added to it or updated (first_name, last_name and name fill the
    contact's columns, `fields` are merged into its attributes; an unsubscribed contact
    stays unsubscribed, suppressed addresses are left out at launch); the campaign is
    created with one audience entry per segment and scheduled for its date. The minute
    tick launches it when the date comes. A recipient listed in several segments gets one
    email, rendered with the template of the first segment that lists them.

    `subject` defaults to the default template's subject (segments use the same subject).
    `channels` may be left out only when exactly one active channel and one sender exist.
    Templates are referred to by id or by exact name, channels by id or name, senders by id,
    name or from address. The campaign keeps a copy of each template: editing a template
    later does not change this campaign.

    Args:
        idempotency_key (str | Unset):
        body (CampaignDocument | ClientCampaignDocument):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Campaign | Error]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CampaignDocument | ClientCampaignDocument,
    idempotency_key: str | Unset = UNSET,
) -> Campaign | Error | None:
    """Schedule a campaign from a campaign document

     Send the campaign document your team already produces: the campaign's own id, its date,
    its default template, and its segments, each with a list name, an optional template of
    its own and recipients with personalisation fields.

    Two shapes are accepted (a document is one or the other, never a mix): Mailer's field
    names (`CampaignDocument`: `id`, `template`, `list`, `email`, `fields`), or the client
    teams' (`ClientCampaignDocument`: `campaign_id`, `templateS3Uri`, `list_name`,
    `to_address`, personalisation fields beside the address). A document with
    `campaign_id` is read in the client teams' names, and its errors use them too.

    A template may be given by its address: `s3://bucket/key` (read with Mailer's AWS
    credentials) or an `https://` URL on a public address. Its HTML becomes a template of
    the library, named after the address, and is reused while the object is unchanged (same
    ETag); its `<title>` is the default subject. An address that cannot be read (no such
    bucket or object, access denied, not HTML, larger than 1,000,000 bytes, no answer in
    time) is a 422 naming the field.

    A template variable that some recipients lack and that has no default in the template
    (`{{ first_name | default("there") }}` has one; `{% if first_name %}` counts too) is
    refused: the segment is named with a count per variable, and the first 50 such
    recipients by their path (`$.segments[1].recipients[4]`). Values stored for contacts
    already on the list count. Mailer's own variables (`email`, `unsubscribe_url`, ...) are
    never missing. `"allow_missing_variables": true` sends them with blanks instead.

    Everything is checked first, with the same rules as the campaign pages (subject and
    template errors, an unsubscribe link in every template, active channels, channel row
    limits, a date in the future). Every problem is listed with its JSON path, e.g.
    `$.segments[1].recipients[3].email`, and then **nothing** is created: no list, no
    subscriber, no campaign.

    When the document is valid: each segment's list is found by its exact name or created;
    its recipients are added to it or updated (first_name, last_name and name fill the
    contact's columns, `fields` are merged into its attributes; an unsubscribed contact
    stays unsubscribed, suppressed addresses are left out at launch); the campaign is
    created with one audience entry per segment and scheduled for its date. The minute
    tick launches it when the date comes. A recipient listed in several segments gets one
    email, rendered with the template of the first segment that lists them.

    `subject` defaults to the default template's subject (segments use the same subject).
    `channels` may be left out only when exactly one active channel and one sender exist.
    Templates are referred to by id or by exact name, channels by id or name, senders by id,
    name or from address. The campaign keeps a copy of each template: editing a template
    later does not change this campaign.

    Args:
        idempotency_key (str | Unset):
        body (CampaignDocument | ClientCampaignDocument):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Campaign | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed

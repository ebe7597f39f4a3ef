from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.contact_import import ContactImport
from ...models.error import Error
from ...models.import_upload import ImportUpload
from ...types import Response


def _get_kwargs(
    list_id: int,
    *,
    body: ImportUpload,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/lists/{list_id}/imports".format(
            list_id=quote(str(list_id), safe=""),
        ),
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ContactImport | Error | None:
    if response.status_code == 202:
        response_202 = ContactImport.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ContactImport | Error]:
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
    body: ImportUpload,
) -> Response[ContactImport | Error]:
    """Import a contact file into a list

     Upload a JSON array, NDJSON or CSV file as multipart/form-data. The file is checked
    (format, email field) at once, then imported by a worker: poll the import for progress.
    Rejected rows are reported in a CSV (`links.rejected_rows`) once the import is over.
    Fields are matched by name, without the web pages' mapping step: the email field is
    `email`, `e-mail`, `email address` or `mail`; `first_name`, `last_name` and `name`
    fill those fields; every other field becomes an attribute as it is, except an
    `attributes` object (or, in CSV, a cell holding a JSON object), whose keys are merged
    into the attributes.

    Args:
        list_id (int):
        body (ImportUpload):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContactImport | Error]
    """

    kwargs = _get_kwargs(
        list_id=list_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    list_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: ImportUpload,
) -> ContactImport | Error | None:
    """Import a contact file into a list

     Upload a JSON array, NDJSON or CSV file as multipart/form-data. The file is checked
    (format, email field) at once, then imported by a worker: poll the import for progress.
    Rejected rows are reported in a CSV (`links.rejected_rows`) once the import is over.
    Fields are matched by name, without the web pages' mapping step: the email field is
    `email`, `e-mail`, `email address` or `mail`; `first_name`, `last_name` and `name`
    fill those fields; every other field becomes an attribute as it is, except an
    `attributes` object (or, in CSV, a cell holding a JSON object), whose keys are merged
    into the attributes.

    Args:
        list_id (int):
        body (ImportUpload):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContactImport | Error
    """

    return sync_detailed(
        list_id=list_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    list_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: ImportUpload,
) -> Response[ContactImport | Error]:
    """Import a contact file into a list

     Upload a JSON array, NDJSON or CSV file as multipart/form-data. The file is checked
    (format, email field) at once, then imported by a worker: poll the import for progress.
    Rejected rows are reported in a CSV (`links.rejected_rows`) once the import is over.
    Fields are matched by name, without the web pages' mapping step: the email field is
    `email`, `e-mail`, `email address` or `mail`; `first_name`, `last_name` and `name`
    fill those fields; every other field becomes an attribute as it is, except an
    `attributes` object (or, in CSV, a cell holding a JSON object), whose keys are merged
    into the attributes.

    Args:
        list_id (int):
        body (ImportUpload):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContactImport | Error]
    """

    kwargs = _get_kwargs(
        list_id=list_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    list_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: ImportUpload,
) -> ContactImport | Error | None:
    """Import a contact file into a list

     Upload a JSON array, NDJSON or CSV file as multipart/form-data. The file is checked
    (format, email field) at once, then imported by a worker: poll the import for progress.
    Rejected rows are reported in a CSV (`links.rejected_rows`) once the import is over.
    Fields are matched by name, without the web pages' mapping step: the email field is
    `email`, `e-mail`, `email address` or `mail`; `first_name`, `last_name` and `name`
    fill those fields; every other field becomes an attribute as it is, except an
    `attributes` object (or, in CSV, a cell holding a JSON object), whose keys are merged
    into the attributes.

    Args:
        list_id (int):
        body (ImportUpload):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContactImport | Error
    """

    return (
        await asyncio_detailed(
            list_id=list_id,
            client=client,
            body=body,
        )
    ).parsed

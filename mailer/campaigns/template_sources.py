"""Templates a campaign document names by address (``templateS3Uri``): an S3 object
(``s3://bucket/key``, fetched with boto3) or an https URL (fetched through the outbound-request
guard, public addresses only). The HTML becomes a library template named after its address and
version (the object's ETag, else a hash of the content), so documents naming an unchanged object
reuse one template. Every failure is a :class:`FetchError` in plain words.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import select

from mailer.engine.rendering.guards import MAX_SOURCE
from mailer.extensions import db
from mailer.lib import netguard
from mailer.lib.storage import s3_client
from mailer.models import Template

TIMEOUT = (5.0, 15.0)  # connect, read (seconds)
MAX_BYTES = MAX_SOURCE  # a template field holds at most this many characters
NAME_MAX = 200
SUBJECT_MAX = 500
SCHEMES = ("s3", "https")
# Types an HTML template may be served as; S3 objects uploaded without one get octet-stream.
HTML_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "binary/octet-stream", "application/octet-stream", ""}
)
_MARKUP = re.compile(rb"<(?:!doctype|html|head|body|table|div|p|a|span|h[1-6])[\s>/]", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)


class FetchError(Exception):
    """Why a template address could not be used, for the client (names no secret)."""


def is_address(ref: Any) -> bool:
    return isinstance(ref, str) and ref.split("://", 1)[0].lower() in SCHEMES and "://" in ref


def template_for(uri: str) -> Template:
    """The library template holding the HTML at ``uri``: the one made for this version of it,
    else a new one (added to the session, not committed: a refused document keeps nothing)."""
    parts = urlsplit(uri)
    if parts.scheme.lower() == "s3":
        return _from_s3(uri, parts.netloc, parts.path.lstrip("/"))
    if parts.scheme.lower() == "https" and parts.hostname:
        return _from_https(uri)
    raise FetchError("Use an s3://bucket/key address or an https:// URL.")


def _existing(uri: str, version: str) -> tuple[str, Template | None]:
    digest = hashlib.sha256(f"{uri}\n{version}".encode()).hexdigest()[:12]
    suffix = f" ({digest})"
    room = NAME_MAX - len(suffix)
    parts = urlsplit(uri)  # the name shows no query (a signed URL's token) nor credentials
    label = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    label = label if len(label) <= room else "…" + label[-(room - 1) :]
    name = label + suffix
    return name, db.session.scalar(select(Template).where(Template.name == name))


def _make(name: str, body: bytes) -> Template:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FetchError("This is not an HTML template: it is not UTF-8 text.") from None
    if not _MARKUP.search(body[:65536]):
        raise FetchError("This is not an HTML template: no HTML markup was found in it.")
    title = _TITLE.search(text)
    subject = " ".join(html_lib.unescape(title.group(1)).split())[:SUBJECT_MAX] if title else ""
    template = Template(name=name, subject=subject, html=text, text=None)
    db.session.add(template)
    db.session.flush()
    return template


def _too_big(size: int | None) -> None:
    if size is not None and size > MAX_BYTES:
        raise FetchError(f"The template is larger than {MAX_BYTES:,} bytes, the most it may be.")


def _check_type(content_type: str | None) -> None:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind not in HTML_TYPES:
        raise FetchError(f"This is not an HTML template: it is served as {kind}.")


def _read_capped(read) -> bytes:
    data = read(MAX_BYTES + 1)
    _too_big(len(data))
    return data


# ------------------------------------------------------------------ S3


def _client():
    client = current_app.extensions.get("mailer_template_s3")
    if client is None:
        client = current_app.extensions["mailer_template_s3"] = s3_client(
            current_app.config,
            connect_timeout=TIMEOUT[0],
            read_timeout=TIMEOUT[1],
            retries={"max_attempts": 2, "mode": "standard"},
        )
    return client


S3_ERRORS = {
    "NoSuchBucket": "No bucket “{bucket}” exists: check the address.",
    "NoSuchKey": "No object “{key}” is in the bucket “{bucket}”: check the address.",
    "AccessDenied": (
        "Mailer may not read “{key}” in the bucket “{bucket}” (access denied): give its "
        "credentials s3:GetObject on it."
    ),
    "InvalidAccessKeyId": "The bucket refused Mailer's AWS credentials (unknown access key).",
    "SignatureDoesNotMatch": "The bucket refused Mailer's AWS credentials (wrong secret).",
    "InvalidBucketName": "“{bucket}” is not a valid bucket name.",
}


def _from_s3(uri: str, bucket: str, key: str) -> Template:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if not bucket or not key:
        raise FetchError("Use an s3://bucket/key address, with both bucket and key.")
    words = {"bucket": bucket, "key": key}
    try:
        answer = _client().get_object(Bucket=bucket, Key=key)
        body = answer["Body"]
        try:
            name, found = _existing(uri, answer.get("ETag") or "")
            if found is not None:
                return found
            _too_big(answer.get("ContentLength"))
            _check_type(answer.get("ContentType"))
            data = _read_capped(body.read)
        finally:
            body.close()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in S3_ERRORS:
            raise FetchError(S3_ERRORS[code].format(**words)) from None
        if status == 403:
            raise FetchError(S3_ERRORS["AccessDenied"].format(**words)) from None
        raise FetchError(f"The bucket refused to give the template ({code or status}).") from None
    except NoCredentialsError:
        raise FetchError(
            "This Mailer has no AWS credentials to read S3 with: ask its operator."
        ) from None
    except (ConnectTimeoutError, ReadTimeoutError):
        raise FetchError("S3 did not answer in time: try again later.") from None
    except BotoCoreError:
        raise FetchError("S3 could not be reached: try again later.") from None
    return _make(name, data)


# ------------------------------------------------------------------ https


def _from_https(uri: str) -> Template:
    session = requests.Session()
    adapter = netguard.GuardedAdapter(
        allow_private=bool(current_app.config[netguard.SETTING]), max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    host = urlsplit(uri).hostname
    try:
        with session.get(uri, timeout=TIMEOUT, stream=True) as answer:
            if answer.url.split("://", 1)[0].lower() != "https":
                raise FetchError("The URL redirects to a plain http address: use https.")
            if answer.status_code == 404:
                raise FetchError("Nothing is at this URL (404): check the address.")
            if answer.status_code in (401, 403):
                raise FetchError(f"The server refused to give the template ({answer.status_code}).")
            if answer.status_code != 200:
                raise FetchError(f"The server answered {answer.status_code} instead of the HTML.")
            length = answer.headers.get("Content-Length")
            _too_big(int(length) if length and length.isdigit() else None)
            _check_type(answer.headers.get("Content-Type"))
            data = _read_capped(lambda n: answer.raw.read(n, decode_content=True))
            etag = answer.headers.get("ETag")
    except requests.Timeout:
        raise FetchError(f"{host} did not answer in time: try again later.") from None
    except requests.ConnectionError as exc:
        if any(isinstance(arg, netguard.AddressRefused) for arg in _causes(exc)):
            raise FetchError(
                f"Mailer fetches templates only from public addresses, and {host} is not one."
            ) from None
        raise FetchError(f"{host} could not be reached.") from None
    except requests.RequestException:
        raise FetchError(f"{host} could not be reached.") from None
    finally:
        session.close()
    version = etag or "sha256:" + hashlib.sha256(data).hexdigest()
    name, found = _existing(uri, version)
    return found if found is not None else _make(name, data)


def _causes(exc: BaseException):
    """The exception, its arguments and its causes, to find a guard's refusal inside."""
    seen: list[Any] = [exc]
    while seen:
        item = seen.pop()
        yield item
        if isinstance(item, BaseException):
            seen.extend(a for a in item.args if isinstance(a, BaseException))
            if item.__cause__ is not None:
                seen.append(item.__cause__)
            if item.__context__ is not None:
                seen.append(item.__context__)
            reason = getattr(item, "reason", None)
            if isinstance(reason, BaseException):
                seen.append(reason)

"""The optional parts of a transactional message: more recipients (to, cc, bcc) with display
names, reply-to, custom headers from a safe list, attachments and inline images, and a
scheduled time. Checked when the message is accepted; the files wait in `lib.storage` until
the message is sent, fails or is cancelled, then they are deleted."""

from __future__ import annotations

import binascii
import io
import logging
import mimetypes
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from mailer.lib import storage
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.providers.base import Attachment

# Body fields beyond the plain message: a message without any of them skips this module.
FIELDS = frozenset({"cc", "bcc", "reply_to", "headers", "attachments", "send_at"})

MAX_NAME = 200  # characters of a display name
MAX_HEADERS = 20
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 998  # RFC 5322's line length
MAX_FILENAME = 255
MAX_ATTACHMENTS = 20
MAX_CONTENT_ID = 128
STORAGE_PREFIX = "transactional"

# Headers a client may set besides X-*: unsubscribing, list identity and threading.
ALLOWED_HEADERS = frozenset(
    h.lower()
    for h in (
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "List-Id",
        "In-Reply-To",
        "References",
    )
)
# X- headers Mailer or a provider uses itself (tags, Brevo's custom header, provider ids).
INTERNAL_PREFIXES = ("x-mailer-", "x-mailin-", "x-mj-", "x-mailgun-", "x-sg-", "x-ses-")
INTERNAL_HEADERS = frozenset({"x-smtpapi", "x-feedback-id"})

_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NAMED = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^<>"]*?))\s*<([^<>]*)>\s*')
_CONTENT_ID = re.compile(r"[A-Za-z0-9!#$%&'*+\-./=?^_`{|}~@]+")

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ recipients


def parse_address(value: Any, path: str, problems: dict[str, str]) -> tuple[str, str | None]:
    """An address with an optional display name: "jane@example.com", "Jane <jane@…>" or
    {"email": …, "name": …}. Returns ("", None) with the problem added when it is not one."""
    name: Any = None
    where = path
    if isinstance(value, Mapping):
        email, name = value.get("email"), value.get("name")
        where = f"{path}.email"
        if name is not None and not isinstance(name, str):
            problems[f"{path}.name"] = "A display name is a string."
            return "", None
    elif isinstance(value, str):
        email = value
        match = _NAMED.fullmatch(value) if "<" in value else None
        if match:
            quoted, bare, email = match.groups()
            name = quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted else bare
    else:
        problems[path] = 'Give an address: "jane@example.com", "Jane <jane@example.com>" or '
        problems[path] += '{"email": "jane@example.com", "name": "Jane"}.'
        return "", None
    try:
        address = normalize_email(email if isinstance(email, str) else "")
    except InvalidEmail as exc:
        problems[where] = f"Not a valid email address: {exc.reason}."
        return "", None
    name = (name or "").strip() or None
    if name is not None:
        if len(name) > MAX_NAME:
            problems[f"{path}.name" if where != path else path] = (
                f"A display name has at most {MAX_NAME} characters."
            )
        elif _CONTROL.search(name):
            problems[f"{path}.name" if where != path else path] = (
                "A display name cannot contain line breaks or control characters."
            )
    return address, name


def address_list(value: Any, path: str, problems: dict[str, str]) -> list[tuple[str, str | None]]:
    """One address or a list of them (the shape of `to`, `cc` and `bcc`)."""
    if isinstance(value, list):
        if not value:
            problems[path] = "Give at least one address, or leave the field out."
            return []
        return [parse_address(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    return [parse_address(value, path, problems)]


def check_recipients(
    to: list[tuple[str, str | None]],
    cc: list[tuple[str, str | None]],
    bcc: list[tuple[str, str | None]],
    problems: dict[str, str],
) -> None:
    """At most MAILER_TX_MAX_RECIPIENTS in all, and each address once (providers refuse a
    message naming one twice)."""
    limit = int(current_app.config["MAILER_TX_MAX_RECIPIENTS"])
    if len(to) + len(cc) + len(bcc) > limit:
        problems["to"] = f"At most {limit} recipients in to, cc and bcc together."
        return
    seen: set[str] = set()
    for field, addresses in (("to", to), ("cc", cc), ("bcc", bcc)):
        for i, (address, _) in enumerate(addresses):
            if not address:
                continue
            if address in seen:
                where = f"{field}[{i}]" if len(addresses) > 1 or field == "to" else field
                problems[where] = f"{address} is already a recipient of this message."
            seen.add(address)


# ------------------------------------------------------------------------------ headers


def clean_headers(value: Any, problems: dict[str, str]) -> dict[str, str]:
    """Custom headers: X-* (but Mailer's and the providers' own) and a few named ones."""
    if not isinstance(value, Mapping):
        problems["headers"] = 'Give headers as an object: {"X-Order-Id": "1042"}.'
        return {}
    if len(value) > MAX_HEADERS:
        problems["headers"] = f"At most {MAX_HEADERS} headers."
        return {}
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, text in value.items():
        path = f"headers.{name}"
        lower = str(name).lower()
        if not _HEADER_NAME.fullmatch(str(name)) or len(name) > MAX_HEADER_NAME:
            problems[path] = (
                f"Not a header name: use letters, digits and dashes (at most {MAX_HEADER_NAME})."
            )
        elif lower in seen:
            problems[path] = "This header is given twice (names ignore case)."
        elif not header_allowed(lower):
            problems[path] = (
                f"Mailer does not send a {name} header from the API: it sets From, To, "
                "Subject, Date, Message-ID and the content headers itself, and signing and "
                "routing headers belong to the provider. Use an X- header of your own, or "
                "List-Unsubscribe, List-Unsubscribe-Post, List-Id, In-Reply-To, References."
            )
        elif not isinstance(text, str) or not text.strip():
            problems[path] = "A header value is a non-empty string."
        elif len(text) > MAX_HEADER_VALUE or _CONTROL.search(text):
            problems[path] = (
                f"A header value has at most {MAX_HEADER_VALUE} characters and no line breaks."
            )
        else:
            out[str(name)] = text.strip()
        seen.add(lower)
    return out


def header_allowed(lower: str) -> bool:
    if lower in ALLOWED_HEADERS:
        return True
    if not lower.startswith("x-") or lower in INTERNAL_HEADERS:
        return False
    return not lower.startswith(INTERNAL_PREFIXES)


# ------------------------------------------------------------------------------ files


@dataclass
class NewFile:
    """An attachment checked but not stored yet (stored only if its message is queued)."""

    filename: str
    content_type: str
    content: bytes
    content_id: str | None

    def describe(self, key: str) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "content_id": self.content_id,
            "size": len(self.content),
            "key": key,
        }


def refused_extensions() -> frozenset[str]:
    raw = current_app.config["MAILER_TX_REFUSED_EXTENSIONS"]
    return frozenset(e.strip().lower().lstrip(".") for e in raw.split(",") if e.strip())


def clean_attachments(value: Any, html_shown: bool, problems: dict[str, str]) -> list[NewFile]:
    """Decoded, size-capped files; inline ones need a Content-ID the HTML can refer to."""
    if not isinstance(value, list):
        problems["attachments"] = "Give attachments as a list of objects."
        return []
    if len(value) > MAX_ATTACHMENTS:
        problems["attachments"] = f"At most {MAX_ATTACHMENTS} files per message."
        return []
    config = current_app.config
    per_file = int(config["MAILER_TX_ATTACHMENT_MAX_BYTES"])
    per_message = int(config["MAILER_TX_ATTACHMENTS_MAX_BYTES"])
    refused = refused_extensions()
    files: list[NewFile] = []
    content_ids: set[str] = set()
    total = 0
    for i, item in enumerate(value):
        path = f"attachments[{i}]"
        if not isinstance(item, Mapping):
            problems[path] = "An attachment is an object with filename and content."
            continue
        filename, content = item.get("filename"), item.get("content")
        content_type, content_id = item.get("content_type"), item.get("content_id")
        before = len(problems)
        if not isinstance(filename, str) or not filename.strip():
            problems[f"{path}.filename"] = "Give the file's name, e.g. invoice.pdf."
        elif len(filename) > MAX_FILENAME or _CONTROL.search(filename) or "/" in filename:
            problems[f"{path}.filename"] = (
                f"A file name has at most {MAX_FILENAME} characters, no slash and no line break."
            )
        else:
            extension = filename.rpartition(".")[2].lower() if "." in filename else ""
            if extension in refused:
                problems[f"{path}.filename"] = (
                    f"Mailer does not send .{extension} files: mail filters block them as "
                    "possible malware. Send a link, or the file in an archive it allows."
                )
        if content_type is None and isinstance(filename, str):
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if not isinstance(content_type, str) or not _is_media_type(content_type):
            problems[f"{path}.content_type"] = "Give a media type such as application/pdf."
        if content_id is not None:
            if not isinstance(content_id, str) or not _CONTENT_ID.fullmatch(content_id):
                problems[f"{path}.content_id"] = (
                    "A content_id is letters, digits and @.-_ (what follows cid: in the HTML)."
                )
            elif len(content_id) > MAX_CONTENT_ID:
                problems[f"{path}.content_id"] = f"At most {MAX_CONTENT_ID} characters."
            elif content_id in content_ids:
                problems[f"{path}.content_id"] = "Another attachment has this content_id."
            elif not html_shown:
                problems[f"{path}.content_id"] = (
                    "An inline image needs an html body that shows it (cid:…)."
                )
            content_ids.add(content_id if isinstance(content_id, str) else "")
        data = b""
        if not isinstance(content, str) or not content:
            problems[f"{path}.content"] = "Give the file's content, base64-encoded."
        elif len(content) > (per_file * 4 // 3) + 8:  # base64 of more than the cap
            problems[f"{path}.content"] = f"A file is at most {_size(per_file)}."
        else:
            try:
                data = binascii.a2b_base64(content, strict_mode=True)
            except ValueError:  # binascii.Error, or a character beyond ASCII
                problems[f"{path}.content"] = (
                    "Not base64: encode the file's bytes (A-Z, a-z, 0-9, + and /, with = "
                    "padding, no line breaks)."
                )
            else:
                if not data:
                    problems[f"{path}.content"] = "The file is empty."
                elif len(data) > per_file:
                    problems[f"{path}.content"] = f"A file is at most {_size(per_file)}."
        total += len(data)
        if len(problems) == before:
            files.append(NewFile(filename.strip(), content_type.lower(), data, content_id))
    if total > per_message and "attachments" not in problems:
        problems["attachments"] = f"The files of a message come to at most {_size(per_message)}."
    return files


def _is_media_type(value: str) -> bool:
    major, slash, minor = value.partition("/")
    return bool(slash) and bool(
        re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}", major)
        and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}", minor)
    )


def _size(n: int) -> str:
    return f"{n / 1024**2:g} MB" if n >= 1024**2 else f"{n / 1024:g} KB"


def store_files(files: list[NewFile]) -> list[dict[str, Any]]:
    """Store the files (`lib.storage`); what the message's payload keeps about them."""
    store = storage.storage()
    described = []
    try:
        for f in files:
            key = f"{STORAGE_PREFIX}/{uuid.uuid4().hex}"
            store.save(key, io.BytesIO(f.content))
            described.append(f.describe(key))
    except Exception:
        forget_files(described)
        raise
    return described


def load_files(described: Iterable[Mapping[str, Any]]) -> tuple[Attachment, ...]:
    """The stored files of a message, to send. LookupError naming a file that is gone."""
    store = storage.storage()
    out = []
    for d in described:
        try:
            with store.open(d["key"]) as stream:
                content = stream.read()
        except Exception as exc:  # a folder's FileNotFoundError, S3's ClientError, …
            raise LookupError(f"the attachment {d.get('filename')!r} is no longer stored") from exc
        out.append(Attachment(d["filename"], d["content_type"], content, d.get("content_id")))
    return tuple(out)


def forget_files(described: Iterable[Mapping[str, Any]]) -> None:
    """Delete stored files (a message sent, failed or cancelled keeps none: GDPR)."""
    store = None
    for d in described:
        key = d.get("key")
        if not key:
            continue
        store = store or storage.storage()
        try:
            store.delete(key)
        except Exception as exc:  # noqa: BLE001 - a file left behind must not fail a send
            log.warning("Could not delete a sent message's file: %s", type(exc).__name__)


# ------------------------------------------------------------------------------ send_at


def parse_send_at(value: Any, problems: dict[str, str]) -> datetime | None:
    """A time in the future, at most MAILER_TX_SCHEDULE_MAX_DAYS ahead, as naive UTC."""
    days = int(current_app.config["MAILER_TX_SCHEDULE_MAX_DAYS"])
    example = "e.g. 2026-05-01T09:30:00+02:00"
    if not isinstance(value, str):
        problems["send_at"] = (
            f"Give send_at as an ISO 8601 date and time with its offset, {example}."
        )
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        problems["send_at"] = f"Not an ISO 8601 date and time: {value[:40]!r} ({example})."
        return None
    if when.tzinfo is None:
        problems["send_at"] = f"Add the offset (Z for UTC, or +02:00…), {example}."
        return None
    try:
        when = when.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999 with an offset
        problems["send_at"] = f"Not a usable date: {value[:40]!r} ({example})."
        return None
    now = datetime.now(UTC).replace(tzinfo=None)
    if when <= now:
        problems["send_at"] = "This time has passed: give a time in the future (or leave it out)."
    elif when > now + timedelta(days=days):
        problems["send_at"] = f"At most {days} days ahead."
    else:
        return when
    return None

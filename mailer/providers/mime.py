"""Build the RFC 5322 message for providers that take raw MIME (SMTP, SES raw, the sandbox).

``render`` writes the wire bytes directly, always in the same simple shape (why not the
stdlib's ``EmailMessage``: docs/architecture.md, "Providers"); ``build_mime`` returns the same
message as an ``email.message.EmailMessage``.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import functools
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime

from mailer.providers.base import Address, Attachment, OutboundMessage

__all__ = [
    "TAG_HEADER_PREFIX",
    "build_mime",
    "envelope_address",
    "make_message_id",
    "needs_smtputf8",
    "render",
    "tag_headers",
]

TAG_HEADER_PREFIX = "X-Mailer-Tag-"
CRLF = "\r\n"
MAX_LINE = 78  # RFC 5322 "SHOULD" line length
MAX_BODY_LINE = 998  # RFC 5322 "MUST" line length, in bytes without the CRLF
WORD_BYTES = 42  # UTF-8 bytes per encoded-word: base64 -> 56 chars, 68 with the wrapper

# Headers that render sets itself; an extra header of one of these names is refused rather than
# silently doubled (two From lines) or allowed to override what the caller asked for.
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "Reply-To",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    )
)

_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 field name: printable ASCII but ":"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # no CR/LF (header injection) or NUL
_TAG_NAME_JUNK = re.compile(r"[^A-Za-z0-9-]+")
_ATOM_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_ADDR_SPEC = re.compile(r"[^\s<>()\[\]\\,;:@\"]+@[^\s<>()\[\]\\,;:@\"]+")


@functools.lru_cache(maxsize=4096)  # the same few domains recur in every chunk
def _domain_ascii(domain: str) -> str:
    try:
        return domain.strip().lower().encode("idna").decode("ascii")  # bücher -> xn--bcher-kva
    except UnicodeError as exc:
        raise ValueError(f"invalid domain {domain!r}") from exc


@functools.lru_cache(maxsize=2)  # written once a second, not for each of thousands of messages
def _date(second: int) -> str:
    return format_datetime(datetime.fromtimestamp(second, UTC))


def make_message_id(from_email: str) -> str:
    """A new ``<random@domain>`` Message-ID on the sender's domain (unguessable, unique)."""
    domain = from_email.rpartition("@")[2].strip().strip(">")
    try:
        domain = _domain_ascii(domain) if domain else "localhost"
    except ValueError:
        domain = "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def tag_headers(tags: dict[str, str]) -> dict[str, str]:
    """``{"campaign": "12"}`` -> ``{"X-Mailer-Tag-Campaign": "12"}``."""
    out: dict[str, str] = {}
    for key, value in tags.items():
        name = _TAG_NAME_JUNK.sub("-", str(key)).strip("-")
        if name:
            out[TAG_HEADER_PREFIX + "-".join(p.capitalize() for p in name.split("-"))] = str(value)
    return out


def envelope_address(addr: str) -> str:
    """The address for MAIL FROM / RCPT TO: domain in ASCII (IDNA), local part as given."""
    return _address(addr)


def needs_smtputf8(msg: OutboundMessage) -> bool:
    """True when an address has a non-ASCII local part: only SMTPUTF8 can carry it."""
    addresses = (msg.from_email, msg.to)
    if msg.also_to or msg.cc or msg.bcc:
        addresses = (msg.from_email, *msg.recipients)
    return not all(a.rpartition("@")[0].isascii() for a in addresses)


# -- headers -----------------------------------------------------------------------------------


def _check_value(value: str, what: str) -> None:
    if _CONTROL.search(value):
        raise ValueError(f"{what} may not contain line breaks or control characters")


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 base64 encoded-words, each under 75 chars, cut between characters."""
    data = text.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        end = min(start + WORD_BYTES, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # inside a UTF-8 sequence
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return words


def _fold(name: str, value: str) -> str:
    """``Name: value`` folded at spaces to lines of at most 78 chars where possible."""
    line = f"{name}: {value}"
    if len(line) <= MAX_LINE or " " not in value:
        return line
    lines, current = [], f"{name}:"
    for word in value.split(" "):
        if len(current) + 1 + len(word) > MAX_LINE and current.strip() not in ("", f"{name}:"):
            lines.append(current)
            current = ""
        current += " " + word
    lines.append(current)
    return CRLF.join(lines)


def _unstructured(name: str, value: str) -> str:
    _check_value(value, name)
    if value.isascii() and "=?" not in value:
        return _fold(name, value)
    return f"{name}: " + f"{CRLF} ".join(_encoded_words(value))


def _address(addr: str) -> str:
    addr = addr.strip()
    local, at, domain = addr.rpartition("@")
    if not at or not _ADDR_SPEC.fullmatch(addr):
        raise ValueError(f"invalid email address {addr!r}")
    return f"{local}@{_domain_ascii(domain)}"


def _mailbox(name: str, addr: str, display: str | None = None) -> str:
    _check_value(addr, name)
    spec = _address(addr)
    if not display:
        return f"{name}: {spec}"
    _check_value(display, name)
    if display.isascii() and "=?" not in display:
        if _ATOM_SPECIALS.search(display):
            display = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return _fold(name, f"{display} <{spec}>")
    words = _encoded_words(display)
    return f"{name}: " + f"{CRLF} ".join(words) + f"{CRLF} <{spec}>"


def _mailboxes(name: str, addresses: Sequence[Address]) -> str:
    """An address-list header (To, Cc): one mailbox per line after the first."""
    skip = len(name) + 2
    return f"{name}: " + f",{CRLF} ".join(_mailbox(name, a, d)[skip:] for a, d in addresses)


def _check_header_name(name: str) -> None:
    if not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"invalid header name {name!r}")
    if name.lower() in RESERVED_HEADERS:
        raise ValueError(f"header {name!r} is set by Mailer itself")


# -- bodies ------------------------------------------------------------------------------------


def _part(subtype: str, content: str, eight_bit: bool = False) -> str:
    """Content headers, blank line and the encoded body (ending in CRLF)."""
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    ascii_ = content.isascii()
    if eight_bit:  # RFC 6152: any octet but NUL, lines of at most 998
        longest = max(map(len, content.encode("utf-8").split(b"\n")))
        fits = longest <= MAX_BODY_LINE and "\0" not in content
    else:
        fits = ascii_ and max(map(len, content.split("\n"))) <= MAX_LINE
    if fits:
        cte, body = "7bit" if ascii_ else "8bit", content
    else:
        cte = "quoted-printable"
        body = binascii.b2a_qp(content.encode("utf-8"), istext=True).decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: {cte}{CRLF}{CRLF}" + body.replace("\n", CRLF)
    )


def render(msg: OutboundMessage, eight_bit: bool = False) -> tuple[bytes, str]:
    """The wire form (CRLF line ends) and its Message-ID. ValueError for unusable input.

    * headers are ASCII: non-ASCII display names, subjects and header values become RFC 2047
      base64 encoded-words of at most 75 characters, never splitting a character; long ASCII
      values are folded at spaces. Only an address whose local part is not ASCII (``jörg@...``)
      is written raw in UTF-8, which needs an SMTPUTF8 transport (see ``needs_smtputf8``);
    * bodies are UTF-8, 7-bit clean: ASCII with short lines as is, anything else
      quoted-printable. With ``eight_bit=True`` (the transport offers 8BITMIME) they go as
      they are, in lines of up to 998 bytes (RFC 5322's limit): no ``=3D`` for every attribute
      and no soft line breaks. Text and HTML together make a multipart/alternative;
    * tags travel as ``X-Mailer-Tag-<Name>`` headers, so a bounce or complaint that quotes our
      headers maps back to the send.
    """
    if msg.text is None and msg.html is None:
        raise ValueError("the message has neither a text nor an HTML body")
    message_id = msg.message_id or make_message_id(msg.from_email)
    _check_value(message_id, "Message-ID")
    lines = [_mailbox("From", msg.from_email, msg.from_name)]
    if msg.also_to:
        lines.append(_mailboxes("To", [(msg.to, msg.to_name), *msg.also_to]))
    else:
        lines.append(_mailbox("To", msg.to, msg.to_name))
    if msg.cc:
        lines.append(_mailboxes("Cc", msg.cc))
    if msg.reply_to:
        lines.append(_mailbox("Reply-To", msg.reply_to, msg.reply_to_name))
    lines += [
        _unstructured("Subject", msg.subject),
        f"Date: {_date(int(time.time()))}",
        f"Message-ID: {message_id}",
    ]
    for name, value in {**msg.headers, **tag_headers(msg.tags)}.items():
        _check_header_name(name)
        lines.append(_unstructured(name, value))
    if msg.attachments:  # the stdlib writes the body parts (it adds MIME-Version)
        body = _with_files(msg).decode("ascii")
        return (CRLF.join(lines) + CRLF + body).encode("utf-8"), message_id
    lines.append("MIME-Version: 1.0")
    if msg.text is not None and msg.html is not None:
        boundary = f"=_{secrets.token_hex(16)}"
        lines.append(f'Content-Type: multipart/alternative;{CRLF} boundary="{boundary}"')
        # The CRLF before each delimiter belongs to the delimiter, not to the part.
        body = (
            f"{CRLF}--{boundary}{CRLF}{_part('plain', msg.text, eight_bit)}{CRLF}"
            f"--{boundary}{CRLF}{_part('html', msg.html, eight_bit)}{CRLF}"
            f"--{boundary}--{CRLF}"
        )
    else:
        if msg.html is not None:
            body = _part("html", msg.html, eight_bit)
        else:
            body = _part("plain", msg.text or "", eight_bit)
        if not body.endswith(CRLF):
            body += CRLF  # the data of an SMTP transaction ends with a line break
    return (CRLF.join(lines) + CRLF + body).encode("utf-8"), message_id


_FILES_POLICY = email.policy.SMTP.clone(cte_type="7bit")


def _with_files(msg: OutboundMessage) -> bytes:
    """The content headers and body of a message with files, built by the stdlib's email
    package: multipart/mixed around the bodies, multipart/related around the HTML and its
    inline images (``cid:``), each file base64. A transactional message is one of a few, so
    the stdlib's cost per message does not matter here as it would for a campaign."""
    root = EmailMessage(policy=_FILES_POLICY)
    if msg.text is not None:
        root.set_content(msg.text)
    if msg.html is not None:
        if msg.text is not None:
            root.add_alternative(msg.html, subtype="html")
        else:
            root.set_content(msg.html, subtype="html")
    html = root.get_body(("html",)) if msg.html is not None else None
    for item in msg.attachments:
        if item.content_id and html is not None:
            _add(html, item, related=True)
    for item in msg.attachments:
        if not (item.content_id and html is not None):
            _add(root, item, related=False)
    data = root.as_bytes(policy=_FILES_POLICY)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _add(part: MIMEPart, item: Attachment, *, related: bool) -> None:
    maintype, _, subtype = item.content_type.partition("/")
    if related:
        part.add_related(
            item.content,
            maintype,
            subtype or "octet-stream",
            cid=f"<{item.content_id}>",
            filename=item.filename,
            disposition="inline",
        )
    else:
        extra = {"cid": f"<{item.content_id}>"} if item.content_id else {}
        part.add_attachment(
            item.content, maintype, subtype or "octet-stream", filename=item.filename, **extra
        )


def build_mime(msg: OutboundMessage) -> EmailMessage:
    """The rendered message as an EmailMessage (``policy=email.policy.default``), parsed back
    from ``render``'s bytes, for callers that want an object; tests check both against the
    stdlib parser."""
    data, _ = render(msg)
    # Raw UTF-8 (SMTPUTF8) headers only parse right from text.
    parsed = email.message_from_string(data.decode("utf-8"), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed

"""Accepting transactional messages from the API (its hot path): validate every item, refuse
suppressed recipients, queue the rest in one statement, and wake the channel's drain job."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from redis import Redis
from sqlalchemy import bindparam, insert, select

from mailer import dispatch
from mailer.dispatch import KeyedJob
from mailer.engine.rendering import (
    CompiledEmail,
    RenderError,
    TemplateSyntaxProblem,
    compile_email,
    unknown_variables,
)
from mailer.engine.rendering.message import message_context
from mailer.engine.transactional import extras
from mailer.extensions import db
from mailer.lib import dbutil
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import ValidationError
from mailer.models import Channel, Identity, Suppression, Template
from mailer.models.base import utcnow
from mailer.models.campaigns import Message, MessageStatus
from mailer.queue import thread_redis

MAX_TAGS = 10
MAX_TAG = 64
MAX_METADATA_BYTES = 2048
MAX_SUBJECT = 500
LOOKUP_TTL = 5.0  # seconds an identity/channel/template lookup is reused by a web process

FLAG_KEY = "mailer:tx:drain:{}"  # "a drain job for this channel is queued or running"
FLAG_TTL = 60  # seconds; refreshed by the running job, so a lost job's flag expires


# ------------------------------------------------------------------------------ lookups


class _Lookups:
    """Identities, channels and templates for the accept path, cached briefly per process."""

    def __init__(self) -> None:
        self.loaded = 0.0
        self.identities: dict[int, Identity] = {}
        self.identity_by_email: dict[str, Identity] = {}
        self.default_identity: Identity | None = None
        self.channels: dict[int, Channel] = {}
        self.channel_by_name: dict[str, Channel] = {}
        self.default_channel: Channel | None = None
        self.templates: OrderedDict[int, tuple[float, _TemplateInfo | None]] = OrderedDict()
        self.subjects: OrderedDict[str, CompiledEmail] = OrderedDict()

    def refresh(self) -> None:
        if time.monotonic() - self.loaded < LOOKUP_TTL:
            return
        identities = list(db.session.scalars(select(Identity).order_by(Identity.id)))
        channels = list(
            db.session.scalars(select(Channel).where(Channel.active.is_(True)).order_by(Channel.id))
        )
        for row in (*identities, *channels):
            db.session.expunge(row)  # plain values, safe to keep across requests
        self.identities = {i.id: i for i in identities}
        self.identity_by_email = {}
        for identity in identities:
            self.identity_by_email.setdefault(identity.from_email, identity)
        self.default_identity = identities[0] if identities else None
        self.channels = {c.id: c for c in channels}
        self.channel_by_name = {c.name: c for c in channels}
        self.default_channel = channels[0] if channels else None
        self.loaded = time.monotonic()

    def subject(self, source: str) -> CompiledEmail:
        """A template subject compiled (by its text: it depends on nothing else)."""
        found = self.subjects.get(source)
        if found is None:
            found = self.subjects[source] = compile_email(source, "")
            while len(self.subjects) > 256:
                self.subjects.popitem(last=False)
        return found

    def template(self, template_id: int) -> _TemplateInfo | None:
        cached = self.templates.get(template_id)
        if cached is not None and time.monotonic() - cached[0] < LOOKUP_TTL:
            return cached[1]
        row = db.session.get(Template, template_id)
        info = None
        if row is not None:
            info = _TemplateInfo(row.id, row.subject or "", row.html or "", row.text)
            db.session.expunge(row)
        self.templates[template_id] = (time.monotonic(), info)
        while len(self.templates) > 256:
            self.templates.popitem(last=False)
        return info


@dataclass
class _TemplateInfo:
    id: int
    subject: str
    html: str
    text: str | None
    _used: list[str] | None = None
    _problem: str | None = None

    def unknown(self, known: Iterable[str], subject: str | None) -> list[str]:
        """Variables the template (and a subject override) use that `known` does not give.
        Raises ValueError with the syntax problem of a broken template."""
        if self._used is None and self._problem is None:
            try:
                self._used = unknown_variables(self.subject, self.html, self.text, ())
            except TemplateSyntaxProblem as exc:
                self._problem = str(exc)
        if self._problem is not None:
            raise ValueError(self._problem)
        used = set(self._used or ())
        if subject:
            used |= set(unknown_variables(subject, "", None, ()))
        names = set(known)
        return sorted(u for u in used if u.removeprefix("attributes.") not in names)


def _lookups() -> _Lookups:
    cache = current_app.extensions.get("mailer_tx_lookups")
    if cache is None:
        cache = current_app.extensions["mailer_tx_lookups"] = _Lookups()
    cache.refresh()
    return cache


def forget_lookups() -> None:
    """Drop the cached lookups (tests that change identities or channels mid-way)."""
    current_app.extensions.pop("mailer_tx_lookups", None)


# ------------------------------------------------------------------------------ accepting


@dataclass
class Outcome:
    """One item of an accepted request: queued with an id, or refused with a reason."""

    index: int
    to: str
    id: int | None = None
    code: str | None = None
    reason: str | None = None

    @property
    def queued(self) -> bool:
        return self.id is not None


def accept(
    items: Sequence[Mapping[str, Any]], api_key_id: int | None, *, prefix: str = ""
) -> list[Outcome]:
    """Validate, refuse suppressed recipients, queue the rest (one INSERT), wake the sender.

    ``prefix`` makes error names JSON paths of the request: "" for a single message,
    "messages" for a batch ("messages[3].to"). Raises ValidationError listing every problem.
    """
    limit = int(current_app.config["MAILER_API_MAX_BATCH"])
    if prefix and len(items) > limit:
        raise ValidationError({prefix: f"At most {limit} messages per request."})
    if prefix and not items:
        raise ValidationError({prefix: "Give at least one message."})
    lookups = _lookups()
    errors: dict[str, str] = {}
    rows: list[dict] = []
    now = utcnow()
    for i, item in enumerate(items):
        where = f"{prefix}[{i}]." if prefix else ""
        row = _clean(item, lookups, where, errors)
        if row is not None:
            row.update(api_key_id=api_key_id, created_at=now)
            rows.append(row)
    if errors:
        raise ValidationError(errors)

    rich = [row.pop("_extra", None) for row in rows]
    if len(rows) == 1 and rich[0] is None:
        outcomes = _accept_one(rows[0])
    else:
        outcomes = _accept_many(rows, rich)
    if db.session.registry.has():  # the MySQL single path may not have used the session
        db.session.commit()
    queued = {
        r["channel_id"]
        for r, o in zip(rows, outcomes, strict=True)
        if o.queued and r["next_attempt_at"] is None  # a scheduled one waits for the tick
    }
    wake(queued, thread_redis())
    return outcomes


def _accept_one(row: dict) -> list[Outcome]:
    """One statement: the INSERT happens only when the address is not suppressed."""
    raw = _raw_insert()
    if raw is not None:
        inserted, new_id, _ = raw.run(row)
    else:
        result = db.session.connection().execute(_INSERT_UNLESS_SUPPRESSED, row)
        inserted, new_id = result.rowcount, result.lastrowid
    if inserted == 1:
        return [Outcome(0, row["to_email"], id=new_id)]
    reason = db.session.scalar(
        select(Suppression.reason).where(Suppression.email == row["to_email"])
    )
    return [_refused(0, row["to_email"], reason or "suppressed")]


def _accept_many(rows: list[dict], rich: list[_Extra | None] | None = None) -> list[Outcome]:
    """Suppressed addresses in one read, the others in one multi-row INSERT. A message with
    more recipients is refused when any of them is suppressed; its files are stored only
    once it is sure to be queued."""
    rich = rich or [None] * len(rows)
    addresses = {r["to_email"] for r in rows}
    for extra in rich:
        if extra is not None:
            addresses.update(extra.addresses)
    suppressed = _suppressed(addresses)
    outcomes: list[Outcome] = []
    queued: list[dict] = []
    stored: list[dict] = []
    try:
        for i, (row, extra) in enumerate(zip(rows, rich, strict=True)):
            blocked = [row["to_email"]] if row["to_email"] in suppressed else []
            if extra is not None:
                blocked += [a for a in extra.addresses if a in suppressed]
            if blocked:
                outcome = _refused(i, blocked[0], suppressed[blocked[0]])
                outcome.to = row["to_email"]
                outcomes.append(outcome)
                continue
            if extra is not None and extra.files:
                described = extras.store_files(extra.files)
                stored += described
                row["payload"]["attachments"] = described
            outcomes.append(Outcome(i, row["to_email"]))
            queued.append(row)
        if queued:
            it = iter(_insert(queued))
            for outcome in outcomes:
                if outcome.code is None:
                    outcome.id = next(it)
    except Exception:
        extras.forget_files(stored)
        raise
    return outcomes


def _refused(index: int, to: str, reason: str) -> Outcome:
    return Outcome(
        index,
        to,
        code="recipient_suppressed",
        reason=f"{to} is on the suppression list ({reason}); Mailer does not send to it.",
    )


_ROW_COLUMNS = (
    "to_email",
    "identity_id",
    "channel_id",
    "template_id",
    "subject",
    "payload",
    "tags",
    "meta",
    "status",
    "attempts",
    "api_key_id",
    "created_at",
    "next_attempt_at",
)
_INSERT_UNLESS_SUPPRESSED = insert(Message.__table__).from_select(
    _ROW_COLUMNS,
    select(*(bindparam(c, type_=Message.__table__.c[c].type) for c in _ROW_COLUMNS)).where(
        ~select(Suppression.id).where(Suppression.email == bindparam("to_email")).exists()
    ),
)


# MySQL: the single-message INSERT … SELECT as the request's only database round trip, on a
# pool of its own (by database URL: one pool per process).
_RAW_INSERTS: dict[str, dbutil.OwnPoolStatement] = {}


def _raw_insert() -> dbutil.OwnPoolStatement | None:
    """The app's single-message writer on MySQL (None on SQLite: the session is as cheap)."""
    found = current_app.extensions.get("mailer_tx_raw_insert", False)
    if found is False:
        found = current_app.extensions["mailer_tx_raw_insert"] = _make_raw_insert()
    return found


def _make_raw_insert() -> dbutil.OwnPoolStatement | None:
    engine = db.engine
    if engine.dialect.name != "mysql":
        return None
    key = engine.url.render_as_string(hide_password=False)
    if key not in _RAW_INSERTS:  # apps of one process (tests) share the pool
        options = current_app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        size, overflow = options.get("pool_size", 5), options.get("max_overflow", 10)
        _RAW_INSERTS.setdefault(
            key,
            dbutil.OwnPoolStatement(
                engine.url, _INSERT_UNLESS_SUPPRESSED, pool_size=size, max_overflow=overflow
            ),
        )
    return _RAW_INSERTS[key]


def _insert(rows: list[dict]) -> list[int]:
    """One INSERT … VALUES (…), (…) RETURNING id for the whole batch, ids in row order."""
    stmt = insert(Message).returning(Message.id, sort_by_parameter_order=True)
    return list(db.session.scalars(stmt, rows))


def _suppressed(emails: set[str]) -> dict[str, str]:
    if not emails:
        return {}
    rows = db.session.execute(
        select(Suppression.email, Suppression.reason).where(Suppression.email.in_(emails))
    )
    return {email: reason for email, reason in rows}


def _clean(
    item: Mapping[str, Any], lookups: _Lookups, where: str, errors: dict[str, str]
) -> dict | None:
    """One message as a row, or None with its problems added to `errors`."""
    problems: dict[str, str] = {}
    to = item.get("to")
    recipients = None  # several, or named: the optional fields' path
    if isinstance(to, str) and "<" not in to:
        try:
            to = normalize_email(to)
        except InvalidEmail as exc:
            problems["to"] = f"Not a valid email address: {exc.reason}."
    else:
        recipients = extras.address_list(to, "to", problems)
        to = recipients[0][0] if recipients else ""

    identity = _identity(item.get("from"), lookups, problems)
    channel = _channel(item.get("channel"), lookups, problems)

    subject = item.get("subject")
    html, text = item.get("html"), item.get("text")
    template_id = item.get("template_id")
    variables = item.get("variables")
    payload: dict[str, Any]
    if template_id is not None:
        if html is not None or text is not None:
            problems["template_id"] = "Give either template_id or html/text, not both."
        template = lookups.template(template_id) if isinstance(template_id, int) else None
        payload = {"template_id": template_id, "variables": variables or {}}
        if template is None:
            problems["template_id"] = f"No template with id {template_id}."
        else:
            try:
                unknown = template.unknown((variables or {}).keys(), subject)
            except ValueError as exc:
                problems["template_id"] = f"The template has an error: {exc}."
            except TemplateSyntaxProblem as exc:
                problems["subject"] = f"The subject has an error: {exc}."
            else:
                if unknown:
                    problems["variables"] = (
                        f"Unknown template variable{'s' if len(unknown) > 1 else ''}: "
                        f"{', '.join(unknown)}. Give {'them' if len(unknown) > 1 else 'it'} "
                        "in variables."
                    )
            if subject is None:
                subject = template.subject
    else:
        if variables is not None:
            problems["variables"] = "Variables are only used with template_id."
        if not html and not text:
            problems["html"] = "Give html, text or both (or a template_id)."
        payload = {"html": html, "text": text}
    if not subject or not str(subject).strip():
        problems["subject"] = "Give a subject."
    elif len(subject) > MAX_SUBJECT:
        problems["subject"] = f"Use at most {MAX_SUBJECT} characters."
    elif any(c in subject for c in "\r\n"):
        problems["subject"] = "A subject cannot contain line breaks."

    tags = item.get("tags") or []
    if len(tags) > MAX_TAGS:
        problems["tags"] = f"At most {MAX_TAGS} tags."
    elif any(not isinstance(t, str) or not t.strip() or len(t) > MAX_TAG for t in tags):
        problems["tags"] = f"Tags are non-blank strings of at most {MAX_TAG} characters."
    metadata = item.get("metadata") or {}
    if len(json.dumps(metadata, separators=(",", ":"))) > MAX_METADATA_BYTES:
        problems["metadata"] = f"Keep metadata under {MAX_METADATA_BYTES} bytes of JSON."
    if template_id is not None and not problems.keys() & {"template_id", "variables", "subject"}:
        rendered = _render_subject(lookups, subject, to, variables or {}, problems)
        if rendered is not None:
            payload["subject_source"] = subject  # the column holds the subject as sent
            subject = rendered

    extra = send_at = None
    if recipients is not None or not item.keys().isdisjoint(extras.FIELDS):
        html_shown = isinstance(html, str) or template_id is not None
        extra, send_at = _extras(item, to, recipients, html_shown, payload, problems)

    if problems:
        errors.update({where + name: message for name, message in problems.items()})
        return None
    if item.get("track_opens") is False:
        payload["track_opens"] = False
    if item.get("track_clicks") is False:
        payload["track_clicks"] = False
    return {
        "to_email": to,
        "identity_id": identity.id,
        "channel_id": channel.id,
        "template_id": template_id,
        "subject": subject.strip(),
        "payload": payload,
        "tags": list(dict.fromkeys(t.strip() for t in tags)),
        "meta": metadata,
        "status": MessageStatus.QUEUED.value,
        "attempts": 0,
        "next_attempt_at": send_at,  # the drain sends a queued message once this is past
        "_extra": extra,
    }


@dataclass
class _Extra:
    """What accepting a message with optional parts does beyond the row."""

    addresses: list[str]  # recipients besides `to_email`, checked against suppressions
    files: list[extras.NewFile]


def _extras(
    item: Mapping[str, Any],
    to: str,
    recipients: list | None,
    html_shown: bool,
    payload: dict[str, Any],
    problems: dict[str, str],
) -> tuple[_Extra | None, datetime | None]:
    """cc, bcc, reply_to, headers, attachments and send_at into the payload (see extras)."""
    to_list = recipients or [(to, None)]
    cc = extras.address_list(item["cc"], "cc", problems) if item.get("cc") is not None else []
    bcc = extras.address_list(item["bcc"], "bcc", problems) if item.get("bcc") is not None else []
    extras.check_recipients(to_list, cc, bcc, problems)
    if len(to_list) > 1 or to_list[0][1]:
        payload["to"] = [list(a) for a in to_list]
    if cc:
        payload["cc"] = [list(a) for a in cc]
    if bcc:
        payload["bcc"] = [list(a) for a in bcc]
    if item.get("reply_to") is not None:
        payload["reply_to"] = list(extras.parse_address(item["reply_to"], "reply_to", problems))
    if item.get("headers") is not None:
        headers = extras.clean_headers(item["headers"], problems)
        if headers:
            payload["headers"] = headers
    files: list[extras.NewFile] = []
    if item.get("attachments") is not None:
        files = extras.clean_attachments(item["attachments"], html_shown, problems)
    send_at = None
    if item.get("send_at") is not None:
        send_at = extras.parse_send_at(item["send_at"], problems)
        if send_at is not None:
            payload["send_at"] = send_at.isoformat(timespec="seconds") + "Z"
    addresses = [a for a, _ in (*to_list[1:], *cc, *bcc) if a]
    if not addresses and not files:
        return None, send_at
    return _Extra(addresses, files), send_at


_MISSING = object()


def _render_subject(
    lookups: _Lookups, subject: str, to: str, variables: Mapping[str, Any], problems: dict
) -> str | None:
    """The subject of a template message as it will be sent (rendered once, when accepted),
    or None with the problem added: a variable the template could not see (a name the template
    language keeps for itself), a render error, or a subject too long once rendered."""
    context = message_context(to, variables)
    hidden = sorted(k for k, v in variables.items() if context.get(k, _MISSING) is not v)
    if hidden:
        problems["variables"] = (
            f"Reserved name{'s' if len(hidden) > 1 else ''} in variables: {', '.join(hidden)} "
            "(templates cannot see a variable by that name). Rename "
            f"{'them' if len(hidden) > 1 else 'it'}."
        )
        return None
    try:
        rendered = lookups.subject(subject).render(context).subject
    except (RenderError, TemplateSyntaxProblem) as exc:
        problems["subject"] = f"The subject cannot be rendered: {exc}."
        return None
    if len(rendered) > MAX_SUBJECT:
        problems["subject"] = f"The subject is over {MAX_SUBJECT} characters once rendered."
        return None
    return rendered


def _identity(value: Any, lookups: _Lookups, problems: dict[str, str]) -> Identity | None:
    if value is None:
        if lookups.default_identity is None:
            problems["from"] = "No sender identity exists yet: create one under Senders."
        return lookups.default_identity
    if isinstance(value, int) and not isinstance(value, bool):
        found = lookups.identities.get(value)
        if found is None:
            problems["from"] = f"No sender identity with id {value}."
        return found
    try:
        email = normalize_email(str(value))
    except InvalidEmail:
        email = ""
    found = lookups.identity_by_email.get(email)
    if found is None:
        problems["from"] = (
            "Use the id or the address of a sender identity (Senders); "
            f"{str(value)[:100]!r} is neither."
        )
    return found


def _channel(value: Any, lookups: _Lookups, problems: dict[str, str]) -> Channel | None:
    if value is None:
        if lookups.default_channel is None:
            problems["channel"] = "No active sending channel exists: create one under Channels."
        return lookups.default_channel
    if isinstance(value, int) and not isinstance(value, bool):
        found = lookups.channels.get(value)
    else:
        found = lookups.channel_by_name.get(str(value))
    if found is None:
        problems["channel"] = f"No active channel {value!r} (give its id or its name)."
    return found


def wake(channel_ids: Iterable[int], client: Redis | None = None) -> list[int]:
    """Make sure a drain job is queued or running for each channel; returns those enqueued."""
    return [
        channel_id
        for channel_id in sorted(set(channel_ids))
        if drain_job(channel_id).wake(lambda c=channel_id: dispatch.drain_transactional(c), client)
    ]


def drain_job(channel_id: int) -> KeyedJob:
    """One drain job per channel is queued or running."""
    return KeyedJob(FLAG_KEY.format(channel_id), FLAG_TTL)

"""Public signup: forms (editing, their snippet), a visitor's post (bot checks, double opt-in),
the confirmation email and link, and the purge of people who never confirmed."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import delete, select

from mailer.engine.rendering import RenderError, TemplateSyntaxProblem, compile_email
from mailer.engine.transactional import accept as transactional
from mailer.extensions import db
from mailer.lib import branding, erased
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import ValidationError
from mailer.models import (
    Channel,
    Consent,
    ConsentSource,
    Identity,
    Import,
    ListConfirmation,
    MailingList,
    SignupForm,
    Subscriber,
    SubscriberStatus,
)
from mailer.models.base import utcnow
from mailer.queue import get_redis, lua_script
from mailer.services import privacy

log = logging.getLogger(__name__)

HONEYPOT = "website"  # a field people never see; bots fill it
STAMP = "stamp"  # when the page was served, signed
MAX_FIELDS = 10
MAX_VALUE = 500
PURGE_CHUNK = 1000
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_RESERVED = {"email", "name", "first_name", "last_name", "list", HONEYPOT, STAMP, "locale"}


# ------------------------------------------------------------------ editing forms


@dataclass(frozen=True)
class FormInput:
    """A form as the settings page posts it."""

    name: str
    title: str
    intro: str
    lists: list[tuple[int, str]]  # (list id, label)
    fields_text: str  # "key: Question", one per line, "*" at the end when required
    ask_name: bool
    thank_you_url: str


def parse_fields(text: str) -> list[dict]:
    out: list[dict] = []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        key, sep, label = line.partition(":")
        key, label = key.strip(), label.strip()
        required = label.endswith("*")
        label = label.rstrip("*").strip()
        if not sep or not _KEY.fullmatch(key) or key in _RESERVED or not label:
            raise ValidationError(
                {
                    "fields": _(
                        "Line %(line)s: write “attribute: Question”, e.g. “city: Your city”.",
                        line=number,
                    )
                }
            )
        out.append({"name": key, "label": label[:200], "required": required})
    if len(out) > MAX_FIELDS:
        raise ValidationError({"fields": _("At most %(n)s questions.", n=MAX_FIELDS)})
    return out


def fields_text(form: SignupForm) -> str:
    return "\n".join(
        f"{f['name']}: {f['label']}{' *' if f.get('required') else ''}" for f in form.fields
    )


def _check(data: FormInput) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = _("Give the form a name.")
    known = set(db.session.scalars(select(MailingList.id)))
    chosen = [(i, label.strip()[:200]) for i, label in data.lists if i in known]
    if not chosen:
        errors["lists"] = _("Choose at least one list.")
    elif any(not label for _i, label in chosen):
        errors["lists"] = _("Give each chosen list the name visitors will read.")
    url = data.thank_you_url.strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            errors["thank_you_url"] = _("Give a full web address (https://…), or leave it empty.")
    try:
        parsed_fields = parse_fields(data.fields_text)
    except ValidationError as exc:
        errors.update(exc.errors)
        parsed_fields = []
    if errors:
        raise ValidationError(errors)
    return {
        "name": name[:200],
        "title": data.title.strip()[:200],
        "intro": data.intro.strip()[:2000],
        "lists": [{"id": i, "label": label} for i, label in chosen],
        "fields": parsed_fields,
        "ask_name": data.ask_name,
        "thank_you_url": url or None,
    }


def create_form(data: FormInput) -> SignupForm:
    form = SignupForm(public_id=secrets.token_urlsafe(12), **_check(data))
    db.session.add(form)
    db.session.commit()
    return form


def update_form(form: SignupForm, data: FormInput) -> None:
    for key, value in _check(data).items():
        setattr(form, key, value)
    db.session.commit()


def delete_form(form: SignupForm) -> None:
    db.session.delete(form)
    db.session.commit()


def all_forms() -> list[SignupForm]:
    return list(db.session.scalars(select(SignupForm).order_by(SignupForm.name)))


def by_public_id(public_id: str) -> SignupForm | None:
    return db.session.scalar(select(SignupForm).where(SignupForm.public_id == public_id))


def snippet(form: SignupForm, action: str, script: str | None = None) -> str:
    """HTML to paste into any website: posts to ``action`` (the hosted page's URL). Its
    timestamp is filled by ``script`` (static/js/signup-embed.js); without it (scripts off, a
    site that refuses foreign scripts) the hosted page asks once more, with one."""
    e = escape
    lines = [f'<form method="post" action="{e(action)}" class="mailer-signup">']
    lines.append(f'  <label>{e(_("Email"))} <input type="email" name="email" required></label>')
    if form.ask_name:
        lines.append(f'  <label>{e(_("Name"))} <input name="name"></label>')
    for field in form.fields:
        required = " required" if field.get("required") else ""
        lines.append(
            f'  <label>{e(field["label"])} <input name="{e(field["name"])}"{required}></label>'
        )
    if len(form.lists) > 1:
        for item in form.lists:
            lines.append(
                f'  <label><input type="checkbox" name="list" value="{item["id"]}" checked> '
                f"{e(item['label'])}</label>"
            )
    lines.append(
        f'  <input name="{HONEYPOT}" tabindex="-1" autocomplete="off" aria-hidden="true" hidden>'
    )
    lines.append(f'  <input type="hidden" name="{STAMP}" value="">')
    lines.append(f'  <button type="submit">{e(_("Subscribe"))}</button>')
    lines.append("</form>")
    if script:
        lines.append(f'<script src="{e(script)}" defer></script>')
    return "\n".join(lines)


# ------------------------------------------------------------------ bot checks


def stamp(form: SignupForm, at: float | None = None) -> str:
    """The signed moment the form was served, for its hidden field."""
    body = f"{form.public_id}.{int(at if at is not None else time.time())}"
    mac = hmac.new(_stamp_key(), body.encode(), hashlib.sha256).hexdigest()[:24]
    return f"{body}.{mac}"


def _stamp_key() -> bytes:
    return hashlib.sha256(
        b"mailer-signup-stamp:" + current_app.config["SECRET_KEY"].encode()
    ).digest()


class StampProblem(Exception):
    """The form's timestamp is missing, forged, too recent or too old (``kind``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "missing", "invalid", "too_fast", "expired"
        super().__init__(kind)


def check_stamp(form: SignupForm, value: str | None) -> None:
    if not value:
        raise StampProblem("missing")
    body, _dot, mac = value.rpartition(".")
    public_id, _dot, served = body.rpartition(".")
    expected = hmac.new(_stamp_key(), body.encode(), hashlib.sha256).hexdigest()[:24]
    if (
        public_id != form.public_id
        or not served.isdigit()
        or not hmac.compare_digest(mac, expected)
    ):
        raise StampProblem("invalid")
    age = time.time() - int(served)
    if age < current_app.config["MAILER_SIGNUP_MIN_SECONDS"]:
        raise StampProblem("too_fast")
    if age > current_app.config["MAILER_SIGNUP_MAX_AGE_SECONDS"]:
        raise StampProblem("expired")


# KEYS: counters; ARGV[1]: window (s), ARGV[i + 1]: limit of KEYS[i]. Counts one post on each,
# or on none when one is past its limit (a refused post uses no allowance): then returns 1.
_COUNT = """
local over = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, tonumber(ARGV[1])) end
  if n > tonumber(ARGV[i + 1]) then over = 1 end
end
if over == 1 then
  for _, key in ipairs(KEYS) do redis.call('DECR', key) end
end
return over
"""
RATE_WINDOW = 3600


def over_rate_limit(email: str, ip: str) -> bool:
    """Counts this post against its address's and its client's hourly allowance."""
    config = current_app.config
    address = hashlib.sha256(email.encode()).hexdigest()[:32]
    keys = [f"mailer:signup:addr:{address}", f"mailer:signup:ip:{ip}"]
    limits = [config["MAILER_SIGNUP_PER_ADDRESS"], config["MAILER_SIGNUP_PER_IP"]]
    return bool(lua_script(_COUNT)(keys=keys, args=[RATE_WINDOW, *limits], client=get_redis()))


# ------------------------------------------------------------------ a visitor's post


@dataclass(frozen=True)
class Outcome:
    email: str
    confirm: bool  # a confirmation email was sent (or someone already on the list was left be)


def clean_post(form: SignupForm, values: dict[str, Any], chosen: list[str]) -> dict[str, Any]:
    """The post's address, name, attributes and lists; ValidationError names bad fields."""
    errors: dict[str, str] = {}
    try:
        email = normalize_email(str(values.get("email") or "")[:300])
    except InvalidEmail:
        email = ""
        errors["email"] = _("Enter a valid email address, e.g. name@example.com.")
    attributes: dict[str, str] = {}
    for field in form.fields:
        value = str(values.get(field["name"]) or "").strip()[:MAX_VALUE]
        if value:
            attributes[field["name"]] = value
        elif field.get("required"):
            errors[field["name"]] = _("Please fill this in.")
    offered = [item["id"] for item in form.lists]
    if len(offered) > 1:
        list_ids = [i for i in offered if str(i) in chosen]
        if not list_ids:
            errors["list"] = _("Choose at least one.")
    else:
        list_ids = offered
    if errors:
        raise ValidationError(errors)
    name = str(values.get("name") or "").strip()[:200] if form.ask_name else ""
    return {"email": email, "name": name or None, "attributes": attributes, "list_ids": list_ids}


def submit(form: SignupForm, clean: dict[str, Any], ip: str, locale: str) -> Outcome:
    """Add the person to the form's chosen lists: unconfirmed with a confirmation email where
    the list asks for it, subscribed at once elsewhere; someone already there is left as is."""
    email, now = clean["email"], utcnow()
    pending: list[tuple[Consent, MailingList]] = []
    for list_id in clean["list_ids"]:
        mailing_list = db.session.get(MailingList, list_id)
        if mailing_list is None:
            continue
        double = confirmation_settings(list_id).double_opt_in
        subscriber = db.session.scalar(
            select(Subscriber).where(Subscriber.list_id == list_id, Subscriber.email == email)
        )
        if subscriber is not None and subscriber.status == SubscriberStatus.SUBSCRIBED:
            continue  # nothing to tell a stranger: same answer as for a new address
        if subscriber is not None and subscriber.status not in (
            SubscriberStatus.UNSUBSCRIBED,
            SubscriberStatus.UNCONFIRMED,
        ):
            continue  # bounced or complained: not ours to undo from a public form
        if subscriber is None:
            attributes = dict(clean["attributes"])
            attributes["locale"] = locale
            subscriber = Subscriber(
                list_id=list_id,
                email=email,
                name=clean["name"],
                attributes=attributes,
                status=(
                    SubscriberStatus.UNCONFIRMED if double else SubscriberStatus.SUBSCRIBED
                ).value,
            )
            db.session.add(subscriber)
            db.session.flush()
        else:
            if subscriber.status == SubscriberStatus.UNCONFIRMED:
                subscriber.created_at = now  # asked again: the purge counts from the new link
            subscriber.attributes = {**(subscriber.attributes or {}), **clean["attributes"]}
            if clean["name"]:
                subscriber.name = clean["name"]
            if not double:
                subscriber.status = SubscriberStatus.SUBSCRIBED.value
                subscriber.unsubscribed_at = None
        consent = Consent(
            subscriber_id=subscriber.id,
            source=ConsentSource.FORM,
            form_id=form.id,
            form_name=form.name,
            requested_at=now,
            request_ip=ip,
            confirmed_at=None if double else now,
            confirm_ip=None if double else ip,
        )
        db.session.add(consent)
        if double:
            pending.append((consent, mailing_list))
    db.session.commit()
    if pending:
        labels = {item["id"]: item["label"] for item in form.lists}
        send_confirmation(
            email,
            clean["name"],
            [c.id for c, _l in pending],
            pending[0][1].id,
            [labels.get(m.id, "") for _c, m in pending],
            locale,
        )
    return Outcome(email, confirm=bool(pending))


# ------------------------------------------------------------------ the confirmation email


def confirmation_settings(list_id: int) -> ListConfirmation:
    """The list's settings, or the defaults (unsaved) when it has none."""
    found = db.session.scalar(select(ListConfirmation).where(ListConfirmation.list_id == list_id))
    return found or ListConfirmation(list_id=list_id, double_opt_in=True)


def save_confirmation_settings(list_id: int, form: dict[str, Any]) -> ListConfirmation:
    errors: dict[str, str] = {}
    settings = db.session.scalar(
        select(ListConfirmation).where(ListConfirmation.list_id == list_id)
    ) or ListConfirmation(list_id=list_id)
    settings.double_opt_in = bool(form.get("double_opt_in"))
    channel_id = _int(form.get("channel_id"))
    identity_id = _int(form.get("identity_id"))
    if channel_id is not None and db.session.get(Channel, channel_id) is None:
        errors["channel_id"] = _("Choose a sending channel.")
    if identity_id is not None and db.session.get(Identity, identity_id) is None:
        errors["identity_id"] = _("Choose a sender.")
    subject = (form.get("subject") or "").strip()
    html = (form.get("html") or "").strip()
    if html and "confirm_url" not in html:
        errors["html"] = _("Put {{ confirm_url }} in the email: it is the link people click.")
    if subject or html:
        try:
            compile_email(subject or "x", html or "x")
        except TemplateSyntaxProblem as exc:
            errors["html"] = _("The email has an error: %(problem)s", problem=str(exc))
    if len(subject) > 500:
        errors["subject"] = _("Use at most %(n)s characters.", n=500)
    if errors:
        db.session.rollback()
        raise ValidationError(errors)
    settings.channel_id, settings.identity_id = channel_id, identity_id
    settings.subject, settings.html = subject or None, html or None
    db.session.add(settings)
    db.session.commit()
    return settings


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def default_subject() -> str:
    return _("Please confirm your subscription")


def default_html() -> str:
    return (
        "<p>" + _("Hello,") + "</p>\n<p>"
        + _("Someone, probably you, asked to receive emails from {{ organisation }} at this "
            "address.")
        + "</p>\n{% if lists %}<p>" + _("What you will receive: {{ lists }}.") + "</p>{% endif %}"
        + '\n<p><a href="{{ confirm_url }}">' + _("Yes, subscribe me") + "</a></p>\n<p>"
        + _("If it was not you, ignore this email: you will not be added.") + "</p>"
    )  # fmt: skip


def confirmation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="mailer-signup-confirm")


def confirm_token(consent_ids: list[int]) -> str:
    return confirmation_serializer().dumps(consent_ids)


def send_confirmation(
    email: str,
    name: str | None,
    consent_ids: list[int],
    list_id: int,
    labels: list[str],
    locale: str,
) -> bool:
    """Queue the confirmation email on the list's channel, through the transactional path;
    False when it could not be queued (no channel or sender yet, suppressed address)."""
    settings = confirmation_settings(list_id)
    brand = branding.load()
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    context = {
        "confirm_url": f"{base}/subscribe/confirm/{confirm_token(consent_ids)}",
        "organisation": brand.name or base.split("//", 1)[-1],
        "lists": ", ".join(label for label in labels if label),
        "email": email,
        "name": name or "",
    }
    with force_locale(locale):
        subject = settings.subject or default_subject()
        html = settings.html or default_html()
    try:
        rendered = compile_email(subject, html).render(context)
    except (RenderError, TemplateSyntaxProblem):
        log.warning("signup: the confirmation email of list %s cannot be rendered", list_id)
        return False
    item = {
        "to": email,
        "from": settings.identity_id,
        "channel": settings.channel_id,
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
        "tags": ["signup-confirmation"],
        "track_opens": False,
        "track_clicks": False,
    }
    try:
        outcomes = transactional.accept([item], None)
    except ValidationError as exc:
        log.warning("signup: confirmation email not queued: %s", "; ".join(exc.errors))
        return False
    return outcomes[0].queued


# ------------------------------------------------------------------ confirming


@dataclass(frozen=True)
class Confirmation:
    email: str
    list_ids: list[int]
    already: bool  # confirmed before


def pending(token: str) -> list[Consent] | None:
    """The consents a confirmation link stands for, None for a bad or expired link."""
    max_age = int(current_app.config["MAILER_UNCONFIRMED_DAYS"]) * 86400
    try:
        ids = confirmation_serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        return None
    consents = list(db.session.scalars(select(Consent).where(Consent.id.in_(ids[:50]))))
    return consents or None


def confirm(consents: list[Consent], ip: str) -> Confirmation:
    """Subscribe the people these consents name, recording when and from where."""
    now, email, list_ids, already = utcnow(), "", [], True
    for consent in consents:
        subscriber = db.session.get(Subscriber, consent.subscriber_id)
        if subscriber is None:
            continue
        email = subscriber.email
        list_ids.append(subscriber.list_id)
        if consent.confirmed_at is None:
            already = False
            consent.confirmed_at, consent.confirm_ip = now, ip
        if subscriber.status in (SubscriberStatus.UNCONFIRMED, SubscriberStatus.UNSUBSCRIBED):
            subscriber.status = SubscriberStatus.SUBSCRIBED.value
            subscriber.unsubscribed_at = None
    if email:
        erased.forget(email)  # fresh consent: an address erased earlier may come back
    db.session.commit()
    return Confirmation(email, list_ids, already)


def subscriber_locale(consents: list[Consent]) -> str | None:
    subscriber = db.session.get(Subscriber, consents[0].subscriber_id)
    return (subscriber.attributes or {}).get("locale") if subscriber else None


# ------------------------------------------------------------------ consent records


def declare(subscriber: Subscriber, source: str, *, confirmed: bool = True) -> Consent:
    """Record consent the UI or the API declares (``confirmed``), or a request to confirm."""
    now = utcnow()
    consent = Consent(
        subscriber_id=subscriber.id,
        source=source,
        requested_at=now,
        confirmed_at=now if confirmed else None,
    )
    db.session.add(consent)
    db.session.commit()
    return consent


def ask_to_confirm(subscriber: Subscriber, source: str) -> bool:
    """Make a new subscriber unconfirmed and send them the list's confirmation email."""
    subscriber.status = SubscriberStatus.UNCONFIRMED.value
    consent = declare(subscriber, source, confirmed=False)
    locale = (subscriber.attributes or {}).get("locale") or "en"
    return send_confirmation(
        subscriber.email,
        subscriber.name or subscriber.first_name,
        [consent.id],
        subscriber.list_id,
        [],  # internal list names stay internal
        locale if locale in ("en", "fr") else "en",
    )


def ask_imported_to_confirm(import_id: int, batch: int = 500) -> int:
    """Email the people an import ("confirm" mode) added and not yet asked; safe to run again
    (a consent record marks who was asked). Returns how many emails were queued."""
    record = db.session.get(Import, import_id)
    if record is None or record.list_id is None:
        return 0
    asked, after = 0, 0
    while True:
        rows = db.session.execute(
            select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.attributes)
            .where(
                Subscriber.list_id == record.list_id,
                Subscriber.import_id == import_id,
                Subscriber.status == SubscriberStatus.UNCONFIRMED.value,
                Subscriber.id > after,
                ~select(Consent.id).where(Consent.subscriber_id == Subscriber.id).exists(),
            )
            .order_by(Subscriber.id)
            .limit(batch)
        ).all()
        if not rows:
            return asked
        after = rows[-1].id
        now = utcnow()
        for row in rows:
            consent = Consent(subscriber_id=row.id, source=ConsentSource.IMPORT, requested_at=now)
            db.session.add(consent)
            db.session.flush()
            locale = (row.attributes or {}).get("locale")
            sent = send_confirmation(
                row.email,
                row.name,
                [consent.id],
                record.list_id,
                [],  # internal list names stay internal
                locale if locale in ("en", "fr") else "en",
            )
            asked += int(sent)
        db.session.commit()


def consents_of(subscriber_id: int) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent)
            .where(Consent.subscriber_id == subscriber_id)
            .order_by(Consent.requested_at.desc(), Consent.id.desc())
        )
    )


# ------------------------------------------------------------------ purge


def purge_unconfirmed(now=None) -> int:
    """Remove people who did not confirm within MAILER_UNCONFIRMED_DAYS (their link has
    expired), and the requests of others that were never confirmed; returns people removed."""
    days = int(current_app.config["MAILER_UNCONFIRMED_DAYS"])
    cutoff = (now or utcnow()) - timedelta(days=days)
    removed = 0
    while True:
        ids = db.session.scalars(
            select(Subscriber.id)
            .where(
                Subscriber.status == SubscriberStatus.UNCONFIRMED.value,
                Subscriber.created_at < cutoff,
            )
            .limit(PURGE_CHUNK)
        ).all()
        if not ids:
            break
        db.session.execute(delete(Consent).where(Consent.subscriber_id.in_(ids)))
        db.session.execute(delete(Subscriber).where(Subscriber.id.in_(ids)))
        db.session.commit()
        removed += len(ids)
    db.session.execute(
        delete(Consent).where(Consent.confirmed_at.is_(None), Consent.requested_at < cutoff)
    )
    db.session.commit()
    return removed


# ------------------------------------------------------------------ personal data (GDPR)


def _consent_records(footprint) -> list[dict]:
    """The person's consent records, for their data export."""
    rows = db.session.scalars(
        select(Consent)
        .where(Consent.subscriber_id.in_(footprint.subscriber_ids))
        .order_by(Consent.id)
    )
    return [
        {
            "subscriber_id": c.subscriber_id,
            "source": c.source,
            "form": c.form_name,
            "requested_at": privacy.iso(c.requested_at),
            "request_ip": c.request_ip,
            "confirmed_at": privacy.iso(c.confirmed_at),
            "confirm_ip": c.confirm_ip,
        }
        for c in rows
    ]


def _erase_consent_records(footprint) -> int:
    """Gone with the subscriber rows (cascade); deleted here too where foreign keys are off."""
    result = db.session.execute(
        delete(Consent).where(Consent.subscriber_id.in_(footprint.subscriber_ids))
    )
    db.session.commit()
    return result.rowcount or 0


privacy.register("consent_records", _consent_records, _erase_consent_records)

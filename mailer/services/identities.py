"""Sender identities: who a message is from (name, address, reply-to)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func

from mailer.extensions import db
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import CampaignChannel, Identity

NAME_MAX = 120
FROM_NAME_MAX = 120


def list_identities() -> list[Identity]:
    return list(db.session.scalars(db.select(Identity).order_by(Identity.name)))


def get_identity(identity_id: int) -> Identity | None:
    return db.session.get(Identity, identity_id)


def usage_count(identity: Identity) -> int:
    """How many campaigns send as this identity."""
    query = db.select(func.count(func.distinct(CampaignChannel.campaign_id))).filter_by(
        identity_id=identity.id
    )
    return db.session.scalar(query) or 0


def _clean(form: Mapping[str, str], current: Identity | None) -> dict[str, str | None]:
    name = (form.get("name") or "").strip()
    from_email = (form.get("from_email") or "").strip()
    from_name = (form.get("from_name") or "").strip()
    reply_to = (form.get("reply_to") or "").strip()
    errors: dict[str, str] = {}

    if not name:
        errors["name"] = _("Give the sender a name, e.g. “Newsletter”.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Use at most %(num)s characters.", num=NAME_MAX)
    else:
        query = db.select(Identity.id).filter_by(name=name)
        if current is not None:
            query = query.where(Identity.id != current.id)
        if db.session.scalar(query.limit(1)):
            errors["name"] = _("Another sender already has this name.")

    try:
        from_email = normalize_email(from_email)
    except InvalidEmail as exc:
        errors["from_email"] = _("Enter a valid email address (%(reason)s).", reason=exc.reason)

    if len(from_name) > FROM_NAME_MAX:
        errors["from_name"] = _("Use at most %(num)s characters.", num=FROM_NAME_MAX)
    elif any(c in from_name for c in "\r\n"):
        errors["from_name"] = _("The name cannot contain line breaks.")

    if reply_to:
        try:
            reply_to = normalize_email(reply_to)
        except InvalidEmail as exc:
            errors["reply_to"] = _(
                "Enter a valid email address or leave it empty (%(reason)s).", reason=exc.reason
            )

    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "from_email": from_email,
        "from_name": from_name,
        "reply_to": reply_to or None,
    }


def create_identity(form: Mapping[str, str]) -> Identity:
    identity = Identity(**_clean(form, None))
    db.session.add(identity)
    db.session.commit()
    return identity


def update_identity(identity: Identity, form: Mapping[str, str]) -> Identity:
    for key, value in _clean(form, identity).items():
        setattr(identity, key, value)
    db.session.commit()
    return identity


def delete_identity(identity: Identity) -> None:
    used = usage_count(identity)
    if used:
        raise NotAllowed(
            ngettext(
                "“%(name)s” is the sender of %(num)d campaign. "
                "Choose another sender in that campaign first.",
                "“%(name)s” is the sender of %(num)d campaigns. "
                "Choose another sender in those campaigns first.",
                used,
                name=identity.name,
            )
        )
    db.session.delete(identity)
    db.session.commit()


def formatted(identity: Identity) -> str:
    """``Name <address>`` as shown in lists and pickers."""
    if identity.from_name:
        return f"{identity.from_name} <{identity.from_email}>"
    return identity.from_email

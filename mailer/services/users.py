"""Creating and managing the people who use Mailer."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _

from mailer.extensions import db
from mailer.lib.emails import is_valid_email
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import Role, User

MIN_PASSWORD = 10


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(
    email: str, role: str, name: str = "", password: str | None = None
) -> tuple[User, str]:
    """Create a user; returns it with its password (generated when not given)."""
    email = (email or "").strip().lower()
    errors: dict[str, str] = {}
    if not is_valid_email(email):
        errors["email"] = _("Enter a valid email address.")
    elif db.session.scalar(db.select(User.id).filter_by(email=email)):
        errors["email"] = _("A user with this email already exists.")
    if role not in {r.value for r in Role}:
        errors["role"] = _("Choose admin, marketer or viewer.")
    if password is not None and len(password) < MIN_PASSWORD:
        errors["password"] = _("Use at least %(n)s characters.", n=MIN_PASSWORD)
    if errors:
        raise ValidationError(errors)
    password = password or generate_password()
    user = User(email=email, name=name.strip(), role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user, password


def update_user(user: User, *, acting: User, role: str, active: bool, name: str) -> None:
    if role not in {r.value for r in Role}:
        raise ValidationError({"role": _("Choose admin, marketer or viewer.")})
    if user.id == acting.id and (role != Role.ADMIN or not active):
        raise NotAllowed(_("You cannot remove your own admin role or deactivate yourself."))
    if role != user.role or not active:
        user.rotate_session_token()  # its sessions end: the next login gets the new role
    user.role, user.active, user.name = role, active, name.strip()
    db.session.commit()


def reset_password(user: User) -> str:
    """A new generated password; every session and remember cookie of the user ends."""
    password = generate_password()
    user.set_password(password)
    db.session.commit()
    return password


def change_password(user: User, current: str, new: str, repeat: str) -> None:
    """A person's own new password, checked against their current one; every session and
    remember cookie of theirs ends (the caller keeps the current browser logged in)."""
    errors: dict[str, str] = {}
    if not user.check_password(current or ""):
        errors["current"] = _("This is not your current password.")
    if len(new or "") < MIN_PASSWORD:
        errors["new"] = _("Use at least %(n)s characters.", n=MIN_PASSWORD)
    elif new != repeat:
        errors["repeat"] = _("The two new passwords are not the same.")
    if errors:
        raise ValidationError(errors)
    user.set_password(new)
    db.session.commit()


def set_language(user: User, language: str, languages: tuple[str, ...]) -> None:
    """The UI language a person picked among ``languages``; empty: their browser's."""
    if language not in ("", *languages):
        raise ValidationError({"language": _("Choose one of the languages in the list.")})
    user.locale = language
    db.session.commit()


def end_sessions(user: User) -> None:
    """Log the user out everywhere: every session and remember cookie stops working."""
    user.rotate_session_token()
    db.session.commit()


def delete_user(user: User, *, acting: User) -> None:
    """Its sessions end with it: a later user given the same id has another session token."""
    if user.id == acting.id:
        raise NotAllowed(_("You cannot delete yourself."))
    db.session.delete(user)
    db.session.commit()


def ensure_first_admin() -> tuple[User, str] | None:
    """Create admin@example.com with a generated password if there is no admin yet."""
    if db.session.scalar(db.select(User.id).filter_by(role=Role.ADMIN.value).limit(1)):
        return None
    return create_user("admin@example.com", Role.ADMIN.value, name="Admin")


def admin_emails(limit: int = 3) -> list[str]:
    """Whom to ask for a wider role: a few active admins."""
    return db.session.scalars(
        db.select(User.email)
        .filter_by(role=Role.ADMIN.value, active=True)
        .order_by(User.email)
        .limit(limit)
    ).all()

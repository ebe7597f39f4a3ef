"""Creating and managing the people who use Mailer."""

from __future__ import annotations

import secrets

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
        errors["email"] = "Enter a valid email address."
    elif db.session.scalar(db.select(User.id).filter_by(email=email)):
        errors["email"] = "A user with this email already exists."
    if role not in {r.value for r in Role}:
        errors["role"] = "Choose admin, marketer or viewer."
    if password is not None and len(password) < MIN_PASSWORD:
        errors["password"] = f"Use at least {MIN_PASSWORD} characters."
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
        raise ValidationError({"role": "Choose admin, marketer or viewer."})
    if user.id == acting.id and (role != Role.ADMIN or not active):
        raise NotAllowed("You cannot remove your own admin role or deactivate yourself.")
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


def end_sessions(user: User) -> None:
    """Log the user out everywhere: every session and remember cookie stops working."""
    user.rotate_session_token()
    db.session.commit()


def delete_user(user: User, *, acting: User) -> None:
    """Its sessions end with it: a later user given the same id has another session token."""
    if user.id == acting.id:
        raise NotAllowed("You cannot delete yourself.")
    db.session.delete(user)
    db.session.commit()


def ensure_first_admin() -> tuple[User, str] | None:
    """Create admin@example.com with a generated password if there is no admin yet."""
    if db.session.scalar(db.select(User.id).filter_by(role=Role.ADMIN.value).limit(1)):
        return None
    return create_user("admin@example.com", Role.ADMIN.value, name="Admin")

"""The sender's branding (organisation name, logo, colour, postal address), kept in the
``installation`` table so every host reads the same; recipient pages and the default email
footer show it."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import delete, select

from mailer.extensions import db
from mailer.models.base import utcnow
from mailer.models.installation import InstallationValue

PREFIX = "brand_"
DEFAULT_COLOR = "#1e6fd9"


@dataclass(frozen=True)
class Branding:
    name: str = ""
    logo_url: str = ""
    color: str = ""
    address: str = ""  # postal address, several lines

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]


def load() -> Branding:
    rows = db.session.execute(
        select(InstallationValue.name, InstallationValue.value).where(
            InstallationValue.name.like(f"{PREFIX}%")
        )
    )
    values = {name.removeprefix(PREFIX): value for name, value in rows}
    return Branding(**{f.name: values.get(f.name, "") for f in fields(Branding)})


def store(branding: Branding) -> None:
    """Replace the stored branding (empty values are not stored)."""
    names = [PREFIX + f.name for f in fields(Branding)]
    db.session.execute(delete(InstallationValue).where(InstallationValue.name.in_(names)))
    now = utcnow()
    for f in fields(Branding):
        value = getattr(branding, f.name)
        if value:
            db.session.add(InstallationValue(name=PREFIX + f.name, value=value, updated_at=now))
    db.session.commit()

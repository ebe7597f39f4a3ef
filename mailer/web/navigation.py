"""The main navigation: items appear once their blueprint is registered."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l

from mailer.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str  # lazy: translated when the page renders
    endpoint: str
    role: Role = Role.VIEWER
    settings: bool = False  # under the "Settings" menu instead of the top bar


NAV = (
    NavItem(_l("Dashboard"), "dashboard.index"),
    NavItem(_l("Campaigns"), "campaigns.index"),
    NavItem(_l("Lists"), "lists.index"),
    NavItem(_l("People"), "people.index"),
    NavItem(_l("Forms"), "signup_forms.index"),  # signup forms: a short word for the bar
    NavItem(_l("Templates"), "templates.index"),
    NavItem(_l("Images"), "assets.index"),  # issue 18: the image library
    NavItem(_l("Senders"), "identities.index"),
    NavItem(_l("Suppressions"), "suppressions.index"),
    NavItem(_l("Outbox"), "outbox.index"),
    NavItem(_l("Channels"), "channels.index", Role.ADMIN, settings=True),
    NavItem(_l("Users"), "users.index", Role.ADMIN, settings=True),
    NavItem(_l("API keys"), "api_keys.index", Role.ADMIN, settings=True),
    NavItem(_l("Webhooks"), "webhook_endpoints.index", Role.ADMIN, settings=True),
    NavItem(_l("Queues"), "queues.index", Role.ADMIN, settings=True),
    NavItem(_l("Personal data"), "privacy.index", Role.ADMIN, settings=True),  # issue 20
    NavItem(_l("Branding"), "branding.edit", Role.ADMIN, settings=True),
)


def init_app(app: Flask) -> None:
    @app.context_processor
    def _nav():
        return {"nav_items": visible_items, "nav_active": active_blueprint}


def visible_items(user) -> list[NavItem]:
    functions = current_app.view_functions
    return [i for i in NAV if i.endpoint in functions and user.can(i.role)]


def active_blueprint() -> str | None:
    return request.blueprint

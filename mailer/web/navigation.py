"""The main navigation: items appear once their blueprint is registered."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request

from mailer.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    role: Role = Role.VIEWER
    settings: bool = False  # under the "Settings" menu instead of the top bar


NAV = (
    NavItem("Dashboard", "dashboard.index"),
    NavItem("Campaigns", "campaigns.index"),
    NavItem("Lists", "lists.index"),
    NavItem("Templates", "templates.index"),
    NavItem("Senders", "identities.index"),
    NavItem("Suppressions", "suppressions.index"),
    NavItem("Outbox", "outbox.index"),
    NavItem("Channels", "channels.index", Role.ADMIN, settings=True),
    NavItem("Users", "users.index", Role.ADMIN, settings=True),
    NavItem("API keys", "api_keys.index", Role.ADMIN, settings=True),
    NavItem("Webhooks", "webhook_endpoints.index", Role.ADMIN, settings=True),
    NavItem("Queues", "queues.index", Role.ADMIN, settings=True),
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

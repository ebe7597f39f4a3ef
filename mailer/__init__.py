"""Mailer: a self-hosted bulk and transactional email platform."""

from __future__ import annotations

import os

from flask import Flask

from config import Config


def create_app(config_class: type = Config, **overrides) -> Flask:
    """Build the app: settings, extensions, blueprints. No I/O beyond the instance folder."""
    instance_path = overrides.pop("INSTANCE_PATH", None) or config_class.INSTANCE_PATH
    app = Flask(__name__, instance_path=os.path.abspath(instance_path))
    app.config.from_object(config_class)
    app.config.update(overrides)
    _fill_defaults(app)
    from mailer import logging as mailer_logging

    mailer_logging.init_app(app)  # first: its request hook stamps the id before any other

    from mailer import api
    from mailer.cli import commands
    from mailer.extensions import csrf, db, login_manager, migrate
    from mailer.web import (
        auth,
        errors,
        htmx,
        i18n,
        navigation,
        proxies,
        routing,
        rq_dashboard,
        security_headers,
    )
    from mailer.web.tracking import FastHits

    routing.init_app(app)  # before any route: bounds every <int:…> id
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    login_manager.init_app(app)
    i18n.init_app(app)
    csrf.init_app(app)
    security_headers.init_app(app)
    htmx.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    navigation.init_app(app)
    commands.init_app(app)
    _register_blueprints(app)
    api.init_app(app)
    rq_dashboard.init_app(app)
    app.wsgi_app = FastHits(app, app.wsgi_app)  # pixel and click hits answered before Flask
    proxies.init_app(app)  # last: wraps the WSGI app
    return app


def _fill_defaults(app: Flask) -> None:
    """SQLite file and generated secrets under instance/ when the environment gives none
    (secrets only for SQLite: hosts sharing a database must share keys)."""
    from mailer import private_files

    private_files.restrict_process()  # what this process writes is for its user only
    private_files.private_dir(app.instance_path)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        path = os.path.join(app.instance_path, "mailer.db")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    if not (app.config["SECRET_KEY"] and app.config["ENCRYPTION_KEY"]):
        from mailer.lib.secrets import load_or_create, refuse_missing

        refuse_missing(app.config, app.instance_path)  # a shared database: keys must be given
        generated = load_or_create(app.instance_path)
        for key, value in generated.items():
            app.config[key] = app.config[key] or value


def _register_blueprints(app: Flask) -> None:
    from mailer.web import (  # issue 20
        api_keys,
        archive,
        assets,
        auth_views,
        branding,
        campaigns,
        channels,
        dashboard,
        failed_sends,
        health,
        identities,
        import_mapping,
        lists,
        outbox,
        people,
        preferences,
        privacy,
        queues,
        reports,
        segments,
        signup_forms,
        subscribe,
        suppressions,
        templates_views,
        tracking,
        users,
        webhook_endpoints,
        webhooks,
    )

    for module in (
        auth_views,
        dashboard,
        campaigns,
        failed_sends,
        lists,
        people,
        import_mapping,
        segments,
        suppressions,
        templates_views,
        identities,
        channels,
        outbox,
        users,
        api_keys,
        queues,
        tracking,
        reports,
        webhooks,
        webhook_endpoints,
        health,
        preferences,
        privacy,
        archive,
        signup_forms,  # issue 20: signup forms, double opt-in, branding
        subscribe,
        branding,
    ):
        app.register_blueprint(module.bp)
    app.register_blueprint(people.export_bp)  # people (issue 21): exports, open to viewers
    app.register_blueprint(assets.bp)  # issue 18: the image library
    app.register_blueprint(assets.files_bp)  # issue 18: hosted images, public

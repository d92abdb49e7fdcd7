"""NetSec Contest: the Flask application.

:func:`create_app` is pure: it reads configuration, binds extensions and registers blueprints.
Nothing connects to a network, migrates or enqueues here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from contest import config as config_module

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from ``CONTEST_*`` environment variables, then ``overrides``.

    ``overrides`` may hold setting names (``DATABASE_URL``, ``REDIS_URL``, ``INSTANCE_PATH`` …, as
    in     :data:`contest.config.SETTINGS`) or Flask configuration keys (``TESTING`` …).
    """
    overrides = dict(overrides or {})
    raw = config_module.from_environ(os.environ)
    for setting in config_module.SETTINGS:
        if setting.name in overrides:
            raw[setting.name] = overrides.pop(setting.name)
    instance_path = Path(raw["INSTANCE_PATH"] or ROOT / "instance").resolve()
    app = Flask(__name__, instance_path=str(instance_path), template_folder=str(ROOT / "templates"))
    app.config.update(config_module.build_config(instance_path, raw))
    app.config.update(overrides)
    _init_extensions(app)
    from contest import input_checks

    input_checks.init_app(app)  # before the routes: their ids take its converter
    from contest import http_limits

    http_limits.init_app(app)
    _register_blueprints(app)
    from contest.api import autosave_lane

    autosave_lane.init_app(app)
    if app.config["CONTEST_PROXY_COUNT"]:  # outermost: everything inside sees the client's address
        n = app.config["CONTEST_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    from contest import cli

    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    import contest.models  # noqa: F401  (registers the tables)
    import question_bank.models  # noqa: F401
    from contest import i18n, security
    from contest.extensions import babel, csrf, db, login_manager, migrate, redis_hub

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    redis_hub.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    security.init_app(app)
    i18n.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from contest import http_errors
    from contest.admin import bp as admin_bp
    from contest.api import init_api
    from contest.auth import bp as auth_bp
    from contest.boards import bp as boards_bp
    from contest.live_final.pages import bp as live_pages_bp
    from contest.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(boards_bp)
    app.register_blueprint(live_pages_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    init_api(app)
    http_errors.init_app(app)

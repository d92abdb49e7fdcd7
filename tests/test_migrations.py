"""Migrations from day one: they build the schema from empty and match the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import inspect

from contest.extensions import db
from tests.conftest import reset_database


def test_upgrade_from_empty_matches_the_models(app: Flask) -> None:
    with app.app_context():
        reset_database()
        upgrade(directory=app.extensions["migrate"].directory)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            drift = compare_metadata(context, db.metadata)
            tables = set(inspect(connection).get_table_names())
        assert drift == [], f"models and migrations differ; run `contest db migrate`: {drift}"
        assert {"organization", "user_account", "alembic_version"} <= tables
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE alembic_version")


def test_cli_db_upgrade_on_a_fresh_sqlite_file(app: Flask, tmp_path: Path) -> None:
    from tests.conftest import make_app

    fresh = make_app(
        tmp_path / "fresh",
        app.config["CONTEST_REDIS_URL"],
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",
    )
    result = fresh.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        assert "user_account" in inspect(db.engine).get_table_names()
        db.engine.dispose()

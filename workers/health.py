"""A health-check job: proves that a worker runs jobs with the app's database and Redis."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from contest.extensions import db
from contest.models import User


def ping(token: str) -> dict[str, Any]:
    """Return ``token`` with facts only a job inside the app context can know."""
    return {
        "token": token,
        "app": current_app.name,
        "database": db.engine.dialect.name,
        "users": db.session.scalar(select(func.count()).select_from(User)),
    }

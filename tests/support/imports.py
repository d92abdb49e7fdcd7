"""Question imports as a client sends them, and the RQ worker that runs them."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token
from workers import queues
from workers.runner import make_worker


def upload(client: FlaskClient, bank_id: int, content: bytes, name: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={"file": (io.BytesIO(content), name), **form},
        headers={"X-CSRFToken": csrf_token(client)},
        content_type="multipart/form-data",
    )


def run_worker(app: Flask) -> None:
    make_worker(app, [queues.IMPORTS]).work(burst=True)

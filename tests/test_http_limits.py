"""Body limits and the Host rule in the app (contest/http_limits.py), under Flask's test client:
JSON bodies at most 64 KiB, forms 512 KiB, uploads 32 MiB, refused with 413 before they are read;
a request without exactly one Host is 400. The gunicorn worker's side is in
tests/test_gunicorn_worker.py."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from contest.api.autosave_lane import MAX_BODY
from contest.http_limits import FORM_MAX, JSON_MAX
from tests.conftest import csrf_token
from tests.support.contests import published_bank


class Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read")


def json_of(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    body = json.dumps({"username": "", "password": "x"}).encode()
    return body.replace(b'"x"', b'"' + b"x" * (size - len(body) + 1) + b'"')


def assert_too_large(response: Any, size: str) -> None:
    assert response.status_code == 413, response.data[:200]
    error = response.get_json()["error"]
    assert error["code"] == "too_large"
    assert error["message"] == f"请求内容过大（最多 {size}）。"


def test_the_autosave_lane_takes_no_larger_body_than_the_app() -> None:
    assert MAX_BODY == JSON_MAX


def test_a_json_body_over_64_kib_is_413_before_it_is_read(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/session",
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client)},
        environ_overrides={"wsgi.input": Unreadable(), "CONTENT_LENGTH": str(JSON_MAX + 1)},
    )
    assert_too_large(response, "64 KiB")


def test_a_json_body_of_64_kib_is_read(client: FlaskClient) -> None:
    body = json_of(JSON_MAX)
    assert len(body) == JSON_MAX
    response = client.post(
        "/api/v1/session",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code in (401, 422), response.data[:200]


@pytest.mark.parametrize(("size", "refused"), [(JSON_MAX, False), (JSON_MAX + 1, True)])
def test_a_body_of_unknown_length_is_cut_at_the_limit(
    client: FlaskClient, size: int, refused: bool
) -> None:
    """A chunked body (no Content-Length; the server ends the stream) is counted as it is read:
    one byte over is 413, not a body parsed cut short."""
    response = client.post(
        "/api/v1/session",
        input_stream=io.BytesIO(json_of(size)),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client)},
        environ_overrides={"wsgi.input_terminated": True},
    )
    if refused:
        assert_too_large(response, "64 KiB")
    else:
        assert response.status_code in (401, 422), response.data[:200]


def test_a_save_over_64_kib_is_413(contestant_client: FlaskClient) -> None:
    """The autosave lane hands a larger body to the app, which refuses it."""
    body = json.dumps({"answer": "x" * JSON_MAX, "seq": 1}).encode()
    response = contestant_client.put(
        "/api/v1/attempts/1/items/1",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(contestant_client)},
    )
    assert_too_large(response, "64 KiB")


def test_a_form_post_has_512_kib(app: Flask, client: FlaskClient) -> None:
    with client:
        client.get("/login")
        token = csrf_token(client)
    fits = client.post("/login", data={"csrf_token": token, "username": "x" * (FORM_MAX - 200)})
    assert fits.status_code != 413
    over = client.post("/login", data={"csrf_token": token, "username": "x" * FORM_MAX})
    assert over.status_code == 413
    assert "请求内容过大（最多 512 KiB）。" in over.get_data(as_text=True)


def test_an_upload_has_its_own_limit_and_only_as_an_upload(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
    token = {"X-CSRFToken": csrf_token(organizer_client)}
    upload = organizer_client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={"file": (io.BytesIO(b"x" * 200 * 1024), "questions.txt")},
        headers=token,
    )
    assert upload.status_code != 413, upload.get_json()
    as_json = organizer_client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data=json_of(JSON_MAX + 1),
        content_type="application/json",
        headers=token,
    )
    assert_too_large(as_json, "64 KiB")
    elsewhere = organizer_client.post(
        "/api/v1/contests",
        data={"file": (io.BytesIO(b"x" * (JSON_MAX + 1)), "questions.txt")},
        headers=token,
    )
    assert_too_large(elsewhere, "64 KiB")
    over = organizer_client.post(
        f"/api/v1/banks/{bank_id}/imports",
        content_type="multipart/form-data; boundary=x",
        headers=token,
        environ_overrides={
            "wsgi.input": Unreadable(),
            "CONTENT_LENGTH": str(app.config["MAX_CONTENT_LENGTH"] + 1),
        },
    )
    assert_too_large(over, "32 MiB")


def status_without_host(app: Flask, path: str, protocol: str) -> tuple[str, bytes]:
    environ = EnvironBuilder(path=path, environ_overrides={"SERVER_PROTOCOL": protocol})
    built = environ.get_environ()
    del built["HTTP_HOST"]
    body, status, _ = run_wsgi_app(app, built)
    return status, b"".join(body)


@pytest.mark.parametrize("path", ["/api/v1/ping", "/login"])
def test_a_request_must_name_exactly_one_host(app: Flask, client: FlaskClient, path: str) -> None:
    message = "请求必须指明一个且仅一个主机（Host 请求头）。"

    def text(body: bytes) -> str:  # the API's message, or the page
        return str(json.loads(body)["error"]["message"]) if "api" in path else body.decode()

    status, body = status_without_host(app, path, "HTTP/1.1")
    assert status.startswith("400"), status
    assert message in text(body)
    doubled = client.get(path, headers=[("Host", "a.example"), ("Host", "b.example")])
    assert doubled.status_code == 400
    assert message in text(doubled.data)
    status, _ = status_without_host(app, path, "HTTP/1.0")  # HTTP/1.0 needs no Host
    assert status.startswith("200"), status

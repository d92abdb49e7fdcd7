"""The session operations and the API's error conventions."""

from __future__ import annotations

from flask.testing import FlaskClient

from contest.models import User
from tests.conftest import PASSWORD, api_login, csrf_token


def assert_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_get_session_anonymous_returns_null_user_and_token(client: FlaskClient) -> None:
    body = client.get("/api/v1/session").get_json()
    assert body["user"] is None
    assert len(body["csrf_token"]) > 20


def test_login_returns_user_and_fresh_token(client: FlaskClient, contestant: User) -> None:
    before = csrf_token(client)
    response = client.post(
        "/api/v1/session",
        json={"username": "alice", "password": PASSWORD},
        headers={"X-CSRFToken": before},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["username"] == "alice"
    assert body["user"]["role"] == "contestant"
    assert body["user"]["organization"]["name"] == "第一中学"
    assert body["csrf_token"] and body["csrf_token"] != before
    assert "password_hash" not in response.get_data(as_text=True)
    assert client.get("/api/v1/session").get_json()["user"]["username"] == "alice"


def test_login_without_csrf_header_is_refused(client: FlaskClient, contestant: User) -> None:
    response = client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert_error(response, 403, "csrf_failed")
    assert client.get("/api/v1/session").get_json()["user"] is None


def test_login_with_wrong_token_is_refused(client: FlaskClient, contestant: User) -> None:
    csrf_token(client)
    response = client.post(
        "/api/v1/session",
        json={"username": "alice", "password": PASSWORD},
        headers={"X-CSRFToken": "forged"},
    )
    assert_error(response, 403, "csrf_failed")


def test_wrong_password_is_401_json(client: FlaskClient, contestant: User) -> None:
    assert_error(api_login(client, "alice", "wrong-password"), 401, "invalid_credentials")
    assert_error(api_login(client, "nobody", "wrong-password"), 401, "invalid_credentials")


def test_missing_field_is_422_naming_the_field(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/session", json={"username": "alice"}, headers={"X-CSRFToken": csrf_token(client)}
    )
    assert_error(response, 422, "invalid_input")
    assert "password" in response.get_json()["error"]["fields"]["json"]


def test_malformed_json_is_a_json_4xx(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/session",
        data="{not json",
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert_error(response, 422, "invalid_input")


def test_logout_clears_the_session(contestant_client: FlaskClient) -> None:
    token = csrf_token(contestant_client)
    response = contestant_client.delete("/api/v1/session", headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_json()["user"] is None
    assert contestant_client.get("/api/v1/session").get_json()["user"] is None


def test_logout_needs_csrf(contestant_client: FlaskClient) -> None:
    assert_error(contestant_client.delete("/api/v1/session"), 403, "csrf_failed")


def test_unknown_api_path_and_method_are_json(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/nope"), 404, "not_found")
    assert_error(client.put("/api/v1/ping"), 405, "method_not_allowed")


def test_openapi_document_names_the_operations(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    ops = {
        op["operationId"]: (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method != "parameters"
    }
    assert ops["getSession"] == ("GET", "/api/v1/session")
    assert ops["login"] == ("POST", "/api/v1/session")
    assert ops["logout"] == ("DELETE", "/api/v1/session")
    assert "Error" in str(doc["components"]["schemas"])

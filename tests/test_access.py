"""Who may see what: organizer-only pages and API operations refuse everyone else."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from contest.models import Organization, User
from tests.conftest import PASSWORD, csrf_token

ORGANIZER_PAGES = ["/admin/", "/admin/users"]


@pytest.mark.parametrize("path", ORGANIZER_PAGES)
def test_organizer_pages_send_anonymous_users_to_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ORGANIZER_PAGES)
def test_organizer_pages_refuse_contestants(contestant_client: FlaskClient, path: str) -> None:
    response = contestant_client.get(path)
    assert response.status_code == 403
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("path", ORGANIZER_PAGES)
def test_organizer_pages_open_for_organizers(organizer_client: FlaskClient, path: str) -> None:
    assert organizer_client.get(path).status_code == 200


def test_users_page_lists_accounts(organizer_client: FlaskClient, contestant: User) -> None:
    page = organizer_client.get("/admin/users").get_data(as_text=True)
    assert "alice" in page and "第一中学" in page


def test_organizations_api_needs_login_and_organizer(
    client: FlaskClient, contestant: User, organizer: User, organization: Organization
) -> None:
    anonymous = client.get("/api/v1/organizations")
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] == "not_logged_in"

    token = csrf_token(client)
    client.post(
        "/api/v1/session",
        json={"username": "alice", "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    refused = client.get("/api/v1/organizations")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"

    client.delete("/api/v1/session", headers={"X-CSRFToken": csrf_token(client)})
    client.post(
        "/api/v1/session",
        json={"username": "boss", "password": PASSWORD},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    listed = client.get("/api/v1/organizations").get_json()["organizations"]
    assert listed == [{"id": organization.id, "name": "第一中学", "kind": "unit", "members": 1}]


def test_home_page_redirects_organizers_and_greets_contestants(
    client: FlaskClient, contestant: User
) -> None:
    assert client.get("/").status_code == 200
    client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    home = client.get("/").get_data(as_text=True)
    assert "alice 名" in home

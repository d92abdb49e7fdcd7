"""Who may see what: organizer-only pages and API operations refuse everyone else."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from contest.models import Organization, User
from tests.conftest import PASSWORD, csrf_token

ORGANIZER_PAGES = ["/admin/", "/admin/users", "/admin/laws", "/admin/laws/review"]


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


def admin_rules(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every organizer route, with placeholder ids filled in, and each of its methods."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "x")
        found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_organizer_route_refuses_anonymous_users_and_contestants(
    app,
    client: FlaskClient,
    contestant: User,  # type: ignore[no-untyped-def]
) -> None:
    """Found from the URL map, so a new organizer page cannot be left unguarded."""
    routes = admin_rules(app)
    assert len(routes) > 20
    token = csrf_token(client)
    for method, url in routes:
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    client.post(
        "/api/v1/session",
        json={"username": "alice", "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    token = csrf_token(client)
    for method, url in routes:
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, url)


def test_every_organizer_api_operation_refuses_contestants(
    app,
    client: FlaskClient,
    contestant: User,  # type: ignore[no-untyped-def]
) -> None:
    organizer_ops = {
        "listOrganizations",
        "listBanks",
        "importQuestions",
        "getImport",
        "exportQuestions",
        "createContest",
        "getContest",
        "createRound",
        "updateRound",
        "listRoundAttempts",
        "publishContest",
        "finishContest",
        "archiveContest",
        "deleteContest",
        "copyContest",
        "listAmendmentReviews",
        "applyAmendmentUpdate",
    }
    doc = client.get("/api/v1/openapi.json").get_json()
    calls = [
        (method.upper(), path.replace("{", "").replace("}", "").replace("_id", ""))
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method != "parameters" and op["operationId"] in organizer_ops
    ]
    assert len(calls) == len(organizer_ops)
    calls = [
        (
            m,
            "/".join(
                "1"
                if part.isidentifier()
                and part in {"bank", "contest", "round", "import", "question"}
                else part
                for part in p.split("/")
            ),
        )
        for m, p in calls
    ]
    client.post(
        "/api/v1/session",
        json={"username": "alice", "password": PASSWORD},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    token = csrf_token(client)
    for method, url in calls:
        response = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
        assert response.status_code == 403, (method, url)

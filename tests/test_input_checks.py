"""Input every database refuses alike: ids beyond the integer range are 404 and strings with NUL
characters 422, on every route, API and pages, on SQLite as on PostgreSQL."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from contest.input_checks import MAX_ID
from contest.services import bank as bank_service
from tests.conftest import api_login, csrf_token
from tests.support.contests import BLUEPRINT, paper_round, published_bank

# PostgreSQL's integer ends at 2^31 - 1, SQLite's at 2^63 - 1; the last one fits neither.
OUT_OF_RANGE = [MAX_ID + 1, 3_000_000_000, 2**63, 10**30]


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank()).id


def id_routes(app: Flask) -> list[tuple[str, str, list[str]]]:
    """(rule, method, int arguments) of every route with an id in its path."""
    routes = []
    for rule in app.url_map.iter_rules():
        ints = [n for n, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if ints:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                routes.append((rule.rule, method, ints))
    return routes


def fill(rule: str, ints: list[str], value: int) -> str:
    url = rule
    for name in ints:
        url = url.replace(f"<int:{name}>", str(value))
    return url.replace("<kind>", "csv").replace("<fmt>", "csv")


@pytest.mark.parametrize("who", ["organizer", "contestant"])
def test_ids_beyond_the_database_range_are_404_everywhere(
    app: Flask, client: FlaskClient, organizer: Any, contestant: Any, round_id: int, who: str
) -> None:
    username = organizer.username if who == "organizer" else contestant.username
    assert api_login(client, username).status_code == 200
    token = csrf_token(client)
    routes = id_routes(app)
    assert len(routes) > 40  # the API's and the pages' routes alike
    wrong = []
    for rule, method, ints in routes:
        for value in OUT_OF_RANGE:
            url = fill(rule, ints, value)
            response = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
            if response.status_code != 404:
                wrong.append((method, url, response.status_code))
    assert wrong == []


def test_the_largest_id_still_reaches_the_view(
    contestant_client: FlaskClient, round_id: int
) -> None:
    """The range ends at MAX_ID, not before: that id is looked up (and not found)."""
    token = csrf_token(contestant_client)
    response = contestant_client.post(
        f"/api/v1/rounds/{MAX_ID}/attempts", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"  # the view's, with its message
    assert str(MAX_ID) in response.get_json()["error"]["message"]


def test_the_openapi_document_gives_the_id_range(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/rounds/{round_id}/attempts"]["parameters"]
    (round_param,) = [p for p in parameters if p["name"] == "round_id"]
    assert round_param["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_ID}


# NUL characters ----------------------------------------------------------------------------------


def assert_nul_refused(response: Any, where: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    if response.is_json:
        error = response.get_json()["error"]
        assert error["code"] == "invalid_input" and where in error["fields"]


def test_nul_in_the_login_is_422(client: FlaskClient, contestant: Any) -> None:
    response = client.post(
        "/api/v1/session",
        json={"username": "ali\x00ce", "password": "x"},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert_nul_refused(response, "json")


def test_nul_in_api_strings_is_422(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        bank_id = published_bank()
    token = {"X-CSRFToken": csrf_token(organizer_client)}
    title = organizer_client.post("/api/v1/contests", json={"title": "初\x00赛"}, headers=token)
    assert_nul_refused(title, "json")
    contest = organizer_client.post("/api/v1/contests", json={"title": "初赛"}, headers=token)
    row = {**BLUEPRINT[0], "category": "基础\x00知识"}
    round_ = organizer_client.post(
        f"/api/v1/contests/{contest.get_json()['id']}/rounds",
        json={"title": "一", "bank_id": bank_id, "duration_s": 600, "blueprint": [row]},
        headers=token,
    )
    assert_nul_refused(round_, "json")
    query = organizer_client.get(f"/api/v1/banks/{bank_id}/export?format=csv&status=dra\x00ft")
    assert_nul_refused(query, "query")
    upload = organizer_client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={"file": (io.BytesIO(b'[{"type": "true_false"}]'), "a\x00.json")},
        headers=token,
        content_type="multipart/form-data",
    )
    assert_nul_refused(upload, "files")


def test_nul_in_forms_and_searches_is_422(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        bank_id = bank_service.create_bank("题库").id
        from contest.extensions import db

        db.session.commit()
    token = csrf_token(organizer_client)
    form = organizer_client.post(
        "/admin/contests/new", data={"csrf_token": token, "title": "决\x00赛"}
    )
    assert_nul_refused(form, "form")
    search = organizer_client.get(f"/admin/banks/{bank_id}?q=%00")
    assert_nul_refused(search, "query")
    upload = organizer_client.post(
        f"/admin/banks/{bank_id}/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"[]"), "bank\x00.json")},
        content_type="multipart/form-data",
    )
    assert_nul_refused(upload, "files")


def test_nul_in_a_saved_answer_is_422(app: Flask, round_id: int) -> None:
    from tests.support.players import Player

    me = Player(app, "zhou")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    blank = next(i for i in attempt["items"] if i["type"] == "fill_blank")
    url = f"/api/v1/attempts/{attempt['id']}/items/{blank['position']}"
    assert me.call("PUT", url, {"answer": ["6"], "seq": 1}).status_code == 200  # the paper known
    refused = me.call("PUT", url, {"answer": ["6\x00"], "seq": 2})
    assert refused.status_code == 422
    assert me.call("GET", f"/api/v1/attempts/{attempt['id']}").get_json()["items"][
        blank["position"] - 1
    ]["answer"] == ["6"]


def test_json_nested_too_deeply_to_parse_is_422(organizer_client: FlaskClient) -> None:
    body = "[" * 5000 + "]" * 5000  # within the body limit, beyond the parser's recursion
    response = organizer_client.post(
        "/api/v1/contests",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(organizer_client)},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"json": ["输入无效。"]}

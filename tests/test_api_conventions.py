"""Smaller promises of the HTTP interface: 405 names the allowed methods, the Error schema says
what 422 bodies carry, exports have one charset, and a refused autosave logs one line."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contest.services import bank as bank_service
from tests.support.contests import paper_round, published_bank
from tests.support.players import Player


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("DELETE", "/api/v1/contests", {"GET", "POST"}),
        ("PUT", "/api/v1/session", {"GET", "POST", "DELETE"}),
        ("DELETE", "/", {"GET"}),
    ],
)
def test_405_says_which_methods_are_allowed(
    client: FlaskClient, method: str, url: str, allowed: set[str]
) -> None:
    response = client.open(url, method=method)
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_the_error_schema_documents_what_422_bodies_carry(
    organizer_client: FlaskClient, client: FlaskClient
) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = spec["components"]["schemas"]["Error"]["properties"]
    assert documented["fields"]["type"] == "object"
    response = organizer_client.post(
        "/api/v1/contests",
        json={"title": ""},
        headers={"X-CSRFToken": client.get("/api/v1/session").get_json()["csrf_token"]},
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert set(error) <= set(documented)
    assert error["fields"] == {"json": {"title": [error["fields"]["json"]["title"][0]]}}


def test_csv_exports_carry_one_charset(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        bank_id = published_bank()
    for url in (
        f"/api/v1/banks/{bank_id}/export?format=csv",
        f"/admin/banks/{bank_id}/export/csv",
        f"/admin/banks/{bank_id}/template.csv",
    ):
        response = organizer_client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", url
    gift = organizer_client.get(f"/api/v1/banks/{bank_id}/export?format=gift")
    assert gift.headers["Content-Type"] == "text/plain; charset=utf-8"


def first_item(app: Flask, username: str) -> tuple[Player, str]:
    """A contestant with a started attempt, and the save URL of its first item."""
    with app.app_context():
        round_id = paper_round(published_bank()).id
    me = Player(app, username)
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    return me, f"/api/v1/attempts/{attempt['id']}/items/1"


def test_an_invalid_answer_through_the_autosave_lane_logs_one_line(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    me, url = first_item(app, "lane")
    with caplog.at_level(logging.DEBUG, logger="contest.api.autosave_lane"):
        for seq in (1, 2, 3):
            refused = me.call("PUT", url, {"answer": {"not": "an answer"}, "seq": seq})
            assert refused.status_code == 422
            assert refused.get_json()["error"]["code"] == "invalid_answer"
    lines = [r for r in caplog.records if r.name == "contest.api.autosave_lane"]
    assert len(lines) == 3  # one per refused request
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)
    assert all(r.levelno < logging.WARNING for r in lines)


def test_json_too_deep_to_parse_is_handed_over_without_a_traceback(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    me, url = first_item(app, "deep")
    body = '{"seq": 1, "answer": ' + "[" * 30_000 + "]" * 30_000 + "}"
    with caplog.at_level(logging.DEBUG, logger="contest.api.autosave_lane"):
        refused = me.client.put(
            url,
            data=body,
            content_type="application/json",
            headers={"X-CSRFToken": me.token, "X-Device-Id": me.device},
        )
    assert refused.status_code == 422
    assert [r for r in caplog.records if r.name == "contest.api.autosave_lane"] == []


def test_a_bank_export_page_has_one_charset_for_every_text_format(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank = bank_service.create_bank("空题库")
        from contest.extensions import db

        db.session.commit()
        bank_id = bank.id
    for fmt in ("csv", "gift", "aiken"):
        content_type = organizer_client.get(f"/admin/banks/{bank_id}/export/{fmt}").content_type
        assert content_type.count("charset") == 1, (fmt, content_type)

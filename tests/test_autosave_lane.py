"""The autosave lane (contest/api/autosave_lane.py) answers exactly as the full Flask path does,
and hands everything it does not accept to that path, body intact."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

from contest.extensions import db
from contest.models import Attempt, AttemptItem
from contest.services import answers
from tests.support.contests import paper_round, published_bank
from tests.support.players import Lane, Player, answer_for


@pytest.fixture
def lane(app: Flask) -> Lane:
    return Lane(app)


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank()).id


def started(app: Flask, round_id: int, name: str = "lane") -> tuple[Player, str, dict[str, Any]]:
    me = Player(app, name)
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    item = attempt["items"][0]
    return me, f"/api/v1/attempts/{attempt['id']}/items/{item['position']}", item


def stored(app: Flask, url: str) -> tuple[int, Any]:
    parts = url.split("/")
    with app.app_context():
        row = db.session.get(AttemptItem, (int(parts[4]), int(parts[6])))
        assert row is not None
        return row.seq, row.answer


def attempt_deadline(app: Flask, url: str) -> datetime:
    with app.app_context():
        attempt = db.session.get(Attempt, int(url.split("/")[4]))
        assert attempt is not None
        return attempt.deadline_at


def test_the_lane_answers_byte_for_byte_as_flask(app: Flask, lane: Lane, round_id: int) -> None:
    me, url, item = started(app, round_id)
    answer = answer_for(item)
    # The first save of an item in a process checks the paper (and teaches the lane its shape).
    warm = lane.through_lane(Lane.environ(me, url, {"answer": answer, "seq": 1}))
    assert warm[0] == "200 OK"
    lane.handed_over = 0
    served = lane.through_lane(Lane.environ(me, url, {"answer": answer, "seq": 2, "flagged": True}))
    assert lane.handed_over == 0  # the lane served it
    reference = lane.through_flask(Lane.environ(me, url, {"answer": answer, "seq": 3}))
    assert served[0] == reference[0] == "200 OK"
    assert served[1] == reference[1]  # the same headers, security headers included
    deadline = b'{"deadline_at":"%s",' % attempt_deadline(app, url).isoformat().encode()
    assert served[2] == deadline + b'"saved":true,"seq":2}\n'
    assert reference[2] == deadline + b'"saved":true,"seq":3}\n'
    stale = lane.through_lane(Lane.environ(me, url, {"answer": answer, "seq": 2}))
    stale_reference = lane.through_flask(Lane.environ(me, url, {"answer": answer, "seq": 2}))
    assert stale == stale_reference
    assert stale[2] == deadline + b'"saved":false,"seq":3}\n'
    assert stored(app, url)[0] == 3


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"X-CSRFToken": "forged"}, "403 FORBIDDEN"),
        ({"X-CSRFToken": ""}, "403 FORBIDDEN"),
        ({"Cookie": "session=forged"}, "403 FORBIDDEN"),  # no session: no CSRF token either
        ({"Cookie": ""}, "403 FORBIDDEN"),
    ],
)
def test_refusals_are_the_full_paths(
    app: Flask, lane: Lane, round_id: int, change: dict[str, str], status: str
) -> None:
    me, url, item = started(app, round_id)
    body = {"answer": answer_for(item), "seq": 1}
    reference = lane.through_flask(Lane.environ(me, url, body, **change))
    lane.handed_over = 0
    refused = lane.through_lane(Lane.environ(me, url, body, **change))
    assert lane.handed_over == 1
    assert refused[0] == reference[0] == status
    assert stored(app, url)[0] == 0


def test_another_contestants_attempt_stays_not_found(app: Flask, lane: Lane, round_id: int) -> None:
    _, url, item = started(app, round_id, "owner")
    other = Player(app, "other")
    lane.handed_over = 0
    refused = lane.through_lane(Lane.environ(other, url, {"answer": answer_for(item), "seq": 9}))
    assert refused[0] == "404 NOT FOUND" and lane.handed_over == 1
    assert stored(app, url)[0] == 0


@pytest.mark.parametrize(
    ("body", "status", "seq", "handed_over"),
    [
        # The lane validates with the API's own schema object: what it takes, the lane serves.
        ({"answer": None, "seq": "7"}, "200 OK", 7, 0),
        ({"answer": None, "seq": 7, "flagged": "true"}, "200 OK", 7, 0),
        ({"answer": None, "seq": 0}, "422 UNPROCESSABLE ENTITY", 0, 1),
        ({"answer": None, "seq": True}, "422 UNPROCESSABLE ENTITY", 0, 1),
        ({"seq": 7}, "422 UNPROCESSABLE ENTITY", 0, 1),
        ([1, 2], "422 UNPROCESSABLE ENTITY", 0, 1),
        ({"answer": "not an option id", "seq": 7}, "422 UNPROCESSABLE ENTITY", 0, 1),
    ],
)
def test_unusual_bodies_are_answered_as_the_full_path_answers(
    app: Flask, lane: Lane, round_id: int, body: Any, status: str, seq: int, handed_over: int
) -> None:
    me, url, _ = started(app, round_id)
    lane.through_lane(Lane.environ(me, url, {"answer": None, "seq": 1}))  # the lane knows the paper
    before = stored(app, url)[0]
    assert before == 1
    lane.handed_over = 0
    answered = lane.through_lane(Lane.environ(me, url, body))
    assert lane.handed_over == handed_over
    assert answered[0] == status, answered[2]
    assert stored(app, url)[0] == (seq or before)


def test_over_https_the_referrer_must_match_as_flask_wtf_asks(
    app: Flask, lane: Lane, round_id: int
) -> None:
    me, url, item = started(app, round_id)
    body = {"answer": answer_for(item), "seq": 5}

    def secure(**headers: str) -> dict[str, Any]:
        environ = Lane.environ(me, url, body, **headers)
        environ["wsgi.url_scheme"] = "https"
        return environ

    lane.handed_over = 0
    assert lane.through_lane(secure())[0] == "403 FORBIDDEN"
    assert lane.through_lane(secure(Referer="https://elsewhere.example/"))[0] == "403 FORBIDDEN"
    assert lane.handed_over == 2
    ok = lane.through_lane(secure(Referer="https://localhost/contest"))
    assert ok[0] == "200 OK"
    assert stored(app, url)[0] == 5


def test_a_session_without_a_user_goes_to_the_full_path(
    app: Flask, lane: Lane, round_id: int
) -> None:
    _, url, item = started(app, round_id)
    stranger = app.test_client()
    token = stranger.get("/api/v1/session").get_json()["csrf_token"]  # anonymous, valid token
    cookie = stranger.get_cookie("session")
    assert cookie is not None
    environ = EnvironBuilder(
        path=url,
        method="PUT",
        json={"answer": answer_for(item), "seq": 4},
        headers={"Cookie": f"session={cookie.value}", "X-CSRFToken": token},
    ).get_environ()
    lane.handed_over = 0
    assert lane.through_lane(environ)[0] == "401 UNAUTHORIZED"
    assert lane.handed_over == 1 and stored(app, url)[0] == 0


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode(),  # a UTF-8 byte order mark
        lambda text: text.encode("utf-16-le"),
    ],
)
def test_bodies_webargs_cannot_read_stay_refused(
    app: Flask, lane: Lane, round_id: int, encode: Any
) -> None:
    me, url, item = started(app, round_id)
    body = encode(json.dumps({"answer": answer_for(item), "seq": 3}))

    def environ() -> dict[str, Any]:
        built = Lane.environ(me, url, None)
        built.update(
            {
                "wsgi.input": io.BytesIO(body),
                "CONTENT_LENGTH": str(len(body)),
                "CONTENT_TYPE": "application/json",
            }
        )
        return built

    reference = lane.through_flask(environ())
    lane.handed_over = 0
    refused = lane.through_lane(environ())
    assert refused == reference and refused[0] == "422 UNPROCESSABLE ENTITY"
    assert lane.handed_over == 1 and stored(app, url)[0] == 0


def test_a_refusal_runs_the_fast_statement_once(
    app: Flask, lane: Lane, round_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url, item = started(app, round_id, "owner")
    other = Player(app, "other")
    calls: list[int] = []
    real = answers.save_answer_fast

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(answers, "save_answer_fast", counted)
    refused = lane.through_lane(Lane.environ(other, url, {"answer": answer_for(item), "seq": 9}))
    assert refused[0] == "404 NOT FOUND"
    assert len(calls) == 1  # the lane's; the view went straight to the general path

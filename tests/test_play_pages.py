"""The contestant's pages without a browser: home, round lobby, attempt and result pages.

The attempt page's script takes the paper from the API; these tests walk a whole attempt through
the pages and the API and scan every response for anything that gives the key away.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from contest.extensions import db
from contest.models import Attempt, AttemptStatus, Role
from contest.services import contests as contest_service
from tests.conftest import add_user, api_login, csrf_token
from tests.support.contests import paper_round, published_bank
from tests.support.players import Contestant, answer_for
from workers import queues
from workers.runner import make_worker

# Field names and words that only the key or the review may carry.
KEY_MARKERS = ("explanation", "correct_answer", '"correct"', "解析")


def explanations(app: Flask, bank_id: int) -> list[str]:
    from sqlalchemy import select

    from question_bank.models import Question, QuestionVersion

    with app.app_context():
        return list(
            db.session.scalars(
                select(QuestionVersion.explanation)
                .join(Question, Question.id == QuestionVersion.question_id)
                .where(Question.bank_id == bank_id)
            )
        )


@pytest.fixture
def bank_id(app: Flask) -> int:
    with app.app_context():
        return published_bank()


def make_round(app: Flask, bank_id: int, **settings: Any) -> int:
    with app.app_context():
        return paper_round(bank_id, **settings).id


def test_home_lists_contests_and_rounds(app: Flask, bank_id: int) -> None:
    round_id = make_round(app, bank_id, integrity_threshold=2, integrity_action="submit")
    me = Contestant(app, "zhang")
    html = me.page("/").get_data(as_text=True)
    assert "网络安全知识竞赛" in html and "初赛" in html
    assert f'href="/rounds/{round_id}"' in html
    assert 'data-testid="round-status"' in html
    attempt_id = me.start(round_id)
    html = me.page("/").get_data(as_text=True)
    # The open attempt is continued with a form (it takes the attempt over on this device).
    assert f'action="/rounds/{round_id}/start"' in html and 'name="device_id"' in html
    assert attempt_id


def test_lobby_shows_the_rules(app: Flask, bank_id: int) -> None:
    round_id = make_round(
        app, bank_id, integrity_threshold=2, integrity_action="submit", focus_grace_s=3
    )
    me = Contestant(app, "li")
    response = me.page(f"/rounds/{round_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    facts = dict(re.findall(r'data-testid="([\w-]+)">\s*([^<]*?)\s*<', html))
    assert facts["question-count"] == "10"
    assert facts["max-score"] == "20"
    assert "10" in facts["duration"]  # 10 minutes
    assert "0" in facts["attempts"] and "1" in facts["attempts"]
    assert "2" in facts["integrity"]  # more than 2 switches …
    assert f'action="/rounds/{round_id}/start"' in html
    assert "csrf_token" in html


def test_invite_contests_ask_for_the_code(app: Flask, bank_id: int) -> None:
    with app.app_context():
        round_ = paper_round(bank_id)
        contest = round_.contest
        contest.registration_mode = "invite"  # type: ignore[assignment]
        contest.invite_code = "CODE-2026"
        db.session.commit()
        round_id, contest_id = round_.id, contest.id
    me = Contestant(app, "wang")
    lobby = me.page(f"/rounds/{round_id}").get_data(as_text=True)
    assert 'name="invite_code"' in lobby and "/start" not in lobby
    wrong = me.form(f"/contests/{contest_id}/registration", {"invite_code": "nope"})
    assert wrong.status_code == 302
    assert 'name="invite_code"' in me.page(f"/rounds/{round_id}").get_data(as_text=True)
    right = me.form(
        f"/contests/{contest_id}/registration",
        {"invite_code": " code-2026 ", "round_id": str(round_id)},  # either case, spaces trimmed
    )
    assert right.headers["Location"] == f"/rounds/{round_id}"
    lobby = me.page(f"/rounds/{round_id}").get_data(as_text=True)
    assert f'action="/rounds/{round_id}/start"' in lobby


def test_anonymous_visitors_are_sent_to_login(app: Flask, bank_id: int) -> None:
    round_id = make_round(app, bank_id)
    me = Contestant(app, "zhao")
    attempt_id = me.start(round_id)
    anonymous = app.test_client()
    for url in (f"/rounds/{round_id}", f"/attempts/{attempt_id}", f"/attempts/{attempt_id}/result"):
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    assert anonymous.post(f"/rounds/{round_id}/start").status_code in (302, 400, 403)


def test_others_attempts_are_not_found_and_organizers_are_refused(app: Flask, bank_id: int) -> None:
    round_id = make_round(app, bank_id)
    me, other = Contestant(app, "sun"), Contestant(app, "zhou")
    attempt_id = me.start(round_id)
    for url in (f"/attempts/{attempt_id}", f"/attempts/{attempt_id}/result"):
        response = other.page(url)
        assert response.status_code == 404, url
        assert "data-attempt-url" not in response.get_data(as_text=True)
    with app.app_context():
        add_user("boss", Role.ORGANIZER)
    organizer = app.test_client()
    api_login(organizer, "boss")
    for url in (
        f"/rounds/{round_id}",
        f"/attempts/{attempt_id}",
        f"/attempts/{attempt_id}/result",
    ):
        assert organizer.get(url).status_code == 403, url
    token = csrf_token(organizer)
    refused = organizer.post(f"/rounds/{round_id}/start", data={"csrf_token": token})
    assert refused.status_code == 403


def test_a_closed_attempt_page_leads_to_the_result(app: Flask, bank_id: int) -> None:
    round_id = make_round(app, bank_id)
    me = Contestant(app, "wu")
    attempt_id = me.start(round_id)
    assert me.page(f"/attempts/{attempt_id}/result").headers["Location"] == (
        f"/attempts/{attempt_id}"
    )
    me.api("POST", f"/api/v1/attempts/{attempt_id}/submission")
    response = me.page(f"/attempts/{attempt_id}")
    assert response.headers["Location"] == f"/attempts/{attempt_id}/result"
    again = me.form(f"/rounds/{round_id}/start", {"device_id": "phone-1"})
    assert again.headers["Location"] == f"/rounds/{round_id}"  # attempts used up: flashed


def full_attempt(app: Flask, me: Contestant, round_id: int) -> int:
    """Every page and call of an attempt, answers all saved, submitted and scored."""
    me.page("/")
    me.page(f"/rounds/{round_id}")
    attempt_id = me.start(round_id)
    page = me.page(f"/attempts/{attempt_id}")
    assert page.status_code == 200
    assert 'id="i18n"' in page.get_data(as_text=True)
    attempt = me.api("GET", f"/api/v1/attempts/{attempt_id}").get_json()
    for seq, item in enumerate(attempt["items"], start=1):
        saved = me.api(
            "PUT",
            f"/api/v1/attempts/{attempt_id}/items/{item['position']}",
            {"answer": answer_for(item, seq % 2 == 0), "seq": seq, "flagged": seq == 3},
        )
        assert saved.get_json() == {
            "saved": True,
            "seq": seq,
            "deadline_at": attempt["deadline_at"],
        }
    me.page(f"/attempts/{attempt_id}")
    me.api("GET", f"/api/v1/attempts/{attempt_id}")
    assert me.api("POST", f"/api/v1/attempts/{attempt_id}/submission").status_code == 200
    pending = me.page(f"/attempts/{attempt_id}/result")
    assert pending.status_code == 200
    me.api("GET", f"/api/v1/attempts/{attempt_id}/result")
    make_worker(app, [queues.SCORING]).work(burst=True)
    me.page(f"/attempts/{attempt_id}/result")
    me.api("GET", f"/api/v1/attempts/{attempt_id}/result")
    me.page("/")
    me.page(f"/rounds/{round_id}")
    return attempt_id


def test_no_response_of_a_full_attempt_leaks_the_key_before_review(
    app: Flask, bank_id: int
) -> None:
    round_id = make_round(app, bank_id, review_policy="after_close")
    me = Contestant(app, "qian")
    attempt_id = full_attempt(app, me, round_id)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status is AttemptStatus.SCORED
    texts = explanations(app, bank_id)
    assert texts and all("解析" in t for t in texts)
    for body in me.seen:
        for marker in KEY_MARKERS:
            assert marker not in body, (marker, body[:300])
        for text in texts:
            assert text not in body
    result = me.page(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "解析" not in result and 'data-testid="review"' not in result
    assert 'data-testid="score"' in result and "/ 20" in result


def test_no_leak_when_review_is_never_shown(app: Flask, bank_id: int) -> None:
    round_id = make_round(app, bank_id, review_policy="never")
    me = Contestant(app, "feng")
    full_attempt(app, me, round_id)
    joined = "\n".join(me.seen)
    for marker in KEY_MARKERS:
        assert marker not in joined, marker


def test_review_after_submit_shows_answers_and_explanations(app: Flask, bank_id: int) -> None:
    round_id = make_round(app, bank_id, review_policy="after_submit")
    me = Contestant(app, "chen")
    attempt_id = me.start(round_id)
    html = me.page(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "解析" not in html  # the attempt page itself never carries the review
    me.api("POST", f"/api/v1/attempts/{attempt_id}/submission")
    pending = me.page(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'data-pending="true"' in pending
    make_worker(app, [queues.SCORING]).work(burst=True)
    result = me.page(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'data-pending="false"' in result
    assert result.count('data-testid="review-item"') == 10
    shown = [text for text in explanations(app, bank_id) if text in result]
    assert len(shown) == 10  # every question of the paper with its explanation
    # Choices are named by the letters the attempt page showed them with.
    assert re.search(r'<span class="letter">[A-H]</span> ', result)
    lists = re.findall(r'<ul class="choices">(.*?)</ul>', result)
    assert lists  # multiple choice: one line per choice, in the order they were shown
    for choices in lists:
        shown = re.findall(r'<span class="letter">([A-H])</span>', choices)
        assert shown and shown == sorted(shown), choices


def test_the_result_page_says_when_the_score_is_pending(app: Flask, bank_id: int) -> None:
    round_id = make_round(app, bank_id)
    me = Contestant(app, "han")
    attempt_id = me.start(round_id)
    me.api("POST", f"/api/v1/attempts/{attempt_id}/submission")
    html = me.page(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'data-pending="true"' in html and 'class="pending"' in html


def test_round_summaries_match_the_api(app: Flask, bank_id: int) -> None:
    round_id = make_round(app, bank_id)
    me = Contestant(app, "yang")
    listed = me.api("GET", "/api/v1/contests").get_json()["contests"][0]["rounds"][0]
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        assert listed["question_count"] == sum(r["count"] for r in round_.blueprint)
    html = me.page(f"/rounds/{round_id}").get_data(as_text=True)
    assert f'data-testid="question-count">{listed["question_count"]}<' in html
    assert f'data-testid="max-score">{listed["max_score"]}<' in html


def test_the_lobby_asks_before_the_only_attempt_and_says_when_the_close_cuts_it_short(
    app: Flask, bank_id: int
) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=3)  # a 10-minute paper
    once = make_round(app, bank_id, attempts_allowed=1, closes_at=soon)
    again = make_round(app, bank_id, attempts_allowed=0)
    me = Contestant(app, "li")
    html = me.page(f"/rounds/{once}").get_data(as_text=True)
    assert "本轮只能作答一次" in html and "data-confirm=" in html
    left = re.search(r'data-testid="time-left">([^<]*)<', html)
    assert left and re.search(r"[23] 分钟", left.group(1)), left
    html = me.page(f"/rounds/{again}").get_data(as_text=True)
    assert "data-confirm=" not in html and 'data-testid="time-left"' not in html
    attempt_id = me.start(once)
    html = me.page(f"/rounds/{once}").get_data(as_text=True)  # continuing asks nothing
    assert "data-confirm=" not in html and 'data-testid="time-left"' not in html
    # The attempt page keeps log-out and language buttons away from the timer.
    html = me.page(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "退出登录" not in html and 'data-testid="lang-en"' not in html
    assert "退出登录" in me.page("/").get_data(as_text=True)


def test_the_result_page_links_the_public_board(app: Flask, bank_id: int) -> None:
    """On a phone the result is where the contestant looks next for the board: linked while the
    contest's board is public and the contest published or finished."""
    from contest.models import BoardVisibility, Contest, ContestStatus, Round

    round_id = make_round(app, bank_id)
    me = Contestant(app, "board")
    attempt_id = me.start(round_id)
    me.api("POST", f"/api/v1/attempts/{attempt_id}/submission")
    link = f'href="/boards/rounds/{round_id}" data-testid="board-link"'

    def contest_is(**values: Any) -> str:
        with app.app_context():
            round_ = db.session.get(Round, round_id)
            assert round_ is not None
            contest = db.session.get(Contest, round_.contest_id)
            for name, value in values.items():
                setattr(contest, name, value)
            db.session.commit()
        return str(me.page(f"/attempts/{attempt_id}/result").get_data(as_text=True))

    assert link in contest_is()
    assert link in contest_is(status=ContestStatus.FINISHED)
    assert link not in contest_is(status=ContestStatus.ARCHIVED)
    assert link not in contest_is(
        status=ContestStatus.PUBLISHED, board_visibility=BoardVisibility.ORGANIZERS
    )

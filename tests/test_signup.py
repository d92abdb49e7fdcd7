"""Public sign-up (注册): the page, the signUp API, the challenge that holds back bulk sign-ups,
privacy of mobile numbers on every public response, and the organizers' sign-up page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from contest.extensions import db
from contest.models import (
    AuditEvent,
    Contest,
    ContestStatus,
    Organization,
    OrganizationKind,
    Registration,
    RegistrationMode,
    Role,
    User,
)
from contest.services import signup as signup_service
from contest.services import signup_guard
from question_bank.numerals import chinese_to_int
from tests.conftest import add_user, csrf_token
from tests.support.boards import settle, sit
from tests.support.contests import paper_round, published_bank

MOBILE = "13800138000"
PASSWORD = "sign-up-pass-2026"
NOTICE = "比赛规则：独立作答。隐私说明：手机号仅用于联系，不会公开。"
FIELDS = [
    {"key": "school", "label": "学校/班级", "required": True},
    {"key": "id_tail", "label": "身份证后四位", "required": False},
]


@pytest.fixture
def contest_ids(app: Flask) -> dict[str, int]:
    """A published open contest taking sign-ups, with one open round, a district (高新区) with a
    unit under it (实验中学) and a unit of no district (市网信办)."""
    with app.app_context():
        district = Organization(name="高新区", kind=OrganizationKind.DISTRICT)
        db.session.add(district)
        db.session.flush()
        school = Organization(name="实验中学", kind=OrganizationKind.SCHOOL, parent_id=district.id)
        office = Organization(name="市网信办")
        db.session.add_all([school, office])
        db.session.commit()
        round_ = paper_round(published_bank(), attempts_allowed=0)
        contest = db.session.get(Contest, round_.contest_id)
        assert contest is not None
        contest.signup_open = True
        contest.signup_fields = FIELDS
        contest.signup_notice = NOTICE
        db.session.commit()
        return {
            "contest": contest.id,
            "round": round_.id,
            "district": district.id,
            "school": school.id,
            "office": office.id,
        }


def form(ids: dict[str, int], **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "display_name": "张小明",
        "mobile": MOBILE,
        "organization": str(ids["school"]),
        "unit_other": "",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "extra_school": "实验中学 初二(3)班",
        "extra_id_tail": "",
        "consent": "yes",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def post_page(
    client: FlaskClient, contest_id: int, data: dict[str, Any], address: str = "10.1.1.1"
) -> Any:
    return client.post(
        f"/contests/{contest_id}/signup",
        data={**data, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": address},
    )


def api_body(ids: dict[str, int], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "display_name": "李小红",
        "mobile": MOBILE,
        "password": PASSWORD,
        "organization_id": ids["office"],
        "extra": {"school": "信息工程学院"},
        "consent": True,
    }
    body.update(changes)
    return body


def post_api(
    client: FlaskClient, contest_id: int, body: dict[str, Any], address: str = "10.1.1.1"
) -> Any:
    return client.post(
        f"/api/v1/contests/{contest_id}/signup",
        json=body,
        headers={"X-CSRFToken": csrf_token(client)},
        environ_base={"REMOTE_ADDR": address},
    )


def user_by_mobile(app: Flask, mobile: str = MOBILE) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == mobile))
        if user is not None:
            db.session.expunge(user)
        return user


def registration_of(app: Flask, user_id: int) -> Registration:
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.user_id == user_id))
        assert reg is not None
        db.session.expunge(reg)
        return reg


def set_contest(app: Flask, contest_id: int, **values: Any) -> None:
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        for key, value in values.items():
            setattr(contest, key, value)
        db.session.commit()


def solve(question: str) -> str:
    """Answer a challenge as a person would (Chinese numerals or digits)."""
    match = re.search(r"(\S+?)(加|减|乘以)(\S+?)等于多少", question) or re.search(
        r"What is (\d+) (plus|minus|times) (\d+)", question
    )
    assert match, question
    a, op, b = match.groups()
    x = int(a) if a.isdigit() else chinese_to_int(a)
    y = int(b) if b.isdigit() else chinese_to_int(b)
    return str({"加": x + y, "plus": x + y, "减": x - y, "minus": x - y}.get(op, x * y))


# The page ----------------------------------------------------------------------------------------


def test_a_visitor_signs_up_is_signed_in_and_goes_to_the_round(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    page = client.get(f"/contests/{contest_ids['contest']}/signup")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert NOTICE in html and "学校/班级" in html and "身份证后四位" in html
    assert '<optgroup label="高新区">' in html and "市网信办" in html
    assert page.headers["Cache-Control"] == "private, no-store"
    response = post_page(client, contest_ids["contest"], form(contest_ids))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rounds/{contest_ids['round']}")
    user = user_by_mobile(app)
    assert user is not None
    assert user.role is Role.CONTESTANT
    assert user.display_name == "张小明"
    assert user.organization_id == contest_ids["school"]
    reg = registration_of(app, user.id)
    assert reg.contest_id == contest_ids["contest"] and reg.source == "signup"
    assert reg.extra == {"school": "实验中学 初二(3)班", "id_tail": ""}
    assert reg.unit_other is None and reg.consented_at is not None
    lobby = client.get(f"/rounds/{contest_ids['round']}")
    assert lobby.status_code == 200 and 'data-testid="start"' in lobby.get_data(as_text=True)


def test_the_mobile_number_forgives_spaces_full_width_digits_and_plus_86(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    response = post_page(
        client, contest_ids["contest"], form(contest_ids, mobile="+86 138 0013 8000")
    )
    assert response.status_code == 302
    assert user_by_mobile(app) is not None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"display_name": ""}, "display_name"),
        ({"display_name": "张" * 41}, "display_name"),
        ({"display_name": "张三13800138000"}, "display_name"),
        ({"display_name": "小明 138 0013 8000"}, "display_name"),
        ({"display_name": "小明１３８-００１３"}, "display_name"),
        ({"mobile": "1380013800"}, "mobile"),
        ({"mobile": "23800138000"}, "mobile"),
        ({"mobile": "1380013800a"}, "mobile"),
        ({"organization": "999999"}, "organization-error"),
        ({"organization": ""}, "organization-error"),
        ({"organization": "other", "unit_other": ""}, "unit_other"),
        ({"password": "short", "password_again": "short"}, "password"),
        ({"password_again": "another-password"}, "password_again"),
        ({"extra_school": ""}, "extra-school"),
        ({"extra_school": "x" * 101}, "extra-school"),
        ({"consent": None}, "consent"),
    ],
)
def test_each_invalid_field_is_refused_with_its_reason(
    app: Flask,
    client: FlaskClient,
    contest_ids: dict[str, int],
    changes: dict[str, Any],
    problem: str,
) -> None:
    response = post_page(client, contest_ids["contest"], form(contest_ids, **changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error_id = problem if problem.endswith("-error") else f"{problem}-error"
    assert f'id="{error_id}"' in html
    assert html.count('role="alert"') == 1  # that field alone
    assert 'value="张小明"' in html or changes.get("display_name") is not None  # kept
    assert PASSWORD not in html  # passwords are never echoed
    assert user_by_mobile(app) is None


def test_other_with_free_text_keeps_the_unit_for_the_organizers(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    data = form(contest_ids, organization="other", unit_other="市第二人民医院")
    assert post_page(client, contest_ids["contest"], data).status_code == 302
    user = user_by_mobile(app)
    assert user is not None and user.organization_id is None
    assert registration_of(app, user.id).unit_other == "市第二人民医院"


def test_a_mobile_already_registered_points_to_login(
    app: Flask, contest_ids: dict[str, int]
) -> None:
    first = app.test_client()
    assert post_page(first, contest_ids["contest"], form(contest_ids)).status_code == 302
    again = app.test_client()
    response = post_page(again, contest_ids["contest"], form(contest_ids, display_name="王五"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'data-testid="mobile-taken"' in html and 'href="/login"' in html
    assert "张小明" not in html  # nothing about the account that holds the number
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 1


def test_signed_in_visitors_are_sent_home(
    contestant_client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    response = contestant_client.get(f"/contests/{contest_ids['contest']}/signup")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_closed_sign_up_says_so_and_takes_nothing(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    set_contest(app, contest_ids["contest"], signup_open=False)
    page = client.get(f"/contests/{contest_ids['contest']}/signup")
    assert page.status_code == 200 and 'data-testid="signup-closed"' in page.get_data(as_text=True)
    assert 'data-testid="signup-form"' not in page.get_data(as_text=True)
    assert post_page(client, contest_ids["contest"], form(contest_ids)).status_code == 409
    assert post_api(client, contest_ids["contest"], api_body(contest_ids)).status_code == 409
    assert user_by_mobile(app) is None


@pytest.mark.parametrize("status", [ContestStatus.FINISHED, ContestStatus.ARCHIVED])
def test_a_finished_or_archived_contest_is_closed(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int], status: ContestStatus
) -> None:
    set_contest(app, contest_ids["contest"], status=status)
    page = client.get(f"/contests/{contest_ids['contest']}/signup")
    assert 'data-testid="signup-closed"' in page.get_data(as_text=True)
    assert post_page(client, contest_ids["contest"], form(contest_ids)).status_code == 409
    response = post_api(client, contest_ids["contest"], api_body(contest_ids))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "signup_closed"


@pytest.mark.parametrize(
    "values",
    [
        {"status": ContestStatus.DRAFT},
        {"registration_mode": RegistrationMode.ROSTER},
        {"registration_mode": RegistrationMode.INVITE, "invite_code": "abc"},
    ],
)
def test_a_draft_or_a_contest_not_open_to_all_has_no_sign_up(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int], values: dict[str, Any]
) -> None:
    set_contest(app, contest_ids["contest"], **values)
    contest_id = contest_ids["contest"]
    assert client.get(f"/contests/{contest_id}/signup").status_code == 404
    assert post_page(client, contest_id, form(contest_ids)).status_code == 404
    assert client.get(f"/api/v1/contests/{contest_id}/signup").status_code == 404
    assert post_api(client, contest_id, api_body(contest_ids)).status_code == 404
    assert client.get("/api/v1/contests/424242/signup").status_code == 404
    assert user_by_mobile(app) is None


def test_a_form_post_without_its_csrf_token_is_refused(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    response = client.post(f"/contests/{contest_ids['contest']}/signup", data=form(contest_ids))
    assert response.status_code in (400, 403)
    assert user_by_mobile(app) is None


def test_visitors_find_the_sign_up_link_on_the_board_login_and_landing_pages(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    link = f'href="/contests/{contest_ids["contest"]}/signup"'
    for url in (f"/boards/contests/{contest_ids['contest']}", "/login", "/"):
        assert link in client.get(url).get_data(as_text=True), url
    set_contest(app, contest_ids["contest"], signup_open=False)
    for url in (f"/boards/contests/{contest_ids['contest']}", "/login", "/"):
        assert link not in client.get(url).get_data(as_text=True), url


def test_units_form_a_district_tree_of_the_contests_own_organizations(
    app: Flask, contest_ids: dict[str, int]
) -> None:
    with app.app_context():
        contest = db.session.get(Contest, contest_ids["contest"])
        assert contest is not None
        everything = signup_service.unit_tree(signup_service.offered_units(contest))
        assert [(g.name, [u.name for u in g.units]) for g in everything] == [
            ("高新区", ["高新区", "实验中学"]),
            ("", ["市网信办"]),
        ]
        district = db.session.get(Organization, contest_ids["district"])
        assert district is not None
        contest.organizations.append(district)  # the district brings its units along
        db.session.flush()
        listed = signup_service.offered_units(contest)
        assert {o.name for o in listed} == {"高新区", "实验中学"}
        problems = signup_service.check(
            contest,
            signup_service.SignupData(
                "张三", MOBILE, PASSWORD, PASSWORD, contest_ids["office"], None,
                {"school": "x"}, True,
            ),
        )  # fmt: skip
        assert list(problems) == ["organization_id"]
        db.session.rollback()


# The API -----------------------------------------------------------------------------------------


def test_sign_up_through_the_api(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    shown = client.get(f"/api/v1/contests/{contest_ids['contest']}/signup").get_json()
    assert shown["open"] is True and shown["notice"] == NOTICE
    assert shown["fields"] == FIELDS and shown["challenge"] is None
    assert {
        "id": contest_ids["school"],
        "name": "实验中学",
        "parent_id": contest_ids["district"],
    } in (shown["units"])
    response = post_api(client, contest_ids["contest"], api_body(contest_ids))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["user"]["display_name"] == "李小红"
    assert body["next_url"] == f"/rounds/{contest_ids['round']}"
    session = client.get("/api/v1/session").get_json()
    assert session["user"]["id"] == body["user"]["id"]
    # The token returned belongs to the new session (signed tokens differ by their time stamp).
    assert session["csrf_token"].split(".")[0] == body["csrf_token"].split(".")[0]
    again = post_api(client, contest_ids["contest"], api_body(contest_ids, mobile="13900139000"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_signed_in"


def test_the_api_names_each_invalid_field(client: FlaskClient, contest_ids: dict[str, int]) -> None:
    response = post_api(
        client,
        contest_ids["contest"],
        api_body(contest_ids, mobile="123", extra={}, consent=False),
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]["json"]
    assert set(fields) == {"mobile", "extra", "consent"}
    assert set(fields["extra"]) == {"school"}


def test_the_api_refuses_a_taken_mobile_and_a_missing_csrf_token(
    app: Flask, contest_ids: dict[str, int]
) -> None:
    first = app.test_client()
    assert post_api(first, contest_ids["contest"], api_body(contest_ids)).status_code == 201
    second = app.test_client()
    taken = post_api(second, contest_ids["contest"], api_body(contest_ids))
    assert taken.status_code == 409
    assert taken.get_json()["error"]["code"] == "mobile_registered"
    no_token = second.post(
        f"/api/v1/contests/{contest_ids['contest']}/signup",
        json=api_body(contest_ids, mobile="13900139000"),
    )
    assert no_token.status_code == 403
    assert user_by_mobile(app, "13900139000") is None


# Bulk sign-ups ----------------------------------------------------------------------------------


def sign_up_answering(app: Flask, contest_id: int, ids: dict[str, int], n: int) -> bool:
    """One sign-up through the API from the venue's address, answering the challenge when asked;
    whether it was asked."""
    client = app.test_client()
    body = api_body(ids, mobile=f"139{n:08d}", display_name=f"选手{chr(0x4E00 + n)}")
    first = post_api(client, contest_id, body, address="192.168.1.1")
    if first.status_code == 201:
        return False
    assert first.status_code == 428, first.get_json()
    error = first.get_json()["error"]
    assert error["code"] == "challenge_required"
    challenge = error["challenge"]
    answered = {
        **body,
        "challenge_token": challenge["token"],
        "challenge_answer": solve(challenge["question"]),
    }
    second = post_api(client, contest_id, answered, address="192.168.1.1")
    assert second.status_code == 201, second.get_json()
    return True


def test_two_hundred_sign_ups_from_one_address_meet_the_challenge_and_all_succeed(
    app: Flask, contest_ids: dict[str, int]
) -> None:
    started = datetime.now(UTC)
    asked = [sign_up_answering(app, contest_ids["contest"], contest_ids, n) for n in range(200)]
    assert (datetime.now(UTC) - started).total_seconds() < 60
    assert asked[:20] == [False] * 20  # the first 20 in ten minutes go straight through
    assert all(asked[20:])
    with app.app_context():
        count = db.session.scalar(
            select(db.func.count())
            .select_from(Registration)
            .where(
                Registration.contest_id == contest_ids["contest"], Registration.source == "signup"
            )
        )
    assert count == 200
    # Another address is not held back by the venue's.
    other = app.test_client()
    body = api_body(contest_ids, mobile="13700137000")
    assert post_api(other, contest_ids["contest"], body, address="10.9.9.9").status_code == 201


def challenged_page(app: Flask, contest_ids: dict[str, int], address: str) -> tuple[str, str]:
    """Use up the address's free sign-ups; the page then shows a question: (question, token)."""
    app.config["SIGNUP_CHALLENGE_AFTER"] = "1 per 10 minutes"
    client = app.test_client()
    data = form(contest_ids, mobile="13600136000")
    assert post_page(client, contest_ids["contest"], data, address).status_code == 302
    html = (
        app.test_client()
        .get(f"/contests/{contest_ids['contest']}/signup", environ_base={"REMOTE_ADDR": address})
        .get_data(as_text=True)
    )
    question = re.search(r'data-testid="challenge-question">([^<]+)<', html)
    token = re.search(r'name="challenge_token" value="([^"]+)"', html)
    assert question and token
    return question.group(1), token.group(1)


def test_the_page_asks_up_front_and_a_token_answers_once(
    app: Flask, contest_ids: dict[str, int]
) -> None:
    question, token = challenged_page(app, contest_ids, "10.2.2.2")
    assert "等于多少" in question
    answer = solve(question)
    data = form(contest_ids, challenge_token=token, challenge_answer=answer)
    first = app.test_client()
    assert post_page(first, contest_ids["contest"], data, "10.2.2.2").status_code == 302
    reused = app.test_client()
    data = {**data, "mobile": "13500135000"}
    response = post_page(reused, contest_ids["contest"], data, "10.2.2.2")
    assert response.status_code == 428  # used once already: a new question instead
    html = response.get_data(as_text=True)
    assert 'data-testid="challenge-question"' in html and token not in html
    assert user_by_mobile(app, "13500135000") is None


def test_a_wrong_answer_gets_a_new_question(app: Flask, contest_ids: dict[str, int]) -> None:
    question, token = challenged_page(app, contest_ids, "10.3.3.3")
    wrong = str(int(solve(question)) + 1)
    data = form(contest_ids, challenge_token=token, challenge_answer=wrong)
    response = post_page(app.test_client(), contest_ids["contest"], data, "10.3.3.3")
    assert response.status_code == 428
    assert user_by_mobile(app) is None


def test_a_forged_or_foreign_token_is_refused(app: Flask, contest_ids: dict[str, int]) -> None:
    with app.test_request_context():
        other = signup_guard.URLSafeTimedSerializer("another-key", salt="contest-signup-challenge")
        forged = other.dumps({"n": "x", "d": "y"})
        assert not signup_guard.redeem(forged, "3")
        assert not signup_guard.redeem("not-a-token", "3")
        assert not signup_guard.redeem(None, None)
        assert signup_guard.read_answer("１２") == 12
        assert signup_guard.read_answer("十二") == 12
        assert signup_guard.read_answer("twelve") is None


def test_the_hard_limit_refuses_past_it_until_the_window_ends(
    app: Flask, contest_ids: dict[str, int]
) -> None:
    app.config["SIGNUP_LIMIT_ADDRESS"] = "3 per minute"
    for n in range(3):
        body = api_body(contest_ids, mobile=f"1370000000{n}")
        assert (
            post_api(app.test_client(), contest_ids["contest"], body, "10.4.4.4").status_code == 201
        )
    refused = post_api(
        app.test_client(),
        contest_ids["contest"],
        api_body(contest_ids, mobile="13700000009"),
        "10.4.4.4",
    )
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    page = post_page(app.test_client(), contest_ids["contest"], form(contest_ids), "10.4.4.4")
    assert page.status_code == 429


def test_unanswered_and_doomed_submissions_cannot_close_sign_up_for_the_address(
    app: Flask, contest_ids: dict[str, int]
) -> None:
    """The hard limit counts accounts made: one client flooding the venue's address with
    submissions that make none (a taken mobile number, no answer to the challenge) leaves the
    room able to sign up."""
    app.config["SIGNUP_LIMIT_ADDRESS"] = "3 per minute"
    app.config["SIGNUP_CHALLENGE_AFTER"] = "2 per 10 minutes"
    address = "10.5.5.5"
    taken = api_body(contest_ids, mobile="13600000000")
    assert post_api(app.test_client(), contest_ids["contest"], taken, address).status_code == 201
    statuses = {
        post_api(app.test_client(), contest_ids["contest"], taken, address).status_code
        for _ in range(10)
    }
    assert statuses == {409, 428}  # the number is taken; then the challenge, never 429
    client = app.test_client()
    body = api_body(contest_ids, mobile="13600000001")
    asked = post_api(client, contest_ids["contest"], body, address)
    assert asked.status_code == 428
    challenge = asked.get_json()["error"]["challenge"]
    body.update(challenge_token=challenge["token"], challenge_answer=solve(challenge["question"]))
    assert post_api(client, contest_ids["contest"], body, address).status_code == 201


# Privacy ----------------------------------------------------------------------------------------


class SignedUp:
    """A contestant who signed up through the API, with the calls :func:`sit` makes."""

    def __init__(self, app: Flask, contest_ids: dict[str, int]) -> None:
        self.client = app.test_client()
        response = post_api(self.client, contest_ids["contest"], api_body(contest_ids))
        assert response.status_code == 201
        self.token = response.get_json()["csrf_token"]
        self.device = "phone-1"

    def call(self, method: str, url: str, body: Any = None) -> Any:
        return self.client.open(
            url,
            method=method,
            json=body,
            headers={"X-CSRFToken": self.token, "X-Device-Id": self.device},
        )


@pytest.fixture
def on_the_board(app: Flask, contest_ids: dict[str, int]) -> Iterator[dict[str, int]]:
    """The signed-up contestant's scored attempt on every board of the contest."""
    set_contest(app, contest_ids["contest"], mask_names=False)  # full names: still no mobile
    player = SignedUp(app, contest_ids)
    sit(app, player, contest_ids["round"], right=3)  # type: ignore[arg-type]
    settle(app)
    yield contest_ids


def test_the_mobile_number_reaches_no_public_response(
    app: Flask, on_the_board: dict[str, int]
) -> None:
    ids = on_the_board
    spectator = app.test_client()
    urls = [
        "/",
        "/login",
        f"/contests/{ids['contest']}/signup",
        f"/boards/contests/{ids['contest']}",
        f"/boards/rounds/{ids['round']}",
        f"/boards/contests/{ids['contest']}/screen",
        f"/api/v1/rounds/{ids['round']}/leaderboard",
        f"/api/v1/contests/{ids['contest']}/leaderboard",
        f"/api/v1/contests/{ids['contest']}/organizations/leaderboard",
        f"/api/v1/contests/{ids['contest']}/signup",
    ]
    board = spectator.get(f"/api/v1/rounds/{ids['round']}/leaderboard").get_json()
    assert [e["name"] for e in board["entries"]] == ["李小红"]  # it is on the board
    assert board["entries"][0]["organization"] == "市网信办"
    for url in urls:
        response = spectator.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert MOBILE not in text, url
        assert "信息工程学院" not in text, url  # the extra field's answer
    stream = spectator.get(f"/api/v1/rounds/{ids['round']}/leaderboard/stream", buffered=False)
    chunk: Any = next(iter(stream.response))
    snapshot = chunk.decode() if isinstance(chunk, bytes) else str(chunk)
    stream.close()
    assert "李小红" in snapshot and MOBILE not in snapshot


def test_masked_boards_show_a_masked_name_and_the_unit(
    app: Flask, on_the_board: dict[str, int]
) -> None:
    set_contest(app, on_the_board["contest"], mask_names=True)
    settle(app)
    from contest.extensions import redis_hub
    from contest.services import leaderboards

    with app.app_context():
        leaderboards.render_contest(redis_hub.client, on_the_board["contest"])
    board = app.test_client().get(f"/api/v1/rounds/{on_the_board['round']}/leaderboard").get_json()
    assert [(e["name"], e["organization"]) for e in board["entries"]] == [("李*红", "市网信办")]


# Organizers -------------------------------------------------------------------------------------


def test_organizers_change_the_settings_and_each_change_is_audited(
    app: Flask, organizer_client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    url = f"/admin/contests/{contest_ids['contest']}/signup"
    page = organizer_client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="unverified-note"' in html
    assert "|" not in html[html.index('data-testid="signup-fields"') :].split("</fieldset>")[0]
    assert 'name="fields-0-key" type="hidden" value="school"' in html
    assert re.search(r'<input id="fields-0-label"[^>]* value="学校/班级">', html)
    assert html.count('name="fields-') == 3 * 5  # two fields and three empty rows
    saved = organizer_client.post(
        url,
        data={
            "csrf_token": csrf_token(organizer_client),
            "fields-0-key": "",
            "fields-0-label": "班级",
            "fields-0-required": "y",
            "notice": "新的说明",
        },
    )
    assert saved.status_code == 302
    with app.app_context():
        contest = db.session.get(Contest, contest_ids["contest"])
        assert contest is not None
        assert contest.signup_open is False
        # id_tail and school were removed and hold no answers; a new field gets a new key
        assert contest.signup_fields == [{"key": "field1", "label": "班级", "required": True}]
        assert contest.signup_notice == "新的说明"
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "contest.signup_settings")
        )
        assert event is not None and event.actor_name == "boss"
        assert event.before and event.before["signup_open"] is True
        assert event.after and event.after["signup_open"] is False
    bad = organizer_client.post(
        url,
        data={
            "csrf_token": csrf_token(organizer_client),
            "signup_open": "y",
            "notice": "新的说明",
            "fields-0-label": "x" * 41,
        },
    )
    assert bad.status_code == 422
    assert "最多 40 个字符" in bad.get_data(as_text=True) or "40" in bad.get_data(as_text=True)
    assert (
        organizer_client.get(f"/admin/contests/{contest_ids['contest']}")
        .get_data(as_text=True)
        .count(url)
        == 1
    )  # linked from the contest page


def test_opening_sign_up_needs_a_notice(
    app: Flask, organizer_client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    url = f"/admin/contests/{contest_ids['contest']}/signup"
    data = {"csrf_token": csrf_token(organizer_client), "signup_open": "y", "notice": ""}
    assert organizer_client.post(url, data=data).status_code == 422


def test_organizers_see_the_private_fields_map_other_units_and_export(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int], district_organizer: User
) -> None:
    data = form(
        contest_ids,
        organization="other",
        unit_other='=HYPERLINK("http://evil")',
        extra_school="+1 班",
        extra_id_tail="@123",
    )
    assert post_page(app.test_client(), contest_ids["contest"], data).status_code == 302
    from tests.conftest import api_login

    assert api_login(client, district_organizer.username).status_code == 200
    url = f"/admin/contests/{contest_ids['contest']}/signup"
    html = client.get(url).get_data(as_text=True)
    assert MOBILE in html and "+1 班" in html and "HYPERLINK" in html
    assert 'data-testid="waiting-count">1<' in html
    csv_response = client.get(url + "/export.csv")
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][-2:] == ["学校/班级", "身份证后四位"]
    assert rows[1][1:] == ["张小明", MOBILE, "", '\'=HYPERLINK("http://evil")', "'+1 班", "'@123"]
    xlsx = client.get(url + "/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet is not None
    values = [cell.value for cell in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert values[2] == MOBILE and values[4] == '\'=HYPERLINK("http://evil")'
    with app.app_context():
        reg = db.session.scalar(select(Registration))
        assert reg is not None
        reg_id = reg.id
    mapped = client.post(
        url + "/map",
        data={
            "csrf_token": csrf_token(client),
            "registration_id": str(reg_id),
            "organization_id": str(contest_ids["office"]),
        },
    )
    assert mapped.status_code == 302
    user = user_by_mobile(app)
    assert user is not None and user.organization_id == contest_ids["office"]
    assert registration_of(app, user.id).unit_other is None
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "registration.map_unit")
        )
        assert event is not None and event.actor_name == "district"
        assert event.before == {"unit_other": '=HYPERLINK("http://evil")', "organization_id": None}


def test_mapping_a_unit_is_only_for_sign_ups_waiting_under_other(
    app: Flask, client: FlaskClient, contest_ids: dict[str, int], district_organizer: User
) -> None:
    """An account's unit is the admins' to change: the sign-up page maps only a sign-up that
    typed its unit under "其他", not a roster contestant's nor one that chose from the list."""
    signed_up = post_page(app.test_client(), contest_ids["contest"], form(contest_ids))
    assert signed_up.status_code == 302
    with app.app_context():
        enrolled = add_user("rostered", Role.CONTESTANT, contest_ids["school"])
        db.session.add(
            Registration(
                contest_id=contest_ids["contest"],
                user_id=enrolled.id,
                source="roster",
                registered_at=datetime.now(UTC),
            )
        )
        db.session.commit()
        registrations = list(db.session.scalars(select(Registration.id)))
    from tests.conftest import api_login

    assert api_login(client, district_organizer.username).status_code == 200
    url = f"/admin/contests/{contest_ids['contest']}/signup/map"
    for registration_id in registrations:
        response = client.post(
            url,
            data={
                "csrf_token": csrf_token(client),
                "registration_id": str(registration_id),
                "organization_id": str(contest_ids["office"]),
            },
        )
        assert response.status_code == 302  # back to the page, which says no such sign-up
        page = client.get(response.location).get_data(as_text=True)
        assert f"没有报名记录 {registration_id}" in page
    with app.app_context():
        units = set(db.session.scalars(select(User.organization_id).where(User.id > 0)))
        assert contest_ids["office"] not in units


def test_the_organizer_pages_are_for_organizers_only(
    app: Flask, contestant_client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    url = f"/admin/contests/{contest_ids['contest']}/signup"
    for suffix in ("", "/export.csv"):
        assert contestant_client.get(url + suffix).status_code == 403
    assert app.test_client().get(url).status_code == 302  # to login


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_fuzzing_sign_up_anonymously_finds_no_server_error(
    app: Flask, contest_ids: dict[str, int]
) -> None:
    """The suite's fuzzer calls signUp logged in (409 at once); here an anonymous visitor's
    calls reach the checks of a contest taking sign-ups."""
    import schemathesis

    from tests.support.fuzz import Tally, run_operation

    client = app.test_client()
    token = csrf_token(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    auth = ({"X-CSRFToken": token}, {"session": cookie.value})
    config = schemathesis.Config.from_dict({"request-timeout": 5})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    tally = Tally()
    for result in schema.get_all_operations():
        operation: Any = result.ok()  # type: ignore[union-attr]
        name = operation.definition.raw.get("operationId")
        if name not in ("signUp", "getSignupForm"):
            continue
        tally.operations.add(name)
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            run_operation(
                operation, mode, name, auth, {"contest_id": contest_ids["contest"]}, tally
            )
    assert tally.operations == {"signUp", "getSignupForm"}
    assert tally.server_errors == [] and tally.violations == [], "\n".join(
        [*tally.server_errors[:20], *tally.violations[:20]]
    )
    assert tally.statuses[422] > 0 and tally.statuses[200] > 0, tally.statuses


def test_the_demos_practice_contest_takes_sign_ups_with_a_unit_tree(
    app: Flask, client: FlaskClient
) -> None:
    from contest import demo

    with app.app_context():
        demo.seed_demo_data("demo-password-1")
        contest = Contest(title=demo.PRACTICE_CONTEST, status=ContestStatus.PUBLISHED)
        db.session.add(contest)
        db.session.commit()
        demo.open_demo_signup()
        contest.signup_notice = "组织者改过的说明"
        db.session.commit()
        demo.open_demo_signup()  # a second run keeps the organizer's change
        assert contest.signup_open and contest.signup_notice == "组织者改过的说明"
        assert contest.signup_fields == demo.DEMO_SIGNUP_FIELDS
        contest_id = contest.id
    html = client.get(f"/contests/{contest_id}/signup").get_data(as_text=True)
    group = html[html.index('<optgroup label="高新区">') :]
    assert group.index("高新区") < group.index("第一中学") < group.index("</optgroup>")
    assert "学校/班级" in html


def test_a_challenge_token_expires(
    app: Flask, contest_ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import itsdangerous.timed

    with app.test_request_context():
        challenge = signup_guard.new_challenge()
        later = itsdangerous.timed.time.time() + signup_guard.CHALLENGE_TTL_S + 5
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
        assert not signup_guard.redeem(challenge.token, solve(challenge.question))
        monkeypatch.undo()
        assert signup_guard.redeem(challenge.token, solve(challenge.question))  # still unused


def test_the_field_editor_keeps_the_keys_of_existing_fields(
    app: Flask, organizer_client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    """Rows of name + required: an existing field keeps its key (stored answers still match);
    a new one gets a key no field nor stored answer uses; a cleared name removes its field."""
    assert (
        post_page(app.test_client(), contest_ids["contest"], form(contest_ids)).status_code == 302
    )
    url = f"/admin/contests/{contest_ids['contest']}/signup"
    rows = {
        "fields-0-key": "id_tail",  # moved up, renamed, now required
        "fields-0-label": "证件后四位",
        "fields-0-required": "y",
        "fields-1-key": "school",  # cleared: removed
        "fields-1-label": " ",
        "fields-2-label": "班级",
        "fields-4-label": "备注",
    }
    saved = organizer_client.post(
        url, data={"csrf_token": csrf_token(organizer_client), "notice": NOTICE, **rows}
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        contest = db.session.get(Contest, contest_ids["contest"])
        assert contest is not None
        assert contest.signup_fields == [
            {"key": "id_tail", "label": "证件后四位", "required": True},
            {"key": "field1", "label": "班级", "required": False},
            {"key": "field2", "label": "备注", "required": False},
        ]
        # "school" holds a stored answer: a later new field does not take its key
        assert "school" in signup_service.answer_keys(contest)
    html = organizer_client.get(url).get_data(as_text=True)
    assert re.search(r'<input id="fields-0-label"[^>]* value="证件后四位">', html)
    assert html.count('name="fields-') == 3 * 6  # three fields, three empty rows
    exported = organizer_client.get(url + "/export.csv").get_data(as_text=True)
    header = next(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert header[-4:] == ["证件后四位", "班级", "备注", "school"]  # old answers still exported


def test_the_field_editor_checks_the_rows_with_chinese_messages(
    app: Flask, organizer_client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    url = f"/admin/contests/{contest_ids['contest']}/signup"
    token = csrf_token(organizer_client)
    cases = [
        ({"fields-2-label": "名" * 41}, "第 3 项：名称最多 40 个字符。"),
        ({"fields-0-key": "Bad Key"}, "第 1 项：请刷新页面后重试。"),
        ({"fields-1-key": "school"}, "第 2 项：请刷新页面后重试。"),  # a key twice
    ]
    for rows, message in cases:
        data = {"csrf_token": token, "notice": NOTICE, "fields-0-key": "school"}
        data |= {"fields-0-label": "学校", "fields-1-key": "id_tail", "fields-1-label": "尾号"}
        response = organizer_client.post(url, data={**data, **rows})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with app.test_request_context():
        many = [signup_service.FieldRow("", f"项目{i}") for i in range(9)]
        with pytest.raises(signup_service.InvalidInput, match="附加字段最多 8 个"):
            signup_service.build_fields(many)
        assert len(signup_service.build_fields(many[:8], taken={"field1"})) == 8
        assert signup_service.build_fields(many[:1], taken={"field1"})[0]["key"] == "field2"
    with app.app_context():
        contest = db.session.get(Contest, contest_ids["contest"])
        assert contest is not None and contest.signup_fields == FIELDS


def waiting_registration(app: Flask, contest_ids: dict[str, int]) -> int:
    data = form(contest_ids, organization="other", unit_other="  第三 中学 ")
    assert post_page(app.test_client(), contest_ids["contest"], data).status_code == 302
    with app.app_context():
        reg_id = db.session.scalar(select(Registration.id))
        assert reg_id is not None
        return reg_id


def test_mapping_needs_a_choice_and_can_create_the_unit(
    app: Flask, organizer_client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    reg_id = waiting_registration(app, contest_ids)
    url = f"/admin/contests/{contest_ids['contest']}/signup"
    html = organizer_client.get(url).get_data(as_text=True)
    assert '<option value="" selected>请选择</option>' in html
    assert 'name="organization_id" required' in html
    assert 'name="new_name" value="第三 中学"' in html

    def send(**data: str) -> str:
        data = {"csrf_token": csrf_token(organizer_client), "registration_id": str(reg_id), **data}
        response = organizer_client.post(url + "/map", data=data)
        assert response.status_code == 302
        return organizer_client.get(response.location).get_data(as_text=True)

    assert "请选择单位" in send(action="map", organization_id="")
    assert "请选择单位" in send(action="map", organization_id="9" * 30)  # no id: no server error
    assert "单位“市网信办”已存在，请从列表中选择。" in send(action="create", new_name="市网信办")
    not_a_district = send(
        action="create", new_name="第三中学", parent_id=str(contest_ids["office"])
    )
    assert "请从列表中选择区县。" in not_a_district
    assert registration_of_id(app, reg_id).unit_other == "第三 中学"  # nothing changed yet

    send(action="create", new_name="第三中学", parent_id=str(contest_ids["district"]))
    user = user_by_mobile(app)
    with app.app_context():
        unit = db.session.scalar(select(Organization).where(Organization.name == "第三中学"))
        assert unit is not None and unit.parent_id == contest_ids["district"]
        assert unit.kind is OrganizationKind.UNIT
        assert user is not None and user.organization_id == unit.id
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "registration.map_unit")
        )
        assert event is not None and event.actor_name == "boss"
        assert event.before == {"unit_other": "第三 中学", "organization_id": None}
        assert event.after == {
            "unit_other": None,
            "organization_id": unit.id,
            "organization_created": {
                "id": unit.id,
                "name": "第三中学",
                "parent_id": contest_ids["district"],
            },
        }
    assert registration_of_id(app, reg_id).unit_other is None


def registration_of_id(app: Flask, reg_id: int) -> Registration:
    with app.app_context():
        reg = db.session.get(Registration, reg_id)
        assert reg is not None
        db.session.expunge(reg)
        return reg


def test_the_export_is_in_the_sites_time_zone(
    app: Flask, organizer_client: FlaskClient, contest_ids: dict[str, int]
) -> None:
    assert (
        post_page(app.test_client(), contest_ids["contest"], form(contest_ids)).status_code == 302
    )
    with app.app_context():
        reg = db.session.scalar(select(Registration))
        assert reg is not None
        reg.registered_at = datetime(2026, 3, 1, 17, 30, 5, tzinfo=UTC)
        db.session.commit()
    url = f"/admin/contests/{contest_ids['contest']}/signup"
    exported = organizer_client.get(url + "/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[0][0] == "注册时间（北京时间）"
    assert rows[1][0] == "2026-03-02 01:30:05"
    xlsx = organizer_client.get(url + "/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet is not None
    assert sheet.cell(row=1, column=1).value == "注册时间（北京时间）"
    assert sheet.cell(row=2, column=1).value == "2026-03-02 01:30:05"
    app.config["CONTEST_TIMEZONE"] = "UTC"
    exported = organizer_client.get(url + "/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[0][0] == "注册时间（UTC）" and rows[1][0] == "2026-03-01 17:30:05"

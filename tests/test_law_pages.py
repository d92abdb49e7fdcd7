"""The law library pages, the review queue after an amendment (pages and API), the round
warnings, the question page without the law's text, and who may do what."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from contest.extensions import db
from contest.models import AuditEvent, ContestStatus, Role
from contest.services import amendments
from contest.services import bank as bank_service
from contest.services.laws import import_laws
from question_bank.domain import Citation, QuestionData, QuestionType
from question_bank.models import Law, LawVersion, Question, QuestionStatus
from tests.conftest import SHARED, add_user, api_login, csrf_token, needs_shared
from tests.support.contests import BLUEPRINT, paper_round, published_bank, round_form

pytestmark = needs_shared

LAWS = SHARED / "laws"
NOW = datetime.now(UTC)
LOG_QUOTE = "留存相关的网络日志不少于六个月"
CHANGED_QUOTE = "拒不改正或者情节严重的，处一万元以上十万元以下罚款"


def today() -> date:
    """Today where the pages are (the default time zone, as the tests' app has it)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def cites(article: int, quote: str | None, stem: str, category: str = "法律法规") -> QuestionData:
    return QuestionData(
        QuestionType.TRUE_FALSE,
        stem,
        True,
        category=category,
        citation=Citation("网络安全法", article, "2016-11-07", quote),
    )


def add(bank_name: str, data: QuestionData) -> int:
    bank = bank_service.get_or_create_bank(bank_name)
    question = bank_service.add_question(
        bank.id, data, actor_id=None, now=NOW, status=QuestionStatus.PUBLISHED
    )
    db.session.commit()
    return question.id


def version_id(version: str) -> int:
    return db.session.scalars(select(LawVersion.id).where(LawVersion.version == version)).one()


@pytest.fixture
def amended(app: Flask) -> dict[str, int]:
    """The shared law texts imported, the 2025 网络安全法 in force since yesterday (whatever day
    the tests run), and two questions citing the 2016 text: one unchanged, one changed."""
    with app.app_context():
        import_laws(LAWS, today=today())
        amendments.set_version_in_force(
            version_id("2025-10-28"), today() - timedelta(days=1), today=today()
        )
        db.session.commit()
        return {
            "same": add(
                "法规题库", cites(21, LOG_QUOTE, "网络运营者应当留存网络日志不少于六个月。")
            ),
            "changed": add("法规题库", cites(62, CHANGED_QUOTE, "违规发布漏洞信息的处罚。")),
            "law": db.session.scalars(select(Law.id).where(Law.short_title == "网络安全法")).one(),
            "v2016": version_id("2016-11-07"),
            "v2025": version_id("2025-10-28"),
        }


def logged_in(app: Flask, role: Role | None) -> FlaskClient:
    """A client: anonymous (None), or signed in with ``role``."""
    client = app.test_client()
    if role is not None:
        with app.app_context():
            add_user(f"u_{role.value}", role)
        assert api_login(client, f"u_{role.value}").status_code == 200
    return client


def token_of(client: FlaskClient) -> str:
    return csrf_token(client)


# The library pages -------------------------------------------------------------------------------


def test_the_library_shows_which_version_is_in_force_today(
    app: Flask, amended: dict[str, int], district_organizer: Any
) -> None:
    client = app.test_client()
    assert api_login(client, "district").status_code == 200
    page = client.get("/admin/laws").get_data(as_text=True)
    assert re.search(r'data-version="2025-10-28" data-state="current"', page)
    assert re.search(r'data-version="2016-11-07" data-state="superseded"', page)
    assert "现行有效" in page and "已被修正" in page and "尚未施行" not in page
    assert "2017-06-01" in page and "修正决定" in page  # the dates and where they come from

    law = client.get(f"/admin/laws/{amended['law']}").get_data(as_text=True)
    assert "第一章 总则" in law and "留存相关的网络日志不少于六个月" in law
    assert 'id="a81"' in law  # the version in force is shown: 81 articles
    old = client.get(f"/admin/laws/{amended['law']}?version={amended['v2016']}")
    assert 'id="a79"' in old.get_data(as_text=True)
    assert 'id="a80"' not in old.get_data(as_text=True)

    # the organizer moves the 2025 date into the future: the 2016 text is in force again
    later = (today() + timedelta(days=30)).isoformat()
    prefix = f"v{amended['v2025']}"
    response = client.post(
        f"/admin/laws/versions/{amended['v2025']}/in-force",
        data={"csrf_token": token_of(client), f"{prefix}-in_force": later, "action": "set"},
    )
    assert response.status_code == 302
    page = client.get("/admin/laws").get_data(as_text=True)
    assert re.search(r'data-version="2025-10-28" data-state="pending"', page)
    assert re.search(r'data-version="2016-11-07" data-state="current"', page)
    assert "尚未施行" in page and "组织者设定" in page
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "law_version.in_force")
        ).all()[-1]
        assert event.actor_name == "district" and event.after is not None
        assert event.after["in_force"] == later
    # and clears it: the version counts from its adoption date
    client.post(
        f"/admin/laws/versions/{amended['v2025']}/in-force",
        data={"csrf_token": token_of(client), f"{prefix}-in_force": later, "action": "clear"},
    )
    with app.app_context():
        version = db.session.get(LawVersion, amended["v2025"])
        assert version is not None and (version.in_force, version.in_force_source) == (None, None)
    # without the CSRF token nothing changes
    refused = client.post(
        f"/admin/laws/versions/{amended['v2025']}/in-force", data={f"{prefix}-in_force": later}
    )
    assert refused.status_code == 403  # CSRF refused


def test_a_law_file_is_uploaded_with_its_in_force_date(
    app: Flask, organizer_client: FlaskClient
) -> None:
    content = (LAWS / "密码法(2019-10-26).md").read_bytes()
    response = organizer_client.post(
        "/admin/laws/import",
        data={
            "csrf_token": token_of(organizer_client),
            "file": (io.BytesIO(content), "密码法(2019-10-26).md"),
            "in_force": "2020-01-01",
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "44" in page and re.search(r'data-version="2019-10-26" data-state="current"', page)
    with app.app_context():
        version = db.session.scalars(select(LawVersion)).one()
        assert (version.in_force, version.in_force_source) == ("2020-01-01", "organizer")
        assert db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "law.import")
        ).all() == ["law.import"]
    wrong = organizer_client.post(
        "/admin/laws/import",
        data={"csrf_token": token_of(organizer_client), "file": (io.BytesIO(b"x"), "a.txt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "请上传 Markdown 格式的法规文件" in wrong.get_data(as_text=True)


# The review queue --------------------------------------------------------------------------------


def test_the_queue_shows_both_texts_and_moves_the_unchanged_in_one_click(
    app: Flask, amended: dict[str, int], organizer_client: FlaskClient
) -> None:
    client = organizer_client
    page = client.get("/admin/laws/review").get_data(as_text=True)
    same = page.split(f'data-question="{amended["same"]}"')[1].split("</section>")[0]
    changed = page.split(f'data-question="{amended["changed"]}"')[1].split("</section>")[0]
    assert "第23条" in same or "第 23 条" in same
    assert 'data-value="1.000"' in same and 'data-testid="apply"' in same
    assert 'data-testid="edit"' not in same and "<del>" not in same
    assert 'data-testid="apply"' not in changed and 'data-testid="edit"' in changed
    assert "第65条" in changed or "第 65 条" in changed
    similarity = float(re.search(r'data-value="([0-9.]+)"', changed).group(1))  # type: ignore[union-attr]
    assert 0.5 < similarity < 1
    assert "<del>" in changed and "<ins>" in changed
    with app.app_context():
        assert db.session.get(Question, amended["changed"]).needs_review  # type: ignore[union-attr]

    assert client.post(f"/admin/laws/review/{amended['same']}/apply").status_code == 403
    done = client.post(
        f"/admin/laws/review/{amended['same']}/apply",
        data={"csrf_token": token_of(client)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f'data-question="{amended["same"]}"' not in done
    assert f'data-question="{amended["changed"]}"' in done
    with app.app_context():
        question = db.session.get(Question, amended["same"])
        assert question is not None and not question.needs_review
        current = question.current_version
        assert current is not None and current.number == 2
        assert (current.citation_version, current.citation_article, current.citation_quote) == (
            "2025-10-28",
            23,
            LOG_QUOTE,
        )
    # the changed one is not moved by a crafted post either
    refused = client.post(
        f"/admin/laws/review/{amended['changed']}/apply",
        data={"csrf_token": token_of(client)},
        follow_redirects=True,
    )
    assert "所引条文的措辞已有修改，请修改题目" in refused.get_data(as_text=True)
    with app.app_context():
        untouched = db.session.get(Question, amended["changed"])
        assert untouched is not None and untouched.current_version is not None
        assert untouched.current_version.number == 1


def test_the_bulk_action_updates_every_unchanged_citation(
    app: Flask, amended: dict[str, int], organizer_client: FlaskClient
) -> None:
    with app.app_context():
        also = add("另一题库", cites(41, None, "另一道题"))
    page = organizer_client.get("/admin/laws/review").get_data(as_text=True)
    assert 'data-testid="apply-unchanged"' in page
    response = organizer_client.post(
        "/admin/laws/review/apply-unchanged",
        data={"csrf_token": token_of(organizer_client)},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "已将 2 处引用更新为现行版本" in page and 'data-testid="apply-unchanged"' not in page
    with app.app_context():
        for question_id, article in ((amended["same"], 23), (also, 43)):
            question = db.session.get(Question, question_id)
            assert question is not None and question.current_version is not None
            assert question.current_version.citation_article == article
        changed = db.session.get(Question, amended["changed"])
        assert changed is not None and changed.current_version is not None
        assert changed.current_version.citation_version == "2016-11-07"


def test_the_api_lists_the_queue_and_applies_an_update(
    app: Flask, amended: dict[str, int], organizer_client: FlaskClient
) -> None:
    reviews = organizer_client.get("/api/v1/law-reviews").get_json()["reviews"]
    rows = {r["question_id"]: r for r in reviews}
    assert set(rows) == {amended["same"], amended["changed"]}
    same, changed = rows[amended["same"]], rows[amended["changed"]]
    assert same["proposed_article"]["number"] == 23 and same["one_click"] and same["identical"]
    assert changed["proposed_article"]["number"] == 65 and not changed["one_click"]
    assert changed["quote_found"] is False and 0.5 < changed["similarity"] < 1
    assert {c["op"] for c in changed["changes"]} == {"equal", "delete", "insert"}
    headers = {"X-CSRFToken": token_of(organizer_client)}
    no_token = organizer_client.post(f"/api/v1/law-reviews/{amended['same']}/apply")
    assert no_token.status_code == 403 and no_token.get_json()["error"]["code"] == "csrf_failed"
    refused = organizer_client.post(
        f"/api/v1/law-reviews/{amended['changed']}/apply", headers=headers
    )
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "wording_changed"
    applied = organizer_client.post(f"/api/v1/law-reviews/{amended['same']}/apply", headers=headers)
    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["version_number"] == 2
    again = organizer_client.post(f"/api/v1/law-reviews/{amended['same']}/apply", headers=headers)
    assert again.status_code == 404


# Rounds ------------------------------------------------------------------------------------------


def test_a_round_drawing_superseded_citations_warns_on_save_and_on_publish(
    app: Flask, amended: dict[str, int], organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank(per_type=2)
        bank_name = bank_service.get_bank(bank_id).name
        for article in (21, 22, 23):
            add(bank_name, cites(article, None, f"法条题{article}", category="基础知识"))
        round_ = paper_round(
            bank_id,
            contest_status=ContestStatus.DRAFT,
            opens_at=NOW + timedelta(days=2),
            closes_at=NOW + timedelta(days=3),
        )
        round_id, contest_id = round_.id, round_.contest_id
    client = organizer_client
    rows = [{k: str(v or "") for k, v in row.items()} for row in BLUEPRINT]
    opens = (NOW + timedelta(days=2)).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    form = round_form(
        token_of(client),
        bank_id,
        rows,
        opens_at=f"{opens}T09:00",
        closes_at=f"{opens}T23:00",
        duration_min="10",
    )
    saved = client.post(f"/admin/rounds/{round_id}/edit", data=form, follow_redirects=True)
    assert saved.status_code == 200
    assert "本轮抽题范围内有 3 道题目引用了已被修正的条文" in saved.get_data(as_text=True)

    published = client.post(
        f"/admin/contests/{contest_id}/publish",
        data={"csrf_token": token_of(client)},
        follow_redirects=True,
    )
    page = published.get_data(as_text=True)
    assert 'data-status="published"' in page  # a warning, not a refusal
    assert "初赛：本轮抽题范围内有 3 道题目引用了已被修正的条文" in page

    # once the questions cite the version in force, the round saves without the warning
    client.post(
        "/admin/laws/review/apply-unchanged",
        data={"csrf_token": token_of(client)},
    )
    again = client.post(
        f"/admin/rounds/{round_id}/edit",
        data={**form, "csrf_token": token_of(client)},
        follow_redirects=True,
    )
    assert "引用了已被修正的条文" not in again.get_data(as_text=True)


def test_publishing_through_the_api_returns_the_warnings(
    app: Flask, amended: dict[str, int], organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank(per_type=2)
        add(bank_service.get_bank(bank_id).name, cites(21, None, "法条题", category="基础知识"))
        round_ = paper_round(
            bank_id,
            contest_status=ContestStatus.DRAFT,
            opens_at=NOW + timedelta(days=2),
            closes_at=NOW + timedelta(days=3),
        )
        contest_id = round_.contest_id
    headers = {"X-CSRFToken": token_of(organizer_client)}
    published = organizer_client.post(f"/api/v1/contests/{contest_id}/publish", headers=headers)
    assert published.status_code == 200, published.get_json()
    body = published.get_json()
    assert body["status"] == "published"
    assert body["warnings"] == ["初赛：本轮抽题范围内有 1 道题目引用了已被修正的条文。"]


def test_a_round_opening_before_the_amendment_takes_effect_does_not_warn(
    app: Flask, amended: dict[str, int]
) -> None:
    from contest.services import lifecycle

    with app.app_context():
        bank_id = published_bank(per_type=2)
        add(bank_service.get_bank(bank_id).name, cites(21, None, "法条题", category="基础知识"))
        early = paper_round(bank_id, opens_at=NOW - timedelta(days=3))
        assert lifecycle.round_law_warning(early, NOW) is None
        late = paper_round(bank_id, contest_title="后一赛", opens_at=NOW + timedelta(hours=1))
        assert lifecycle.round_law_warning(late, NOW) is not None


# The question page -------------------------------------------------------------------------------


def test_a_question_citing_a_law_not_imported_says_how_to_import_it(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        question_id = add(
            "法规题库",
            QuestionData(
                QuestionType.TRUE_FALSE,
                "某地方条例题",
                True,
                citation=Citation("某地方网络安全条例", 3, "2020-01-01", "应当定期演练"),
            ),
        )
    page = organizer_client.get(f"/admin/questions/{question_id}").get_data(as_text=True)
    assert 'data-testid="law-not-imported"' in page
    assert "某地方网络安全条例" in page and "应当定期演练" in page
    assert "contest laws import &lt;folder&gt;" in page and 'href="/admin/laws"' in page


# Who may do what ---------------------------------------------------------------------------------


def operations(ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """(kind, method, url) of every law page and operation."""
    return [
        ("page", "GET", "/admin/laws"),
        ("page", "GET", f"/admin/laws/{ids['law']}"),
        ("page", "GET", "/admin/laws/review"),
        ("page", "POST", f"/admin/laws/versions/{ids['v2025']}/in-force"),
        ("page", "POST", "/admin/laws/import"),
        ("page", "POST", f"/admin/laws/review/{ids['same']}/apply"),
        ("page", "POST", "/admin/laws/review/apply-unchanged"),
        ("api", "GET", "/api/v1/law-reviews"),
        ("api", "POST", f"/api/v1/law-reviews/{ids['same']}/apply"),
    ]


@pytest.mark.parametrize("role", [None, Role.CONTESTANT, Role.ORGANIZER, Role.ADMIN])
def test_only_organizers_and_admins_see_and_change_the_library(
    app: Flask, amended: dict[str, int], role: Role | None
) -> None:
    client = logged_in(app, role)
    token = token_of(client)
    for kind, method, url in operations(amended):
        if kind == "api":
            response = client.open(url, method=method, headers={"X-CSRFToken": token})
        else:
            data = {"csrf_token": token}
            if url.endswith("/in-force"):
                data[f"v{amended['v2025']}-in_force"] = (today() - timedelta(days=2)).isoformat()
            response = client.open(url, method=method, data=data)
        status = response.status_code
        if role is None:
            expected = 401 if kind == "api" else 302
            assert status == expected, (url, status)
            if kind == "page":
                assert "/login" in response.headers["Location"]
        elif role is Role.CONTESTANT:
            assert status == 403, (url, status)
        elif method == "GET":
            assert status == 200, (url, status)
        else:
            # the write went through: a redirect back (pages), 200 or 404 once applied (API)
            assert status in (200, 302, 404), (url, status)
    with app.app_context():
        question = db.session.get(Question, amended["same"])
        assert question is not None and question.current_version is not None
        moved = question.current_version.citation_version == "2025-10-28"
        assert moved is (role in (Role.ORGANIZER, Role.ADMIN))


def test_the_diff_and_the_texts_are_escaped(
    app: Flask, amended: dict[str, int], organizer_client: FlaskClient
) -> None:
    from question_bank.models import LawArticle

    with app.app_context():
        article = db.session.scalars(
            select(LawArticle).where(
                LawArticle.law_version_id == amended["v2025"], LawArticle.number == 65
            )
        ).one()
        article.text += "<script>alert(1)</script>"
        db.session.commit()
    page = organizer_client.get("/admin/laws/review").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</ins>" in page


def test_the_import_help_shows_the_command_with_its_argument(organizer_client: FlaskClient) -> None:
    page = organizer_client.get("/admin/laws").get_data(as_text=True)
    assert "用命令 contest laws import &lt;folder&gt; 导入" in page

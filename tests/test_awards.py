"""Awards: tiers by count and percentage, ties at a cutoff, per unit, minimum score, the unit
award, adjustments by hand (audited), locking (a snapshot later scores never change, flagged by
scores_changed), and the public winners list (masked names, 404 until published)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from contest.errors import Conflict, InvalidInput
from contest.extensions import db
from contest.models import (
    Attempt,
    AuditEvent,
    Contest,
    ContestStatus,
    Organization,
    Registration,
    Role,
    User,
)
from contest.services import award_results, awards
from contest.services import contests as contest_service
from tests.conftest import add_user, api_login, csrf_token
from tests.support.awards import NOW, contest_with

# Building a scored contest ----------------------------------------------------------------------


def unit(name: str) -> int:
    org = Organization(name=name)
    db.session.add(org)
    db.session.flush()
    return org.id


def rules(contest_id: int, tiers: list[dict[str, Any]], unit_rule: Any = None) -> None:
    awards.set_rules(contest_id, tiers, unit_rule)
    db.session.commit()


def tiers_of(contest_id: int) -> dict[str, str | None]:
    """username → tier key in the preview (or the locked result)."""
    preview = awards.state(contest_id).preview
    return {row.username: row.tier_key for row in preview.rows}


FIVE = [
    ("a", "甲一", 90),
    ("b", "乙二", 80),
    ("c", "丙三", 70),
    ("d", "丁四", 60),
    ("e", "戊五", 50),
]


# Tiers ------------------------------------------------------------------------------------------


def test_tiers_by_count(app: Flask) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE)
        rules(
            cid,
            [
                {"label": "一等奖", "mode": "count", "value": "1"},
                {"label": "二等奖", "mode": "count", "value": "2"},
            ],
        )
        assert tiers_of(cid) == {"a": "first", "b": "second", "c": "second", "d": None, "e": None}
        assert awards.state(cid).preview.counts == {"first": 1, "second": 2}
        assert award_results.awardees(cid) == []  # not locked yet


def test_tiers_by_percentage_of_participants(app: Flask) -> None:
    with app.app_context():
        people = [(f"u{n}", f"选手{n:02d}", 100 - n) for n in range(10)]
        cid, _ids = contest_with(people)
        rules(
            cid,
            [
                {"label": "一等奖", "mode": "percent", "value": "10"},
                {"label": "二等奖", "mode": "percent", "value": "20"},
                {"label": "三等奖", "mode": "percent", "value": "25"},  # 2.5 → 3
            ],
        )
        got = tiers_of(cid)
        assert [got[f"u{n}"] for n in range(10)] == [
            "first", "second", "second", "third", "third", "third", None, None, None, None,
        ]  # fmt: skip


def test_ties_at_a_cutoff_all_get_the_tier(app: Flask) -> None:
    with app.app_context():
        cid, _ids = contest_with(
            [("a", "甲一", 90), ("b", "乙二", 80), ("c", "丙三", 80), ("d", "丁四", 70)]
        )
        rules(
            cid,
            [
                {"label": "一等奖", "mode": "count", "value": "2"},
                {"label": "二等奖", "mode": "count", "value": "1"},
            ],
        )
        # b and c share rank 2 (same score and time): both get the first prize.
        assert tiers_of(cid) == {"a": "first", "b": "first", "c": "first", "d": "second"}


def test_tiers_per_unit(app: Flask) -> None:
    with app.app_context():
        one, two = unit("一中"), unit("二中")
        cid, _ids = contest_with(
            [
                ("a", "甲一", 95, one),
                ("b", "乙二", 90, one),
                ("c", "丙三", 85, one),
                ("d", "丁四", 60, two),
                ("e", "戊五", 50, two),
            ]
        )
        rules(
            cid,
            [
                {"label": "一等奖", "mode": "count", "value": "1", "per_unit": True},
                {"label": "二等奖", "mode": "percent", "value": "50", "per_unit": True},
            ],
        )
        # 一中: 1 first, then 50 % of 3 = 2 (rounded half up) of those left; 二中: 1 and 1.
        assert tiers_of(cid) == {
            "a": "first", "b": "second", "c": "second", "d": "first", "e": "second",
        }  # fmt: skip


def test_minimum_score(app: Flask) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE)
        rules(
            cid,
            [
                {"label": "一等奖", "mode": "count", "value": "3", "min_score": "75"},
                {
                    "key": "merit",
                    "label": "优秀奖",
                    "mode": "percent",
                    "value": "100",
                    "min_score": "60",
                },
            ],
        )
        assert tiers_of(cid) == {"a": "first", "b": "first", "c": "merit", "d": "merit", "e": None}


def test_invalid_rules_are_refused(app: Flask) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE[:1])
        with pytest.raises(InvalidInput):
            rules(cid, [{"label": "一等奖", "mode": "percent", "value": "120"}])
        db.session.rollback()
        with pytest.raises(InvalidInput):
            rules(cid, [{"label": "一等奖", "mode": "count", "value": "1.5"}])
        db.session.rollback()
        with pytest.raises(InvalidInput):
            rules(cid, [{"label": "", "mode": "count", "value": "1"}])


# Unit award -------------------------------------------------------------------------------------


def two_units(app: Flask) -> tuple[int, int, int]:
    """一中: 2 enrolled, both took part, mean 50; 二中: 4 enrolled, 2 took part, mean 90."""
    one, two = unit("一中"), unit("二中")
    cid, _ids = contest_with(
        [
            ("a", "甲一", 40, one),
            ("b", "乙二", 60, one),
            ("c", "丙三", 95, two),
            ("d", "丁四", 85, two),
        ]
    )
    for name in ("e", "f"):
        user = add_user(name, Role.CONTESTANT, two)
        db.session.add(
            Registration(contest_id=cid, user_id=user.id, source="open", registered_at=NOW)
        )
    db.session.commit()
    return cid, one, two


def test_unit_award_by_participation_rate(app: Flask) -> None:
    with app.app_context():
        cid, one, _two = two_units(app)
        rules(cid, [], {"label": "优秀组织奖", "metric": "rate", "top": 1})
        units = awards.state(cid).preview.units
        assert [(u.organization_id, u.organization, u.value) for u in units] == [
            (one, "一中", Decimal("1"))
        ]


def test_unit_award_by_mean_score_and_minimum_enrolled(app: Flask) -> None:
    with app.app_context():
        cid, one, two = two_units(app)
        rules(cid, [], {"label": "优秀组织奖", "metric": "mean", "top": 1})
        assert [u.organization_id for u in awards.state(cid).preview.units] == [two]
        rules(cid, [], {"label": "优秀组织奖", "metric": "mean", "top": 2, "min_enrolled": 3})
        assert [u.organization_id for u in awards.state(cid).preview.units] == [two]
        rules(cid, [], {"label": "优秀组织奖", "metric": "mean", "top": 2})
        assert [u.organization_id for u in awards.state(cid).preview.units] == [two, one]


# Adjustments, locking, second look ------------------------------------------------------------


def test_adjustment_by_hand_is_audited(app: Flask) -> None:
    with app.app_context():
        cid, ids = contest_with(FIVE)
        rules(cid, [{"label": "一等奖", "mode": "count", "value": "2"}])
        with pytest.raises(InvalidInput):
            awards.adjust(cid, ids["a"], "", "  ")
        db.session.rollback()
        awards.adjust(cid, ids["a"], "", "作弊，取消资格")
        awards.adjust(cid, ids["e"], "first", "复核加分")
        db.session.commit()
        # a's place goes to c; e is added by hand on top of the quota
        assert tiers_of(cid) == {"a": None, "b": "first", "c": "first", "d": None, "e": "first"}
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "awards.adjust").order_by(AuditEvent.id)
        ).all()
        assert [(e.target_id, e.reason) for e in events] == [
            (ids["a"], "作弊，取消资格"),
            (ids["e"], "复核加分"),
        ]
        assert events[0].after == {"adjustment": {"tier": "", "reason": "作弊，取消资格"}}
        awards.adjust(cid, ids["a"], "auto", "误判，恢复")
        db.session.commit()
        assert tiers_of(cid)["a"] == "first"


def test_a_disqualified_contestant_frees_their_place(app: Flask) -> None:
    with app.app_context():
        cid, ids = contest_with(FIVE)
        rules(
            cid,
            [
                {"label": "一等奖", "mode": "count", "value": "1"},
                {"label": "二等奖", "mode": "count", "value": "1"},
            ],
        )
        awards.adjust(cid, ids["a"], "", "作弊，取消资格")
        db.session.commit()
        assert tiers_of(cid) == {"a": None, "b": "first", "c": "second", "d": None, "e": None}
        assert awards.state(cid).preview.counts == {"first": 1, "second": 1}
        row = next(r for r in awards.state(cid).preview.rows if r.user_id == ids["a"])
        assert row.tier_key is None and row.adjustment_reason == "作弊，取消资格"
        awards.lock(cid)
        db.session.commit()
        assert [(a.user_id, a.tier_key) for a in award_results.awardees(cid)] == [
            (ids["b"], "first"),
            (ids["c"], "second"),
        ]


def test_locked_awards_keep_their_snapshot_and_are_flagged(app: Flask) -> None:
    with app.app_context():
        cid, ids = contest_with(FIVE)
        rules(cid, [{"label": "一等奖", "mode": "count", "value": "1"}])
        awards.lock(cid)
        db.session.commit()
        assert award_results.is_locked(cid) and award_results.locked_at(cid) is not None
        before = award_results.awardees(cid)
        assert [(a.username, a.tier_label, a.rank, a.score) for a in before] == [
            ("a", "一等奖", 1, Decimal("90.00"))
        ]
        with pytest.raises(Conflict):
            awards.set_rules(cid, [], None)
        db.session.rollback()
        # An appeal raises e's score above a's: the locked awards stay as they were.
        attempt = db.session.scalars(select(Attempt).where(Attempt.user_id == ids["e"])).one()
        attempt.score = Decimal(99)
        db.session.commit()
        awards.scores_changed(cid, "申诉通过：第 3 题改判")
        assert award_results.awardees(cid) == before
        state = awards.state(cid)
        assert state.needs_review and state.review_reason == "申诉通过：第 3 题改判"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "awards.flag"))
        # The page shows the banner with the reason.
        # A second look: unlock (reason required), the preview follows the new scores, re-lock.
        awards.unlock(cid, "申诉后复核")
        db.session.commit()
        assert tiers_of(cid)["e"] == "first"
        awards.lock(cid)
        db.session.commit()
        assert not awards.state(cid).needs_review
        assert [a.username for a in award_results.awardees(cid)] == ["e"]
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("awards.%"))
        ).all()
        assert actions.count("awards.lock") == 2 and "awards.unlock" in actions


def test_confirming_keeps_the_locked_awards(app: Flask) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE)
        rules(cid, [{"label": "一等奖", "mode": "count", "value": "1"}])
        awards.lock(cid)
        db.session.commit()
        awards.scores_changed(cid, "重新评分")
        awards.confirm_review(cid, "改判不影响获奖")
        db.session.commit()
        state = awards.state(cid)
        assert state.locked and not state.needs_review


def test_voiding_an_attempt_after_locking_flags_the_awards(app: Flask) -> None:
    from contest.services import attempt_admin

    with app.app_context():
        cid, ids = contest_with(FIVE)
        rules(cid, [{"label": "一等奖", "mode": "count", "value": "1"}])
        awards.lock(cid)
        db.session.commit()
        attempt = db.session.scalars(select(Attempt).where(Attempt.user_id == ids["a"])).one()
        attempt_admin.act("void", attempt.id, now=datetime.now(UTC), reason="替考")
        state = awards.state(cid)
        assert state.needs_review and "作废" in state.review_reason
        # unchanged until a re-lock
        assert [a.username for a in award_results.awardees(cid)] == ["a"]


def test_scores_changed_before_locking_changes_nothing(app: Flask) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE)
        awards.scores_changed(cid, "重新评分")
        assert not awards.state(cid).needs_review


def test_awards_page_shows_the_second_look_banner(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE)
        rules(cid, [{"label": "一等奖", "mode": "count", "value": "1"}])
        awards.lock(cid)
        db.session.commit()
        awards.scores_changed(cid, "申诉通过：第 3 题改判")
    page = organizer_client.get(f"/admin/contests/{cid}/awards").get_data(as_text=True)
    assert 'data-testid="needs-review"' in page and "申诉通过：第 3 题改判" in page


# Public winners list ------------------------------------------------------------------------------


NAMES = [("zsf", "张三丰", 90), ("lsi", "李四", 80), ("ww", "王五六", 70)]


def published(app: Flask, *, mask: bool = True) -> int:
    with app.app_context():
        cid, _ids = contest_with(NAMES)
        db.session.get_one(Contest, cid).mask_names = mask
        rules(
            cid,
            [
                {"label": "一等奖", "mode": "count", "value": "1"},
                {"label": "二等奖", "mode": "count", "value": "2"},
            ],
        )
        awards.lock(cid)
        awards.publish(
            cid,
            publish_from=date(2026, 5, 2),
            publish_until=date(2026, 5, 9),
            objection_contact="电话 010-12345678",
        )
        db.session.commit()
        return cid


def test_public_winners_list_masks_names(app: Flask, client: FlaskClient) -> None:
    cid = published(app)
    page = client.get(f"/contests/{cid}/winners")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for masked in ("张*丰", "李*", "王*六"):
        assert masked in html
    body = client.get(f"/api/v1/contests/{cid}/winners")
    assert body.status_code == 200
    data = body.get_json()
    assert [(t["label"], [w["name"] for w in t["winners"]]) for t in data["tiers"]] == [
        ("一等奖", ["张*丰"]),
        ("二等奖", ["李*", "王*六"]),
    ]
    assert data["publish_from"] == "2026-05-02" and "010-12345678" in html
    text = html + body.get_data(as_text=True)
    for _username, full, _score in NAMES:
        assert full not in text
    for secret in ("zsf", "lsi", "score"):
        assert secret not in body.get_data(as_text=True)
    # No score as a value either (a bare "90" could be part of a time or an id).
    assert not {90, 80, 70, "90", "80", "70", "90.00"} & set(scalars(data))


def scalars(value: object) -> list[object]:
    """Every scalar value inside a JSON document."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in scalars(v)]
    if isinstance(value, list):
        return [s for v in value for s in scalars(v)]
    return [value]


def test_public_winners_list_shows_full_names_when_the_contest_does(
    app: Flask, client: FlaskClient
) -> None:
    cid = published(app, mask=False)
    assert "张三丰" in client.get(f"/contests/{cid}/winners").get_data(as_text=True)


def test_winners_list_is_404_until_published(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        cid, _ids = contest_with(NAMES)
        rules(cid, [{"label": "一等奖", "mode": "count", "value": "1"}])
    assert client.get(f"/contests/{cid}/winners").status_code == 404
    assert client.get(f"/api/v1/contests/{cid}/winners").status_code == 404
    with app.app_context():
        awards.lock(cid)
        db.session.commit()
        with pytest.raises(InvalidInput):
            awards.publish(
                cid, publish_from=date(2026, 5, 9), publish_until=date(2026, 5, 2),
                objection_contact="",
            )  # fmt: skip
    assert client.get(f"/contests/{cid}/winners").status_code == 404  # locked, not published
    assert client.get("/contests/999999/winners").status_code == 404


def test_draft_contest_has_no_winners_list(app: Flask, client: FlaskClient) -> None:
    cid = published(app)
    with app.app_context():
        db.session.get_one(Contest, cid).status = ContestStatus.DRAFT
        db.session.commit()
    assert client.get(f"/contests/{cid}/winners").status_code == 404
    assert client.get(f"/api/v1/contests/{cid}/winners").status_code == 404


def test_unlocking_withdraws_the_list(app: Flask, client: FlaskClient) -> None:
    cid = published(app)
    with app.app_context():
        awards.unlock(cid, "复核")
        db.session.commit()
    assert client.get(f"/contests/{cid}/winners").status_code == 404


def test_public_winners_list_is_rate_limited(app: Flask, client: FlaskClient) -> None:
    cid = published(app)
    app.config["WINNERS_LIMIT"] = "3 per minute"
    codes = [client.get(f"/contests/{cid}/winners").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get(f"/api/v1/contests/{cid}/winners").status_code == 429


# API and authorization ------------------------------------------------------------------------


def call(client: FlaskClient, method: str, url: str, body: Any = None) -> Any:
    return client.open(url, method=method, json=body, headers={"X-CSRFToken": csrf_token(client)})


OPERATIONS: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/contests/{cid}/awards", None),
    (
        "PUT",
        "/api/v1/contests/{cid}/awards/rules",
        {"tiers": [{"label": "一等奖", "mode": "count", "value": "1"}]},
    ),
    (
        "POST",
        "/api/v1/contests/{cid}/awards/adjustments",
        {"user_id": 1, "tier": "", "reason": "x"},
    ),
    ("POST", "/api/v1/contests/{cid}/awards/lock", None),
    ("POST", "/api/v1/contests/{cid}/awards/unlock", {"reason": "x"}),
    ("POST", "/api/v1/contests/{cid}/awards/confirm", {"reason": "x"}),
    ("PUT", "/api/v1/contests/{cid}/awards/publication", {"objection_contact": ""}),
]


@pytest.mark.parametrize(("method", "url", "body"), OPERATIONS)
def test_organizer_operations_refuse_anonymous_and_contestants(
    app: Flask, client: FlaskClient, method: str, url: str, body: Any
) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE)
        add_user("player", Role.CONTESTANT)
    assert call(client, method, url.format(cid=cid), body).status_code == 401
    assert api_login(client, "player").status_code == 200
    assert call(client, method, url.format(cid=cid), body).status_code == 403


@pytest.mark.parametrize(("method", "url", "body"), OPERATIONS)
def test_organizer_operations_404_for_other_contest_ids(
    app: Flask, client: FlaskClient, district_organizer: User, method: str, url: str, body: Any
) -> None:
    assert api_login(client, district_organizer.username).status_code == 200
    assert call(client, method, url.format(cid=987654), body).status_code == 404


def test_district_organizer_runs_the_awards_through_the_api(
    app: Flask, client: FlaskClient, district_organizer: User
) -> None:
    with app.app_context():
        cid, ids = contest_with(NAMES)
    assert api_login(client, district_organizer.username).status_code == 200
    base = f"/api/v1/contests/{cid}/awards"
    got = call(client, "GET", base).get_json()
    assert not got["locked"] and got["participants"] == 3
    tiers = [
        {"label": "一等奖", "mode": "count", "value": "1"},
        {"label": "二等奖", "mode": "percent", "value": "50"},
    ]
    got = call(client, "PUT", f"{base}/rules", {"tiers": tiers}).get_json()
    assert got["counts"] == {"first": 1, "second": 2}
    missing = call(client, "POST", f"{base}/adjustments", {"user_id": ids["ww"], "tier": ""})
    assert missing.status_code == 422  # a reason is required
    got = call(
        client, "POST", f"{base}/adjustments", {"user_id": ids["ww"], "tier": "", "reason": "违规"}
    ).get_json()
    assert got["counts"] == {"first": 1, "second": 1}
    assert call(client, "PUT", f"{base}/publication", {}).status_code == 409  # not locked
    got = call(client, "POST", f"{base}/lock").get_json()
    assert got["locked"] and [r["username"] for r in got["rows"]] == ["zsf", "lsi"]
    assert call(client, "POST", f"{base}/lock").status_code == 409
    got = call(
        client,
        "PUT",
        f"{base}/publication",
        {"publish_from": "2026-05-02", "objection_contact": "邮箱"},
    ).get_json()
    assert got["published"]
    public = client.get(f"/api/v1/contests/{cid}/winners").get_json()
    assert public["tiers"][0]["winners"] == [{"name": "张*丰", "organization": ""}]
    assert call(client, "POST", f"{base}/unlock", {}).status_code == 422
    assert not call(client, "POST", f"{base}/unlock", {"reason": "复核"}).get_json()["locked"]


def test_admin_pages_need_an_organizer(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE)
        add_user("player", Role.CONTESTANT)
    assert client.get(f"/admin/contests/{cid}/awards").status_code in (302, 401)
    assert api_login(client, "player").status_code == 200
    assert client.get(f"/admin/contests/{cid}/awards").status_code == 403
    token = csrf_token(client)
    lock = client.post(f"/admin/contests/{cid}/awards/lock", data={"csrf_token": token})
    assert lock.status_code == 403


def test_admin_forms_need_the_csrf_token(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        cid, _ids = contest_with(FIVE)
    assert organizer_client.post(f"/admin/contests/{cid}/awards/lock").status_code in (400, 403)
    with app.app_context():
        assert not award_results.is_locked(cid)


def test_contest_page_links_the_awards(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        contest = contest_service.create_contest("决赛")
        db.session.commit()
        cid = contest.id
    page = organizer_client.get(f"/admin/contests/{cid}").get_data(as_text=True)
    assert f"/admin/contests/{cid}/awards" in page
